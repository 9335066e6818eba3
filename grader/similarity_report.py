"""The files `course-grade similarity` writes: report.html (to read) and pairs.csv (to sort).

The page is one self-contained file (inline CSS, no script, nothing fetched), readable offline:
the sentence that similarity is a reason to look and not a verdict, the clusters of three or
more, then each reported pair part by part, the two answers side by side with the shared code
highlighted. Every student's text is HTML-escaped.
"""

from __future__ import annotations

import csv
import html
import os
from pathlib import Path

from grader.similarity import FOLDER, Analysis, Pair

DISCLAIMER = (
    "Similarity is a reason to look, not a verdict: answers to a short task are often alike, "
    "and nothing here is written to the gradebook."
)
CSV_COLUMNS = ["student_a", "student_b", "part", "score", "pair_evidence_bits"]
LEFT_OUT = (
    "Left out before comparing: the released starter code, the set-up and test cells and the "
    "code in the task text; comments, whitespace, string contents and the names an answer "
    "gives its own variables and functions."
)
STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 1200px;
       padding: 0 1rem; color: #1b1b1b; background: #fff; }
h1 { font-size: 1.5rem; margin-bottom: .3rem; } h2 { margin-top: 2rem; font-size: 1.2rem; }
.verdict { border-left: 5px solid #b35900; background: #fff4e5; padding: .6rem 1rem;
           font-weight: 600; }
