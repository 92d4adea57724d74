"""The ``encore`` command: a subcommand runs headless, anything else opens the window.

This module must stay light: the CLI path never imports Qt, and the GUI path
defers heavy engine imports until they are needed.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Sequence

from engine.cli import wants_cli


def main(argv: Sequence[str] | None = None) -> None:
    multiprocessing.freeze_support()  # analysis workers in a frozen app
    args = list(sys.argv[1:] if argv is None else argv)
    if wants_cli(args):
        from engine.cli import main as cli_main

        sys.exit(cli_main(args))
    from desktop import signals

    signals.catch()  # before Qt loads: a SIGTERM while starting still closes cleanly
    from desktop.app import main as gui_main

    sys.exit(gui_main(args))


if __name__ == "__main__":
    main()
