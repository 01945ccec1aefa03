"""`dispatch-desk` and `python -m app`: a subcommand runs on the command line; none opens the
desk window. The one place that knows both front ends, so neither imports the other."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from app.cli import main as cli_main


def open_window(args: argparse.Namespace) -> int:
    from app.ui.launch import run_window

    return int(run_window(args))


def main(argv: Sequence[str] | None = None) -> int:
    return cli_main(argv, window=open_window)


if __name__ == "__main__":
    sys.exit(main())
