"""`course-grade`: the instructor's grading round on real nbgrader.

(Over 300 lines: one parser per subcommand, read top to bottom; each subcommand's work lives in
the module named for it.)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader import late_policy, sandbox
from grader.autograde import autograde, format_results, format_summary_line
from grader.benchmark import benchmark
from grader.cluster import CERTS_DIR, ClusterRefused, Connection, make_certs
from grader.collect import collect, parse_time
from grader.course import default_course, set_db_url
from grader.course_folder import RELEASE, CourseFolder
from grader.export import (
    class_summary,
    export,
    format_summary,
    late_decisions,
    part_maxima,
    policy_rows,
)
from grader.feedback import FeedbackError, feedback
from grader.lms import export_lms, read_roster_file
from grader.paths import graded_chapters
from grader.publish import PublishError, publish
from grader.release import release
from grader.similarity import DEFAULT_EVIDENCE, DEFAULT_THRESHOLD


def _chapters(values: list[str]) -> list[str]:
    known = graded_chapters()
    chosen = known if values == ["all"] else values
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise SystemExit(f"unknown chapters {unknown}; expected some of {known} or 'all'")
    return chosen


def build_parser() -> argparse.ArgumentParser:
    """The parser: a subcommand per step of the round, and the tools beside it. Every subcommand
    that takes chapters takes one or more names, or `all`."""
    parser = argparse.ArgumentParser(
        prog="course-grade",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--course",
        type=Path,
        default=default_course(),
        help="the course folder, outside the repository (default: %(default)s)",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="the gradebook: postgresql://user@host:port/database for one shared by several "
        "graders, or 'sqlite' for the course folder's own file (the default); kept in the course "
        "folder, so later commands and nbgrader use it",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="student versions into <course>/release and a zip")
    p.add_argument("chapters", nargs="+", help="chapter names, or 'all'")
    p.add_argument("--zip", type=Path, help="where to write the zip for the LMS")
    p = sub.add_parser("collect", help="bring an LMS export or a submitted/ tree into the course")
    p.add_argument("chapter")
    p.add_argument(
        "source", type=Path, help="LMS folder (<student>_<time>_exercises.ipynb) or a tree"
    )
    p.add_argument(
        "--roster",
        type=Path,
        help="student ids, one a line, a CSV with `id`, or Canvas's gradebook export / "
        "Moodle's participants export (kept for `export`)",
    )
    p.add_argument(
        "--lms-id",
        metavar="COLUMN",
        help="the LMS roster's column that holds the course's student id (default: Canvas "
        "'SIS Login ID'; Moodle 'ID number', else 'Username')",
    )
    p.add_argument("--due", help="due date, UTC, e.g. 2025-03-01T23:59:00Z")
    p = sub.add_parser("autograde", help="grade every submission, in parallel with --jobs")
    p.add_argument("chapters", nargs="+", help="chapter names, or 'all'")
    p.add_argument("--jobs", type=int, default=1, help="students graded at once (default 1)")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--cell-timeout", type=int, help="seconds per cell (default: the config's 300)")
    p.add_argument(
        "--notebook-timeout",
        type=float,
        help="seconds per submission in all (default: 900)",
    )
    p.add_argument(
        "--part-timeout",
        type=int,
        default=120,
        help="seconds for the grader's tests of one graded part (default: %(default)s)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on the Dask cluster at ADDRESS (tls://HOST:8786, with the course's "
        "certificates from `cluster-certs`), one task per submission",
    )
    _cluster_options(p)
    p.add_argument(
        "--regrade",
        action="store_true",
        help="grade every submission again, even those unchanged since their logged result",
    )
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run kernels as yourself, with network (see grader/sandbox.py)",
    )
    p.add_argument(
        "--memory-limit",
        type=float,
        default=sandbox.Limits().memory_bytes / 2**30,
        help="GiB of address space per kernel (default: %(default)g)",
    )
    p.add_argument(
        "--process-limit",
        type=int,
        default=sandbox.Limits().processes,
        help="processes and threads per kernel (default: %(default)s)",
    )
    p = sub.add_parser("feedback", help="feedback HTML per student, hidden tests removed")
    p.add_argument("chapters", nargs="+", help="chapter names, or 'all'")
    p = sub.add_parser(
        "export", help="scores.csv, summary.csv and the Canvas and Moodle imports into exports/"
    )
    p.add_argument("chapters", nargs="+", help="chapter names, or 'all'")
    p.add_argument("--to", type=Path, help="folder for the CSV files")
    p = sub.add_parser("summary", help="print the class summary per graded part")
    p.add_argument("chapters", nargs="+", help="chapter names, or 'all'")
    p = sub.add_parser("benchmark", help="grade a generated class; time --jobs 1 and 2")
    p.add_argument("--chapter", nargs="+", default=["01-kernels"])
    p.add_argument("--students", type=int, default=6)
    p.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    p.add_argument("--cell-timeout", type=int)
    p.add_argument("--no-sandbox", action="store_true")
    p.add_argument("--scheduler", metavar="ADDRESS", help="time the Dask cluster at ADDRESS")
    _cluster_options(p)
    p = sub.add_parser(
        "cluster-certs", help="make the course's TLS authority and the cluster's certificates"
    )
    p.add_argument("--out", type=Path, help=f"folder (default: <course>/{CERTS_DIR})")
    p.add_argument("--hosts", nargs="+", default=[], help="scheduler and worker names or IPs")
    p.add_argument("--force", action="store_true", help="replace existing certificates")
    p = sub.add_parser("publish", help="write the public student repository (no solutions)")
    p.add_argument("dir", type=Path, help="a new or empty folder, or an earlier publish")
    p.add_argument(
        "--url",
        help="its public URL, e.g. https://github.com/ORG/REPO: the book's "
        "repository link and launch buttons",
    )
    p = sub.add_parser(
        "similarity", help="how alike the answers are, per graded part: report.html, pairs.csv"
    )
    p.add_argument("chapters", nargs="+", help="chapter names, or 'all'")
    p.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help="share of the shorter answer's code the other must hold (default: %(default)s)",
    )
    p.add_argument(
        "--min-evidence",
        type=float,
        default=DEFAULT_EVIDENCE,
        help="bits the pair's alike parts must carry together (default: %(default)s)",
    )
    p.add_argument(
        "--out", type=Path, help="folder for the files (default: <course>/similarity/CHAPTER)"
    )
    p = sub.add_parser(
        "report", help="one HTML page per chapter for the instructor: scores, late, flags, time"
    )
    p.add_argument("chapters", nargs="+", help="chapter names, or 'all'")
    p.add_argument("--out", type=Path, help="folder for the pages (default: <course>/reports)")
    p = sub.add_parser("selftest", help="grade a chapter's made-up submissions, compare scores")
    p.add_argument("chapters", nargs="+", help="chapter names, or 'all'")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument(
        "--sample",
        action="store_true",
        help="one wrong answer per part and the right answers that prove fairness (make test's)",
    )
    p = sub.add_parser(
        "extend", help="give a student a later deadline for a chapter (recorded: who, when, why)"
    )
    p.add_argument("student", nargs="?", help="the student id (or --csv)")
    p.add_argument("chapter", nargs="?", help="the chapter (or --csv)")
    p.add_argument("--until", help="the new deadline, ISO 8601 with its offset: ...T23:59+01:00")
    p.add_argument("--reason", help="why, kept with the extension")
    p.add_argument("--csv", type=Path, help="many at once: columns student,chapter,until,reason")
    p = sub.add_parser(
        "regrade", help="grade a submission again and record a regrade request (no score changes)"
    )
    p.add_argument("chapter")
    p.add_argument("--student", required=True)
    p.add_argument("--part", help="one graded part (default: every part)")
    p.add_argument("--reason", required=True, help="why the student asks, kept with the request")
    p.add_argument("--cell-timeout", type=int, help="seconds per cell (default: the config's)")
    p.add_argument("--no-sandbox", action="store_true", help="as autograde's --no-sandbox")
    p = sub.add_parser("requests", help="list regrade requests; --decide one (recorded)")
    p.add_argument("chapter", nargs="?", help="only this chapter's requests")
    p.add_argument("--decide", type=int, metavar="ID", help="the request to decide")
    verdict = p.add_mutually_exclusive_group()
    verdict.add_argument("--accept", action="store_true", help="its new scores become manual")
    verdict.add_argument("--reject", action="store_true", help="the scores stay as they are")
    p.add_argument("--note", help="why, kept with the decision")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    course = args.course
    if args.db and args.command in {"benchmark", "selftest"}:
        parser.error(f"--db: {args.command} grades a throwaway course of its own (SQLite)")
    if args.db:
        try:
            print(f"Gradebook of {course}: {set_db_url(course, args.db)}")
        except ValueError as error:
            parser.error(f"--db: {error}")
    return COMMANDS[args.command](course, args, parser) or 0


def _release(course: Path, args: argparse.Namespace, parser) -> int:
    zipped = release(course, _chapters(args.chapters), args.zip)
    print(f"Released into {course / RELEASE}; zip for the LMS: {zipped}")
    return 0


def _collect(course: Path, args: argparse.Namespace, parser) -> int:
    try:
        ids, lms_roster = read_roster_file(args.roster, args.lms_id)
    except ValueError as error:
        raise SystemExit(f"roster not read, nothing collected: {error}") from None
    due = parse_time(args.due) if args.due else None
    report = collect(course, args.chapter, args.source, ids, due, lms_roster)
    print(report.format())
    return 0


def _autograde(course: Path, args: argparse.Namespace, parser) -> int:
    """Each chapter in turn; exit 1 when any submission was not graded."""
    chapters = _chapters(args.chapters)
    limits = sandbox.Limits(int(args.memory_limit * 2**30), args.process_limit)
    if not args.no_sandbox:
        print(sandbox.format_availability())
        print(f"Limits per kernel: {limits.describe()}")
    status = 0
    for chapter in chapters:
        if len(chapters) > 1:
            print(f"== {chapter}", flush=True)
        try:
            results = autograde(
                course,
                chapter,
                args.student,
                args.jobs,
                args.cell_timeout,
                args.notebook_timeout,
                use_sandbox=not args.no_sandbox,
                limits=limits,
                scheduler=_connection(args, course),
                regrade=args.regrade,
                part_timeout=args.part_timeout,
                progress=sys.stderr,
            )
        except ClusterRefused as error:
            raise SystemExit(f"not graded: {error}") from None
        print(format_results(results))
        print(format_summary_line(results), flush=True)
        if not all(r.status in {"graded", "missing"} for r in results):
            status = 1
    return status


def _export(course: Path, args: argparse.Namespace, parser) -> int:
    chapters = _chapters(args.chapters)
    paths, notes = export_lms(course, chapters, args.to)
    for path in [*export(course, chapters, args.to), *paths]:
        print(f"wrote {path}")
    for note in notes:
        print(note)
    return 0


def _summary(course: Path, args: argparse.Namespace, parser) -> int:
    chapters = _chapters(args.chapters)
    maxima = part_maxima(course, chapters)
    rows, _ = policy_rows(course, chapters)  # with a late policy: `adjusted_total` too
    print(format_summary(class_summary(rows, maxima)))
    decisions = late_decisions(course, chapters)
    if decisions is not None:
        print(late_policy.format_decisions(decisions))
    return 0


def _benchmark(course: Path, args: argparse.Namespace, parser) -> int:
    try:
        benchmark(
            _chapters(args.chapter),
            args.students,
            args.jobs,
            args.cell_timeout,
            use_sandbox=not args.no_sandbox,
            scheduler=_connection(args, course),
        )
    except ClusterRefused as error:
        raise SystemExit(f"not graded: {error}") from None
    return 0


def _cluster_certs(course: Path, args: argparse.Namespace, parser) -> int:
    try:
        written = make_certs(args.out or course / CERTS_DIR, args.hosts, args.force)
    except ClusterRefused as error:
        raise SystemExit(str(error)) from None
    print("\n".join(f"wrote {path}" for path in written))
    return 0


def _publish(course: Path, args: argparse.Namespace, parser) -> int:
    try:
        print(f"Published the student repository into {publish(args.dir, args.url)}")
    except PublishError as error:
        raise SystemExit(f"not published: {error}") from None
    return 0


def _report(course: Path, args: argparse.Namespace, parser) -> int:
    from grader.class_report import write_report

    for chapter in _chapters(args.chapters):
        print(f"wrote {write_report(course, chapter, args.out)}")
    return 0


def _extend(course: Path, args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Record one extension, or a CSV of them (all or none), in <course>/extensions.json."""
    import csv

    if args.csv:
        if args.student or args.chapter or args.until:
            parser.error("extend: --csv or STUDENT CHAPTER --until, not both")
        with args.csv.open(newline="") as handle:
            entries = list(csv.DictReader(handle))
    elif args.student and args.chapter and args.until and args.reason:
        names = ("student", "chapter", "until", "reason")
        entries = [{name: getattr(args, name) for name in names}]
    else:
        parser.error("extend: STUDENT CHAPTER --until DATE --reason TEXT (or --csv FILE)")
    _chapters(sorted({str(e.get("chapter", "")).strip() for e in entries}))
    try:
        path = late_policy.record_extensions(course, entries)
    except (late_policy.PolicyError, KeyError) as error:
        raise SystemExit(f"no extension recorded: {error}") from None
    for e in entries:
        print(f"extended {e['student']} {e['chapter']} until {e['until']}: {e['reason']}")
    print(f"recorded in {path}")
    return 0


