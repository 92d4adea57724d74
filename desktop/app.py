"""Start the desktop application."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QEventLoop, QLoggingCategory, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from desktop import signals
from engine import __version__
from engine.tracks import plural

if TYPE_CHECKING:
    from desktop.main_window import MainWindow
    from engine.library import DamagedStoreError, Library

#: The button that moves a damaged library aside and starts a new one.
REBUILD_TEXT = "Keep the damaged file aside and rebuild the library from your music folders"


def main(argv: Sequence[str]) -> int:
    """Open the window.

    ``argv`` may hold ``--home DIR``, ``--store URI`` (a shared MongoDB library),
    ``--self-check`` (play, fill up-next, report, exit) and files or folders to add and
    play, as :func:`engine.cli.window_parser` reads them.
    """
    from engine.cli import window_parser

    signals.catch()  # a SIGTERM while starting closes the window once it is up
    options = window_parser().parse_args(list(argv))
    quiet_multimedia_logs()
    home, store = getattr(options, "home", None), getattr(options, "store", None)
    self_check = options.self_check
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("Encore")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("Encore")

    from desktop.main_window import MainWindow

    opened = open_library(home, store)
    if opened is None:
        return 1
    library, note = opened
    window = MainWindow(library)
    window.show()
    if note:
        window.show_message(note)
    if self_check:
        from desktop.self_check import SelfCheck

        SelfCheck(window)
    paths = list(options.paths)
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        window.show_message(f"Not found: {', '.join(missing)}")
    existing = [p for p in paths if os.path.exists(p)]
    if existing:
        window.add_paths(existing, play_first_file=True)
    wakeup = close_on_signals(window)  # noqa: F841 - the timer must live as long as the loop
    code = app.exec()
    if not window.player.is_released:  # the loop was left without closing the window
        close_and_wait(window)
    library.close()
    from desktop.tasks import detached_threads

    if detached_threads():
        # A thread still running would abort the interpreter's exit when its QThread is
        # destroyed; everything it finished is stored, so end the process here.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def close_and_wait(window: MainWindow, timeout_ms: int = 20_000) -> None:
    """Close ``window`` and run the event loop until it has closed for good."""
    loop = QEventLoop()
    window.closed.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    window.close()
    if window.isVisible():  # not closed at once: the media is being let go
        loop.exec()


def quiet_multimedia_logs() -> None:
    """Keep Qt's FFmpeg backend from printing every file's format and tags to the
    terminal (and its search for optional GPU libraries). Playback problems reach the
    window; ``QT_LOGGING_RULES`` still turns the messages back on."""
    QLoggingCategory.setFilterRules(
        "qt.multimedia.ffmpeg*=false\nqt.multimedia.symbolsresolver*=false"
    )


def close_on_signals(window: QWidget) -> QTimer:
    """Close ``window`` on SIGTERM or SIGHUP (logging out, systemd, ``kill``) as if the
    user closed it: running jobs are cancelled and keep what they finished. A signal
    that came while Encore started closes it now.

    Python runs signal handlers only between its own bytecodes, never while Qt's event
    loop waits in C++; the returned timer wakes the interpreter four times a second.
    """
    # from the event loop, not inside whatever Python code the signal interrupted
    if signals.on_signal(lambda: QTimer.singleShot(0, window.close)):
        QTimer.singleShot(0, window.close)
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(250)
    return timer


def open_library(home: str | None, store: str | None) -> tuple[Library, str] | None:
    """The library to show and a note for the status bar; None when the user gives up.

    A damaged library database is never changed without asking: the user may move
    it aside and rebuild the library from the folders it listed.
    """
    from engine.library import (
        DamagedStoreError,
        Library,
        LibraryError,
        StoreError,
        recover_damaged_store,
    )

    library: Library | None = None
    try:
        library = Library(home, store_uri=store)
        # Damage past the first page shows only when read: read it all now (65 ms at
        # 100k tracks), while the user can still be asked, not in a background job.
        library.check()
        return library, ""
    except DamagedStoreError as exc:
        if library is not None:
            library.close()
        if not _ask_to_rebuild(exc):
            return None
        try:
            kept = recover_damaged_store(home)
            library = Library(home, store_uri=store)
        except (OSError, StoreError) as again:
            QMessageBox.critical(None, "Encore cannot open its library", str(again))
            return None
        folders = len(library.folders())
        note = f"The damaged library is kept as {kept}. " + (
            f"Rebuilding from {plural(folders, 'music folder')}…"
            if folders
            else "Add your music folders again: Library → Add folder…"
        )
        return library, note
    except (StoreError, LibraryError) as exc:
        QMessageBox.critical(None, "Encore cannot open its library", str(exc))
        return None


def _ask_to_rebuild(exc: DamagedStoreError) -> bool:
    """Explain the damage; True when the user chooses to rebuild."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Encore's library is damaged", "")
    box.setText(
        f"Encore's library database is damaged and cannot be read:\n{exc.path}\n({exc.detail})"
    )
    box.setInformativeText(
        "Nothing has been changed or deleted. Encore can move the damaged file aside "
        "(it is kept, next to the new one) and rebuild the library by scanning and "
        "analysing your music folders again. Skips and radio settings start afresh."
    )
    rebuild = box.addButton(REBUILD_TEXT, QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(rebuild)
    box.exec()
    return box.clickedButton() is rebuild