table { border-collapse: collapse; margin: .5rem 0; }
td, th { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; }
th { background: #f2f2f2; }
section.pair { border-top: 2px solid #444; margin-top: 1.5rem; }
h3 { font-size: 1rem; margin: .8rem 0 .3rem; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: .6rem; }
.side > div { min-width: 0; }
.who { font-weight: 600; font-size: .9rem; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: .5rem; margin: .2rem 0;
      font: 12.5px/1.4 ui-monospace, monospace; white-space: pre-wrap;
      overflow-wrap: anywhere; }
mark { background: #ffd54f; color: inherit; }
.muted { color: #555; font-size: .9rem; }
"""


def _private(path: Path):
    """A new file only its owner reads: it holds the students' code."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return open(fd, "w", newline="", encoding="utf-8")


def write_csv(analysis: Analysis, path: Path) -> Path:
    """One row per reported pair and part: both students, the part, the score, the evidence."""
    with _private(path) as handle:
        out = csv.writer(handle)
        out.writerow(CSV_COLUMNS)
        for pair in analysis.pairs:
            out.writerow([pair.a, pair.b, pair.part, f"{pair.score:.3f}", f"{pair.evidence:.0f}"])
    return path


def _marked(code: str, spans: list[tuple[int, int]]) -> str:
    """The answer, escaped, with its shared spans in <mark> (merged where they overlap)."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, at = [], 0
    for start, end in merged:
        out.append(html.escape(code[at:start]))
        for number, line in enumerate(code[start:end].split("\n")):
            text = line.strip()  # indentation and line ends unmarked: the code stands out
            if number:
                out.append("\n")
            if not text:
                out.append(html.escape(line))
                continue
            before, after = line[: len(line) - len(line.lstrip())], line[len(line.rstrip()) :]
            out += [html.escape(before), f"<mark>{html.escape(text)}</mark>", html.escape(after)]
        at = end
    return "".join([*out, html.escape(code[at:])])


def _side_by_side(pair: Pair) -> str:
    columns = "".join(
        f'<div><div class="who">{html.escape(who)}</div><pre>{_marked(code, spans)}</pre></div>'
        for who, code, spans in (
            (pair.a, pair.code_a, pair.spans_a),
            (pair.b, pair.code_b, pair.spans_b),
        )
    )
    return (
        f"<h3>{html.escape(pair.part)}: score {pair.score:.2f} "
        f'<span class="muted">({pair.bits:.0f} bits)</span></h3><div class="side">{columns}</div>'
    )


def render(analysis: Analysis) -> str:
    """The whole page (module docstring)."""
    e = html.escape
    by_pair: dict[tuple[str, str], list[Pair]] = {}
    for pair in analysis.pairs:
        by_pair.setdefault((pair.a, pair.b), []).append(pair)
    answered = "".join(
        f"<tr><td>{e(part)}</td><td>{analysis.answered.get(part, 0)}</td></tr>"
        for part in analysis.parts
    )
    clusters = "".join(
        f"<li>{e(', '.join(students))} <span class='muted'>on {e(', '.join(parts))}</span></li>"
        for students, parts in analysis.clusters()
    )
    index = "".join(
        f"<tr><td><a href='#{e(a)}-{e(b)}'>{e(a)} and {e(b)}</a></td>"
        f"<td>{e(', '.join(p.part for p in found))}</td>"
        f"<td>{max(p.score for p in found):.2f}</td><td>{found[0].evidence:.0f}</td></tr>"
        for (a, b), found in by_pair.items()
    )
    sections = "".join(
        f"<section class='pair' id='{e(a)}-{e(b)}'><h2>{e(a)} and {e(b)} "
        f"<span class='muted'>({found[0].evidence:.0f} bits of evidence)</span></h2>"
        + "".join(_side_by_side(p) for p in found)
        + "</section>"
        for (a, b), found in by_pair.items()
    )
    skipped = "".join(f"<li>{e(line)}</li>" for line in analysis.skipped)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Similarity: {e(analysis.chapter)}</title><style>{STYLE}</style></head>
<body>
<h1>Similarity of the answers: {e(analysis.chapter)}</h1>
<p class="verdict">{e(DISCLAIMER)}</p>
<p>{analysis.students} submissions read. A pair is listed when, on the graded parts where the
shorter answer shares at least {analysis.threshold:.0%} of its fingerprinted code with the other
(the score), the shared code is rare enough in this class to carry at least
{analysis.min_evidence:.0f} bits of evidence together (code everyone writes carries none).
Highlighted: the code the two answers share.</p>
<p class="muted">{e(LEFT_OUT)}</p>
<table><tr><th>graded part</th><th>answers compared</th></tr>{answered}</table>
<h2>Clusters of three or more</h2>
{f"<ul>{clusters}</ul>" if clusters else "<p>None.</p>"}
<h2>Pairs ({len(by_pair)})</h2>
{f"<table><tr><th>students</th><th>parts</th><th>highest score</th><th>evidence (bits)</th></tr>{index}</table>" if index else "<p>No pair at or above the threshold.</p>"}
{sections}
{f"<h2>Not read</h2><ul>{skipped}</ul>" if skipped else ""}
</body></html>
"""  # noqa: E501


def default_folder(course: Path, chapter: str) -> Path:
    return Path(course) / FOLDER / chapter


def write_report(analysis: Analysis, folder: Path) -> tuple[Path, Path]:
    """report.html and pairs.csv in `folder` (0600 each); nothing else is written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    page = folder / "report.html"
    with _private(page) as handle:
        handle.write(render(analysis))
    return page, write_csv(analysis, folder / "pairs.csv")


def format_summary(analysis: Analysis) -> str:
    """What the command prints: the pairs and clusters in a few lines."""
    lines = [DISCLAIMER]
    seen = {}
    for pair in analysis.pairs:
        seen.setdefault((pair.a, pair.b), []).append(pair)
    for (a, b), found in seen.items():
        parts = ", ".join(f"{p.part} {p.score:.2f}" for p in found)
        lines.append(f"{a} and {b} ({found[0].evidence:.0f} bits): {parts}")
    for students, _ in analysis.clusters():
        lines.append(f"cluster: {', '.join(students)}")
    lines += [f"not read: {line}" for line in analysis.skipped]
    lines.append(f"{len(seen)} pairs among {analysis.students} submissions")
    return "\n".join(lines)
