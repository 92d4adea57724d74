"""The ``encore`` command: a subcommand runs headless, anything else opens the window.

This module must stay light: the CLI path never imports Qt, and the GUI path
defers heavy engine imports until they are needed.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Sequence

from engine.cli import COMMANDS


def wants_cli(argv: Sequence[str]) -> bool:
    """True when ``argv`` names a subcommand or asks for help/version."""
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--home":
            if args:
                args.pop(0)
            continue
        if arg in ("-h", "--help", "--version"):
            return True
        return arg in COMMANDS
    return False


def main(argv: Sequence[str] | None = None) -> None:
    multiprocessing.freeze_support()  # analysis workers in a frozen app
    args = list(sys.argv[1:] if argv is None else argv)
    if wants_cli(args):
        from engine.cli import main as cli_main

        sys.exit(cli_main(args))
    from desktop.app import main as gui_main

    sys.exit(gui_main(args))


if __name__ == "__main__":
    main()
