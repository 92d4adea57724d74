"""Start the desktop application."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from PySide6.QtWidgets import QApplication, QMessageBox

from engine import __version__


def main(argv: Sequence[str]) -> int:
    """Open the window.

    ``argv`` may hold ``--home DIR``, ``--store URI`` (a shared MongoDB library),
    ``--self-check`` (play, fill up-next, report, exit) and files or folders to add and
    play.
    """
    args = list(argv)
    self_check = "--self-check" in args
    if self_check:
        args.remove("--self-check")
    home = _option(args, "--home")
    store = _option(args, "--store")
    app = QApplication.instance() or QApplication([sys.argv[0], *args])
    app.setApplicationName("Encore")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("Encore")

    from desktop.main_window import MainWindow
    from engine.library import Library
    from engine.store import StoreError

    try:
        library = Library(home, store_uri=store)
    except StoreError as exc:
        QMessageBox.critical(None, "Encore cannot open its library", str(exc))
        return 1
    window = MainWindow(library)
    window.show()
    if self_check:
        from desktop.self_check import SelfCheck

        SelfCheck(window)
    paths = [a for a in args if not a.startswith("-")]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        window.show_message(f"Not found: {', '.join(missing)}")
    existing = [p for p in paths if os.path.exists(p)]
    if existing:
        window.add_paths(existing, play_first_file=True)
    code = app.exec()
    library.close()
    return code


def _option(args: list[str], name: str) -> str | None:
    """Take ``name VALUE`` out of ``args``; return VALUE (None when absent)."""
    if name in args:
        i = args.index(name)
        if i + 1 < len(args):
            value = args[i + 1]
            del args[i : i + 2]
            return value
    return None
