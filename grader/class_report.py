"""`course-grade report CHAPTER`: one HTML page per chapter for the instructor, readable offline.

The page (inline CSS, the histograms as base64 PNG drawn by matplotlib, no script, nothing
fetched) shows the score distribution of each graded part and of the total, the parts the class
found hardest (mean share of the points, lowest first), the late submissions, the grader's
flags, the grading time per submission and the similarity clusters when `course-grade
similarity` wrote its pairs.csv. Scores, seconds late, statuses and flags come from
`grader.export.score_rows` (what `export` writes), the statistics from `class_summary`, the
grading seconds from the grading log. Every student's text is HTML-escaped; the page is 0600.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import os
import statistics
from pathlib import Path

from grader.export import class_summary, part_maxima, score_rows
from grader.grade_store import read_log
from grader.progress_line import format_duration
from grader.similarity import Analysis, Pair
from grader.similarity_report import default_folder

FOLDER = "reports"  # <course>/reports/<chapter>.html
SLOWEST = 15  # grading times listed one by one
STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 1100px;
       padding: 0 1rem; color: #1b1b1b; background: #fff; }
h1 { font-size: 1.5rem; margin-bottom: .3rem; } h2 { margin-top: 2rem; font-size: 1.2rem;
     border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .5rem 0; }
td, th { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.hists { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr));
         gap: .8rem; }
figure { margin: 0; border: 1px solid #ddd; padding: .4rem; }
figure img { width: 100%; height: auto; display: block; }
figcaption { font-size: .85rem; color: #333; }
.bar { display: inline-block; height: .8rem; background: #3b6ea8; vertical-align: middle; }
.muted { color: #555; font-size: .9rem; }
"""


