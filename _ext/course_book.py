"""The book's own Sphinx extension (`_config.yml`: sphinx.local_extensions): what a reader gets.

- **Downloads keep their word.** A notebook page's `.ipynb` download is the notebook as the
  build executed it (from the execution cache, or myst-nb's copy), with its outputs, not the
  source without them; its first cell, and a line under the page's title, say how to run it
  (the public repository and Colab when `repository.url` is set, else the set-up page).
- The download menu's print entry says that it prints (the browser's print dialog, which can
  save a PDF) instead of promising a `.pdf` file.
- **No console error on any page**: sphinx-thebe's settings script, which Jupyter Book adds
  twice (`const THEBE_JS_URL` declared again), goes when Thebe is off, as it is here; once
  when it is on. The theme's colour mode is set (an empty one logs an error).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

NOTE_ID = "course-download-note"


def _is_thebe(asset) -> bool:
    name = getattr(asset, "filename", None) or str(asset)
    body = getattr(asset, "attributes", {}).get("body", "") if hasattr(asset, "attributes") else ""
    return "sphinx-thebe" in (name or "") or "THEBE_JS_URL" in body


def _theme(app) -> dict:
    return app.config.html_theme_options or {}


def _thebe_on(app) -> bool:
    return bool((_theme(app).get("launch_buttons") or {}).get("thebe"))


def _colab(app, docname: str) -> str | None:
    """The page's Colab address: set for a GitHub repository with Colab's launch button."""
    theme = _theme(app)
    url = (theme.get("repository_url") or "").rstrip("/")
    colab = ((theme.get("launch_buttons") or {}).get("colab_url") or "").rstrip("/")
    if not (url.startswith("https://github.com/") and colab):
        return None
    branch = theme.get("repository_branch") or "main"
    folder = (theme.get("path_to_docs") or "").strip("/")
    path = f"{folder}/{docname}.ipynb".lstrip("/")
    return f"{colab}/github/{url.removeprefix('https://github.com/')}/blob/{branch}/{path}"


def how_to_run(app, docname: str) -> tuple[str, str]:
    """(HTML, Markdown) of the line that says what the download is and how to run it."""
    url = (_theme(app).get("repository_url") or "").rstrip("/")
    colab = _colab(app, docname)
    what = (
        "the blank exercises notebook"
        if docname.endswith("/exercises")
        else "this page as a notebook, with the outputs shown here"
    )
    first = f"The download button (.ipynb) gives {what}. It runs in the course's environment: "
    if url:
        md = f"{first}clone {url} and follow its README (`python -m course lab`, or `make lab`)"
        page = f'clone <a href="{html.escape(url)}">{html.escape(url)}</a> and follow its README'
    else:
        md = f"{first}see the book's set-up page (`make lab`, or `python -m course lab`)"
        setup = app.builder.get_relative_uri(docname, "setup")
        page = f'see <a href="{html.escape(setup)}">Set up the course</a>'
    page = html.escape(first) + page
    if colab:
        md += f", or open it in [Colab]({colab}), which installs what Colab lacks"
        page += f', or open it in <a href="{html.escape(colab)}">Colab</a>'
    return f'<p class="{NOTE_ID}">{page}.</p>', f"{md}."


def _notebook_pages(app) -> list[str]:
    return sorted(d for d in app.env.found_docs if Path(app.env.doc2path(d)).suffix == ".ipynb")


def page_context(app, pagename, templatename, context, doctree) -> None:
    """Drop Thebe's duplicated script, say what printing does, add the line on notebook pages."""
    if "script_files" in context:
        scripts = context["script_files"]
        thebe = [s for s in scripts if _is_thebe(s)]
        keep = thebe[: 2 if _thebe_on(app) else 0]  # its settings and sphinx-thebe.js, once
        context["script_files"] = [s for s in scripts if not _is_thebe(s) or s in keep]
        if not _thebe_on(app):
            context["css_files"] = [c for c in context.get("css_files", []) if not _is_thebe(c)]
    notebook = pagename in _notebook_pages(app)
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []):
            if button.get("label") == "download-source-button" and notebook:
                button["tooltip"] = "Download the notebook, with the outputs shown here"
            if button.get("label") == "download-pdf-button":
                button["text"] = "print"
                button["tooltip"] = "Print this page (the print dialog can save it as a PDF)"
    if notebook:
        line, _ = how_to_run(app, pagename)
        body = context.get("body", "")
        end = body.find("</h1>")
        if end >= 0:
            context["body"] = body[: end + 5] + line + body[end + 5 :]


def executed_notebook(app, docname: str) -> dict | None:
    """The notebook as the build ran it: from jupyter-cache when myst-nb took it from there
    (its copy in jupyter_execute/ then lacks the outputs), else myst-nb's copy."""
    config = app.env.mystnb_config
    if config.execution_mode == "cache" and config.execution_cache_path:
        import nbformat
        from jupyter_cache import get_cache

        source = nbformat.read(app.env.doc2path(docname), as_version=4)
        try:
            _, merged = get_cache(config.execution_cache_path).merge_match_into_notebook(source)
            return json.loads(nbformat.writes(merged))
        except KeyError:  # not in the cache (excluded from execution, or it failed)
            pass
    copy = Path(app.outdir).parent / "jupyter_execute" / f"{docname}.ipynb"
    return json.loads(copy.read_text(encoding="utf-8")) if copy.is_file() else None


def executed_downloads(app, exception) -> None:
    """Each notebook page's download: the executed notebook, with the line as its first cell."""
    if exception or app.builder.format != "html":
        return
    for docname in _notebook_pages(app):
        target = Path(app.outdir) / "_sources" / f"{docname}.ipynb"
        notebook = executed_notebook(app, docname)
        if notebook is None or not target.parent.is_dir():
            continue
        notebook["cells"] = [c for c in notebook["cells"] if c.get("id") != NOTE_ID]
        _, md = how_to_run(app, docname)
        note = {"cell_type": "markdown", "id": NOTE_ID, "metadata": {}, "source": f"*{md}*"}
        notebook["cells"].insert(0, note)
        notebook["nbformat_minor"] = max(notebook.get("nbformat_minor", 0), 5)  # cell ids
        target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", "utf-8")


def set_theme(app, config) -> None:
    """pydata-sphinx-theme reads the colour mode from the page context; unset, every page logs
    "Got invalid theme mode" as an error. Light: the figures are drawn on white."""
    config.html_context.setdefault("default_mode", "light")


def setup(app):
    app.connect("config-inited", set_theme)
    app.connect("html-page-context", page_context, priority=900)  # after the theme's buttons
    app.connect("build-finished", executed_downloads)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
