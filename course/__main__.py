"""`python -m course COMMAND`: see the package's docstring (`python -m course --help`)."""

from __future__ import annotations

import argparse
import os
import sys

from course import env

VENV = env.VENV


def _ready() -> None:
    """Set up first when the environment is missing or older than the pins (like make)."""
    status = env.setup(VENV)
    if status:
        sys.exit(status)


def book(args: argparse.Namespace) -> int:
    _ready()
    environ = VENV.environ()
    if args.full:
        environ["COURSE_FAST"] = "0"
    environ.setdefault("COURSE_FAST", "1")
    # The full MNIST once into the Keras cache where it can be had; offline it says so.
    status = env.run([VENV.python, "-m", "helpers.data"], env=environ)
    if status:
        return status
    # The lessons a few at a time into the book's cache: Jupyter Book would run them one by one.
    status = env.run([VENV.python, "-m", "coursebuild.lesson_cache"], env=environ)
    if status:
        print("Some lessons failed above; the build runs them again and shows the error.")
    status = env.run([VENV.script("jupyter-book"), "build", ".", "-W", "--keep-going"], env=environ)
    if status == 0:
        print(f"The book is in {env.ROOT / '_build' / 'html' / 'index.html'}")
    return status


def lab(args: argparse.Namespace) -> int:
    _ready()
    environ = VENV.environ()
    if not args.instructor:  # the student's Lab: nbgrader's instructor tools switched off
        environ["JUPYTER_CONFIG_PATH"] = str(env.ROOT / "lab" / "student")
    return env.run([VENV.python, "-m", "jupyterlab", *args.rest], env=environ, echo=False)


def check(args: argparse.Namespace) -> int:
    _ready()
    command = [VENV.python, "-m", "helpers.precheck", args.notebook]
    return env.run(command, env=VENV.environ(), echo=False)


def _processes(rest: list[str]) -> list[str]:
    """pytest-xdist's options for `make test`: a process per core of CI's two (the suite is
    CPU-bound: three processes took as long and pushed timed grading limits over);
    tests/conftest.py groups the tests that share a fixture. COURSE_TEST_PROCESSES=0, or -n
    given, runs as asked."""
    count = os.environ.get("COURSE_TEST_PROCESSES", "2")
    if count == "0" or any(arg == "-n" or arg.startswith("--numprocesses") for arg in rest):
        return []
    return ["-n", count, "--dist", "loadgroup", "--no-loadscope-reorder"]


def test(args: argparse.Namespace) -> int:
    """Every test (pytest) where the repository has its tests; in a student's copy, which has
    none, every chapter's exercises checked at once."""
    _ready()
    if (env.ROOT / "tests").is_dir():
        return env.run(
            [VENV.python, "-m", "pytest", *_processes(args.rest), *args.rest],
            env=VENV.environ(),
            echo=False,
        )
    status = 0
    for notebook in sorted((env.ROOT / "chapters").glob("*/exercises.ipynb")):
        print(f"== {notebook.relative_to(env.ROOT).as_posix()}", flush=True)
        command = [VENV.python, "-m", "helpers.precheck", notebook.relative_to(env.ROOT)]
        status = env.run(command, env=VENV.environ(), echo=False) or status
    return status


def lock(args: argparse.Namespace) -> int:
    from course import lock as locking  # maintainers only: needs uv and Python 3.11+

    return locking.check(args.only) if args.check else locking.write()


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m course", description=__import__("course").__doc__.split("\n\n")[0]
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    setup = commands.add_parser("setup", help="create .venv with the pinned packages and kernel")
    setup.add_argument("--force", action="store_true", help="install again even if up to date")
    setup.set_defaults(run=lambda a: env.setup(VENV, force=a.force))
    building = commands.add_parser("book", help="set up, then build the book into _build/html")
    building.add_argument("--full", action="store_true", help="full-size training (FAST=0)")
    building.set_defaults(run=book)
    labbing = commands.add_parser(
        "lab", help="JupyterLab with the course's kernel (more arguments go to Jupyter)"
    )
    labbing.add_argument("--instructor", action="store_true", help="keep nbgrader's tools")
    labbing.set_defaults(run=lab)
    checking = commands.add_parser("check", help="check a graded notebook before handing it in")
    checking.add_argument("notebook", help="e.g. chapters/01-kernels/exercises.ipynb")
    checking.set_defaults(run=check)
    testing = commands.add_parser("test", help="run every test (more arguments go to pytest)")
    testing.set_defaults(run=test)
    locking = commands.add_parser("lock", help="maintainers: write or check uv.lock")
    locking.add_argument("--check", action="store_true", help="check it for every platform")
    locking.add_argument("--only", help="check one Python version only, e.g. 3.12")
    locking.set_defaults(run=lock)
    return top


def main(argv: list[str] | None = None) -> int:
    top = parser()
    args, args.rest = top.parse_known_args(argv)
    if args.rest and args.command not in ("lab", "test"):
        top.error(f"unrecognized arguments: {' '.join(args.rest)}")
    os.chdir(env.ROOT)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