def _regrade(course: Path, args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """`regrade` records a request; `requests` lists them or decides one (grader/regrade.py)."""
    from grader import regrade
    from grader.grade_task import SandboxMissing, Settings

    try:
        if args.command == "regrade":
            _chapters([args.chapter])
            settings = Settings(args.cell_timeout, use_sandbox=not args.no_sandbox)
            found = regrade.request_regrade(
                course, args.chapter, args.student, args.part, args.reason, settings
            )
            print(regrade.format_request(found))
            print(f"recorded in {course / regrade.REQUESTS_NAME}; the gradebook is unchanged")
        elif args.decide is not None:
            if not (args.accept or args.reject) or not args.note:
                parser.error("requests --decide ID needs --accept or --reject, and --note")
            found = regrade.decide_request(course, args.decide, args.accept, args.note)
            print(regrade.format_request(found))
        else:
            listed = [
                r for r in regrade.read_requests(course) if args.chapter in (None, r["chapter"])
            ]
            print("\n".join(regrade.format_request(r) for r in listed) or "no regrade requests")
    except (regrade.RequestError, SandboxMissing) as error:
        raise SystemExit(f"{args.command}: {error}") from None
    return 0


def _feedback(course: Path, args: argparse.Namespace, parser) -> int:
    """Every chapter in turn (`_feedback_pages`); exit 1 when a page could not be made."""
    status = 0
    for chapter in _chapters(args.chapters):
        status = _feedback_pages(course, chapter) or status
    return status


def _feedback_pages(course: Path, chapter: str) -> int:
    """Every student's page that could be made; one line for each that could not (exit 1)."""
    pages_root = CourseFolder(course).feedback_root()
    try:
        pages = feedback(course, chapter)
    except FeedbackError as error:
        pages = error.pages
        for page, found in error.problems.items():
            student = page.relative_to(pages_root).parts[0]
            print(
                f"no feedback page for {student}: {', '.join(found)} (the page was deleted; "
                "the other students' pages are kept)"
            )
        if error.failure:
            print(error.failure)
        print(f"{len(pages)} feedback pages in {pages_root}")
        return 1
    print(f"{len(pages)} feedback pages in {pages_root}")
    return 0


def _cluster_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--certs",
        type=Path,
        help=f"the cluster's certificates (default: "
        f"<course>/{CERTS_DIR}, made by `course-grade cluster-certs`)",
    )
    p.add_argument(
        "--insecure-localhost",
        action="store_true",
        help="allow a plain tcp:// scheduler on 127.0.0.1 (no TLS: a single-user machine only)",
    )