def _histogram(values: list[float], top: float, title: str) -> str:
    """A PNG histogram of `values` on [0, top], as a data: URL."""
    from matplotlib.figure import Figure  # no pyplot: no backend, no global state

    figure = Figure(figsize=(3.6, 2.3), dpi=100, layout="constrained")
    axes = figure.subplots()
    edges = _edges(values, top)
    axes.hist(values, bins=edges, color="#3b6ea8", rwidth=0.85)
    axes.set_xlim(edges[0], edges[-1])
    centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    if edges[0] < 0 and len(centres) <= 13:  # a bar per possible score: label each
        axes.set_xticks(centres, [f"{c:g}" for c in centres], fontsize=8)
    axes.set_xlabel("points")
    axes.set_ylabel("students")
    axes.set_title(title, fontsize=10)
    axes.yaxis.get_major_locator().set_params(integer=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _edges(values: list[float], top: float) -> list[float]:
    """One bar centred on each possible score when the points come in whole or half points (the
    usual case), else ten bins from 0 to the part's points."""
    top = max(top, *values, 0.0)
    for step in (1.0, 0.5):
        if all(float(v / step).is_integer() for v in values) and top / step <= 40:
            return [(i - 0.5) * step for i in range(round(top / step) + 2)]
    return [top * i / 10 for i in range(11)] if top > 0 else [-0.5, 0.5]


def similarity_clusters(course: Path, chapter: str) -> tuple[int, list] | None:
    """(pairs, clusters) from `similarity`'s pairs.csv, or None when it was not run."""
    path = default_folder(course, chapter) / "pairs.csv"
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    pairs = [Pair(r["part"], r["student_a"], r["student_b"], float(r["score"]), 0.0) for r in rows]
    found = Analysis(chapter, 0.0, 0.0, {}, {}, pairs, [])
    return len({(p.a, p.b) for p in pairs}), found.clusters()


def report_data(course: Path, chapter: str) -> dict:
    """Everything the page shows, read as `export` and `summary` read it."""
    rows = score_rows(course, [chapter])
    maxima = part_maxima(course, [chapter])
    summary = class_summary(rows, maxima) if rows else []
    parts = [s for s in summary if s["part"] != "total"]
    share = {s["part"]: s["mean"] / s["max_score"] if s["max_score"] else 1.0 for s in parts}
    logged = read_log(course).get(chapter, {})
    times = sorted(
        ((name, entry) for name, entry in logged.items() if entry.get("status") != "missing"),
        key=lambda item: -float(item[1].get("seconds", 0.0)),
    )
    return {
        "chapter": chapter,
        "rows": rows,
        "summary": summary,
        "hardest": sorted(parts, key=lambda s: (share[s["part"]], s["part"])),
        "share": share,
        "late": sorted(
            (r for r in rows if r["seconds_late"] > 0), key=lambda r: -r["seconds_late"]
        ),
        "flagged": [r for r in rows if r["flags"]],
        "times": times,
        "similarity": similarity_clusters(course, chapter),
    }


def _table(head: list[str], body: list[list[str]], empty: str) -> str:
    if not body:
        return f"<p>{empty}</p>"
    th = "".join(f"<th>{h}</th>" for h in head)
    tr = "".join("<tr>" + "".join(cells) + "</tr>" for cells in body)
    return f"<table><tr>{th}</tr>{tr}</table>"


def render(data: dict) -> str:
    """The whole page (module docstring)."""
    e, rows = html.escape, data["rows"]
    figures = "".join(
        f"<figure class='hist' data-part='{e(s['part'])}'><img alt='histogram of "
        f"{e(s['part'])}' src='{_histogram(_values(rows, s['part']), s['max_score'], s['part'])}'>"
        f"<figcaption>{e(s['part'])}: mean {s['mean']:g} of {s['max_score']:g}, median "
        f"{s['median']:g}; {s['full']} full, {s['zero']} zero</figcaption></figure>"
        for s in data["summary"]
    )
    num = "<td class='num'>{}</td>".format
    hardest = [
        [
            f"<td>{e(s['part'])}</td>",
            num(f"{data['share'][s['part']]:.0%}"),
            f"<td><span class='bar' style='width:{120 * data['share'][s['part']]:.0f}px'></span>"
            "</td>",
            num(f"{s['mean']:g} / {s['max_score']:g}"),
            num(s["zero"]),
        ]
        for s in data["hardest"]
    ]
    late = [
        [f"<td>{e(r['student'])}</td>", num(format_duration(r["seconds_late"])), num(_score(r))]
        for r in data["late"]
    ]
    flagged = [
        [f"<td>{e(r['student'])}</td>", f"<td>{e(r['status'])}</td>", f"<td>{_lines(r)}</td>"]
        for r in data["flagged"]
    ]
    seconds = [float(entry.get("seconds", 0.0)) for _, entry in data["times"]]
    timing = (
        f"<p>{len(seconds)} submissions graded: {sum(seconds):.0f} s in all, mean "
        f"{statistics.fmean(seconds):.1f} s, median {statistics.median(seconds):.1f} s, "
        f"longest {max(seconds):.1f} s.</p>"
        if seconds
        else ""
    )
    slow = [
        [
            f"<td>{e(name)}</td>",
            f"<td>{e(str(entry.get('status', '')))}</td>",
            num(f"{float(entry.get('seconds', 0.0)):.1f} s"),
        ]
        for name, entry in data["times"][:SLOWEST]
    ]
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    counts = ", ".join(f"{n} {e(status)}" for status, n in sorted(statuses.items()))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Class report: {e(data["chapter"])}</title><style>{STYLE}</style></head>
<body>
<h1>Class report: {e(data["chapter"])}</h1>
<p>{len(rows)} students: {counts}. A missing submission counts as zero points below.</p>
<h2>Score distribution per graded part</h2>
<div class="hists">{figures}</div>
<h2>Hardest parts first</h2>
<p class="muted">The class's mean share of each part's points, lowest first.</p>
{_table(["part", "mean share", "", "mean points", "zero"], hardest, "No graded part.")}
<h2>Late submissions ({len(late)})</h2>
{_table(["student", "late by", "score"], late, "None: every submission was on time.")}
<h2>Flags ({len(flagged)})</h2>
{_table(["student", "status", "flags"], flagged, "None: the grader flagged nothing.")}
<h2>Grading time per submission</h2>
{timing}{_table(["student", "status", "seconds"], slow, "Nothing graded yet.")}
{"<p class='muted'>The slowest " + str(SLOWEST) + " only.</p>" if len(seconds) > SLOWEST else ""}
<h2>Similarity clusters</h2>
{_similarity(data["similarity"])}
</body></html>
"""


def _values(rows: list[dict], part: str) -> list[float]:
    return [float(r["score" if part == "total" else part]) for r in rows]


def _score(row: dict) -> str:
    return f"{row['score']:g} / {row['max_score']:g}"


def _lines(row: dict) -> str:
    return "<br>".join(html.escape(flag) for flag in row["flags"].split("; "))


def _similarity(found: tuple[int, list] | None) -> str:
    if found is None:
        return "<p>Not run (<code>course-grade similarity CHAPTER</code> writes it).</p>"
    pairs, clusters = found
    items = "".join(
        f"<li>{html.escape(', '.join(students))} <span class='muted'>on "
        f"{html.escape(', '.join(parts))}</span></li>"
        for students, parts in clusters
    )
    listed = f"<ul>{items}</ul>" if items else "<p>No cluster of three or more.</p>"
    return (
        f"<p>{pairs} pairs above the threshold; clusters of three or more students below "
        "(similarity is a reason to look, not a verdict; the similarity report shows the "
        f"code).</p>{listed}"
    )


def write_report(course: Path, chapter: str, folder: Path | None = None) -> Path:
    """<folder>/<chapter>.html (default folder <course>/reports/), 0600: it names students."""
    folder = Path(folder or Path(course) / FOLDER)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    page = folder / f"{chapter}.html"
    page.unlink(missing_ok=True)
    fd = os.open(page, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(fd, "w", encoding="utf-8") as handle:
        handle.write(render(report_data(Path(course), chapter)))
    return page
