"""The course's commands on every system, with any Python and nothing installed yet.

    python -m course setup          # .venv with the pinned packages and the kernel "CNN course"
    python -m course book           # set up, then build the HTML book into _build/html
    python -m course lab            # JupyterLab for students
    python -m course check NB       # a graded notebook checked the way the grader runs it
    python -m course test           # every test (a published copy: every chapter's exercises)
    python -m course lock [--check] # maintainers: write uv.lock and requirements.txt, or check
                                    # that they resolve with wheels on every supported platform

It is what the Makefile runs, and what Windows, which has no `make`, types instead (`py -3.11
-m course setup`). The standard library only, so that it runs before the environment exists;
the paths inside `.venv` are `bin/` on Linux and macOS and `Scripts\\` on Windows.
"""