def _connection(args: argparse.Namespace, course: Path) -> Connection | None:
    if not args.scheduler:
        return None
    certs = args.certs or course / CERTS_DIR
    cluster = Connection(args.scheduler, certs, args.insecure_localhost)
    cluster.check()
    return cluster


def _similarity(course: Path, args: argparse.Namespace, parser) -> int:
    """Each chapter's report and CSV; reads the submissions, writes nothing else."""
    from grader.similarity import analyse
    from grader.similarity_report import default_folder, format_summary, write_report

    chapters = _chapters(args.chapters)
    for chapter in chapters:
        analysis = analyse(course, chapter, args.threshold, args.min_evidence)
        folder = default_folder(course, chapter)
        if args.out:
            folder = args.out / chapter if len(chapters) > 1 else args.out
        print(format_summary(analysis))
        for path in write_report(analysis, folder):
            print(f"wrote {path}")
    return 0


def _selftest(course: Path, args: argparse.Namespace, parser) -> int:
    import tempfile

    from grader.selftest import format_verdicts, selftest

    bad = 0
    for chapter in _chapters(args.chapters):
        with tempfile.TemporaryDirectory(prefix="course-selftest-") as tmp:
            course = Path(tmp) / "course"
            verdicts = selftest(chapter, course, jobs=args.jobs, sample=args.sample)
        print(format_verdicts(verdicts), flush=True)
        bad += sum(not v.ok for v in verdicts)
    print(f"{bad} unexpected scores" if bad else "Every fixture scored as expected.")
    return 1 if bad else 0


# One function per subcommand, in the order of the round, then the tools beside it.
COMMANDS = {
    "release": _release,
    "collect": _collect,
    "autograde": _autograde,
    "feedback": _feedback,
    "export": _export,
    "summary": _summary,
    "extend": _extend,
    "regrade": _regrade,
    "requests": _regrade,
    "report": _report,
    "similarity": _similarity,
    "selftest": _selftest,
    "benchmark": _benchmark,
    "cluster-certs": _cluster_certs,
    "publish": _publish,
}

if __name__ == "__main__":
    sys.exit(main())
