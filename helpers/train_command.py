"""The command line of the reference CNN's training: `python -m helpers.train_command`.

Usage (with the course's environment; instructors also have it as `course-train`):
    python -m helpers.train_command mnist --out mnist.keras                # full mode
    python -m helpers.train_command fashion --out fashion.keras --epochs 10
    python -m helpers.train_command mnist --members 5 --epochs 3 --out ensemble.keras
    python -m helpers.train_command mnist --fast --out /tmp/m.keras       # about 20 s

The training itself is `helpers.train.run`, which chapter 05 calls from the lesson; chapter 08
runs this command. It lives in `helpers/` so that the students' repository has it too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from helpers import config, train


def parser() -> argparse.ArgumentParser:
    """The command line of `course-train`."""
    result = argparse.ArgumentParser(
        prog="course-train",
        description="Train the course's reference CNN, print its held-out accuracy, save it.",
    )
    result.add_argument("dataset", choices=train.DATASETS)
    result.add_argument("--out", type=Path, help="where to save the model (a .keras file)")
    result.add_argument(
        "--epochs",
        type=int,
        help="epochs per model (default: mnist 25, fashion 10; 50 on the 4,000 offline digits)",
    )
    result.add_argument("--seed", type=int, default=0, help="random seed (members use seed + i)")
    result.add_argument("--members", type=int, default=1, help="train K models and average them")
    result.add_argument(
        "--fast", action="store_true", help="4,000 images and 4 epochs (tests, the default book)"
    )
    result.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2), help="Keras verbosity")
    return result


def main(argv: list[str] | None = None) -> int:
    command = parser()
    args = command.parse_args(argv)
    if args.members < 1:
        command.error(f"--members must be at least 1, got {args.members}")
    if args.epochs is not None and args.epochs < 1:
        command.error(f"--epochs must be at least 1, got {args.epochs}")
    if args.out is not None and args.out.suffix != ".keras":
        command.error(f"--out must end in .keras, got {args.out}")
    config.quiet_logs()
    try:
        report = train.run(
            args.dataset, args.out, args.epochs, args.seed, args.fast, args.members, args.verbose
        )
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
