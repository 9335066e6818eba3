"""Run the book's lessons a few at a time into Jupyter Book's execution cache (`make book`).

Jupyter Book 1 executes the notebooks of a cold build one after another; on a 2-core laptop
that is most of the first `make book`. This fills the same cache first (jupyter-cache, the
one myst-nb reads, `_build/.jupyter_cache`), with one kernel per worker, so that the build
then finds every lesson executed and only renders. A lesson whose code is unchanged since
the last build is not run again (its record matches); one that fails is left out of the
cache, and the build runs it again and shows its error as Jupyter Book always does.

    python -m coursebuild.lesson_cache [--workers N]

Workers: COURSE_BOOK_WORKERS, else the number of CPU cores, at most 4 (each lesson's
TensorFlow uses more than one core while it trains, and a kernel holds about 1 GB).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
import yaml

from grader.paths import CHAPTERS_DIR, REPO_ROOT, lesson_notebooks

CACHE = REPO_ROOT / "_build" / ".jupyter_cache"  # where myst-nb looks (`execute.cache` unset)
# Seconds each lesson ran alone in the fast build on 2 cores (a clean clone, 2026-12-07): the
# longest start first, so that none starts last. A lesson not listed counts as short.
SECONDS = {
    "05-mnist-cnn": 107,
    "08-ensembles": 102,
    "07-callbacks": 67,
    "06-augmentation": 46,
    "09-detection": 21,
    "01-kernels": 20,
}


def longest_first(notebooks: list[Path]) -> list[Path]:
    """The lessons in the order to start them, a few at a time: the longest first, so that none
    starts last and runs alone (tests/conftest.py runs the test session's copies this way too)."""
    return sorted(notebooks, key=lambda path: -SECONDS.get(path.parent.name, 10))


def default_workers() -> int:
    return int(os.environ.get("COURSE_BOOK_WORKERS") or min(os.cpu_count() or 1, 4))


def settings() -> dict:
    """The book's `execute:` settings: the timeout per cell and whether errors are allowed."""
    config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8"))
    execute = config.get("execute", {})
    assert execute.get("execute_notebooks") == "cache", "the book no longer uses the cache"
    assert not execute.get("cache"), "the book's cache moved: update CACHE"
    return {"timeout": execute.get("timeout", 30), "allow_errors": execute["allow_errors"]}


def stale(cache, notebooks: list[Path]) -> list[Path]:
    """The notebooks whose code has no executed record in the cache."""
    out = []
    for path in notebooks:
        try:
            cache.match_cache_notebook(nbformat.read(path, nbformat.NO_CONVERT))
        except KeyError:
            out.append(path)
    return out


def execute_one(
    path: Path, cache_path: Path, timeout: int, allow_errors: bool
) -> tuple[Path, float, str]:
    """Execute one lesson in its own folder, as myst-nb would, and cache it when it ran clean.
    Returns the path, the seconds and the error ('' when it ran)."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.executors.utils import single_nb_execution

    cache = get_cache(str(cache_path))
    notebook = nbformat.read(path, nbformat.NO_CONVERT)
    record = cache.add_nb_to_project(str(path))
    result = single_nb_execution(
        notebook,
        cwd=str(path.parent),
        timeout=timeout,
        allow_errors=allow_errors,
        meta_override=True,
    )
    if result.err is not None:
        return path, result.time, f"{type(result.err).__name__}: {result.err}"[:2000]
    bundle = CacheBundleIn(notebook, record.uri, data={"execution_seconds": result.time})
    cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
    return path, result.time, ""


def fill(workers: int, notebooks: list[Path], cache_path: Path = CACHE) -> int:
    """Execute the stale notebooks, `workers` at a time; say each one's time. 0 when all ran."""
    from jupyter_cache import get_cache

    cache_path.parent.mkdir(parents=True, exist_ok=True)
    options = dict(settings(), cache_path=cache_path)
    todo = longest_first(stale(get_cache(str(cache_path)), notebooks))
    if not todo:
        print("Every lesson's outputs are in the book's cache: nothing to run.", flush=True)
        return 0
    print(f"Running {len(todo)} lessons, {workers} at a time, into {cache_path}", flush=True)
    start, failed = time.perf_counter(), 0
    with ProcessPoolExecutor(max_workers=workers) as pool:
        jobs = [pool.submit(execute_one, path, **options) for path in todo]
        for job in as_completed(jobs):
            path, seconds, error = job.result()
            name = (
                path.relative_to(CHAPTERS_DIR).as_posix()
                if path.is_relative_to(CHAPTERS_DIR)
                else path.name
            )
            print(
                f"  {name}: {'failed, ' + error if error else 'ran'} in {seconds:.0f} s", flush=True
            )
            failed += bool(error)
    print(f"The lessons took {time.perf_counter() - start:.0f} s", flush=True)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    top = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    top.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        help="lessons at once (default: the CPU cores, at most 4)",
    )
    args = top.parse_args(argv)
    return fill(max(1, args.workers), lesson_notebooks())


if __name__ == "__main__":
    sys.exit(main())
