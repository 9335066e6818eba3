"""`course-train`: train the course's reference CNN, print its held-out accuracy, save it.

The command lives in `helpers/train_command.py` (chapter 08 runs it as
`python -m helpers.train_command`, also in the students' repository); this module gives it
the instructors' name. `make reference-models` trains the MNIST one into _build/models/.
"""

from __future__ import annotations

import sys

from helpers.train_command import main, parser

__all__ = ["main", "parser"]

if __name__ == "__main__":
    sys.exit(main())
