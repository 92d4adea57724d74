"""What the window remembers between launches: its geometry and docks, the volume, the
song and where in it, the radio, the table's sort and search, the artist or album browsed.

Kept in ``window.ini`` in the library's state folder (QSettings, INI format), so a
``--home`` (and every test) has its own.

The file is outside Encore's control (edited by hand, damaged, replaced), and the window
reads it on every start: a value it cannot use would stop every launch. So every value
is checked (type and range, else its default), and a ``window.ini`` that is no small
regular file is never opened (a FIFO blocks ``open`` forever; a huge file costs its size
in memory and seconds of parsing). Such a file is left alone if Encore did not make it
(a FIFO, a directory, a link to ``/dev/null`` to switch remembering off: nothing is saved
into it), and replaced by a fresh one at close if it is a regular file grown too big
(Encore's own file, gone bad: the user expects the next launch to remember again).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt

from desktop.library_model import COLUMNS

if TYPE_CHECKING:
    from desktop.main_window import MainWindow
    from engine.tracks import Track

SETTINGS_FILE = "window.ini"
#: A window.ini larger than this is not read (Encore writes a few kB).
MAX_SETTINGS_BYTES = 1024 * 1024
#: Longest search text and browser key restored (longer ones are not the user's).
MAX_TEXT = 4096
#: Track ids are SQLite integers (and MongoDB's int64).
MAX_TRACK_ID = 2**63 - 1
#: Where in a song of unknown length playing may resume: a day, in ms.
MAX_POSITION_MS = 24 * 3600 * 1000
#: A whole number as QSettings writes one; at most 19 digits (int64, and no huge parse).
_INTEGER = re.compile(r"[+-]?\d{1,19}")


def _inspect(path: Path) -> tuple[str | None, bool]:
    """What is wrong with the settings file at ``path`` (None: nothing, or no file yet),
    and whether saving may replace it (only a regular file grown too big)."""
    try:
        st = os.stat(path)  # follows a link: what counts is what reading would open
    except FileNotFoundError:
        if not os.path.lexists(path):
            return None, True  # the first launch
        return "is a link to nothing", False
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})", False
    if not stat.S_ISREG(st.st_mode):
        return f"is {_kind(st.st_mode)}, not a settings file", False
    if st.st_size > MAX_SETTINGS_BYTES:
        return f"is {st.st_size / 1e6:.0f} MB, far too big for window settings", True
    return None, True


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


class Session:
    """Saves the window's state on close and restores it at start.

    ``problem`` says (one line, for the status bar) why ``window.ini`` was ignored; None
    when it was read (or did not exist yet).
    """

    def __init__(self, home: Path) -> None:
        self.path = home / SETTINGS_FILE
        problem, replaceable = _inspect(self.path)
        then = "a fresh one is saved at close" if replaceable else "it is left as it is"
        self.problem = (
            f"{self.path} {problem}: ignored (defaults used; {then})" if problem else None
        )
        # Never constructed on a bad file: QSettings reads the file at once.
        self.settings = (
            QSettings(str(self.path), QSettings.Format.IniFormat) if problem is None else None
        )

    # -- saving --------------------------------------------------------------------------
    def save(self, window: MainWindow) -> None:
        """Write the window's state, unless ``window.ini`` is a file Encore did not make
        (looked at again: it may have changed while the window was open)."""
        problem, replaceable = _inspect(self.path)
        if problem is None and self.settings is not None:
            self._write(self.settings, window)
        elif replaceable:
            self._replace(window)

    def _replace(self, window: MainWindow) -> None:
        """Write a fresh file beside the bad one, then put it in its place at once."""
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".window-", suffix=".ini")
        os.close(fd)
        try:
            fresh = QSettings(tmp, QSettings.Format.IniFormat)
            self._write(fresh, window)
            ok = fresh.status() == QSettings.Status.NoError
            del fresh  # nothing left to write into the temporary name later
            if ok:
                os.replace(tmp, self.path)
        except OSError:
            pass  # a read-only or full disk: the next launch starts with defaults again
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    @staticmethod
    def _write(s: QSettings, window: MainWindow) -> None:
        s.setValue("window/geometry", window.saveGeometry())
        s.setValue("library/empty", window.welcoming)
        if not window.welcoming:  # the panes hidden for the welcome stay the user's choice
            s.setValue("window/docks", window.saveState())
        s.setValue("player/volume", window.player.volume())
        s.setValue("player/muted", window.player.muted())
        track = window.player.track
        s.setValue("player/track", track.id if track is not None else -1)
        s.setValue("player/position", window.player.position() if track is not None else 0)
        s.setValue("radio/on", window.up_next.radio.isChecked())
        header = window.view.table.horizontalHeader()
        s.setValue("table/sort_column", header.sortIndicatorSection())
        s.setValue(
            "table/sort_descending", header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
        )
        s.setValue("table/search", window.view.search.text())
        s.setValue("browse/scope", window.browser.scope.key)
        s.sync()

    # -- restoring -----------------------------------------------------------------------
    def restore(self, window: MainWindow, find_track: Callable[[int], None]) -> None:
        """Restore everything but the song, which ``find_track(id)`` looks up (off the GUI
        thread) and hands to :meth:`cue`."""
        geometry = self._value("window/geometry")
        if isinstance(geometry, QByteArray):
            window.restoreGeometry(geometry)  # Qt checks it (and keeps it on a screen)
        docks = self._value("window/docks")
        if isinstance(docks, QByteArray):
            window.restoreState(docks)
        window.player.set_volume(self._int("player/volume", 80, 0, 100))
        window.player.set_muted(self._bool("player/muted", False))
        window.now_playing.set_volume(window.player.volume(), window.player.muted())
        window.up_next.radio.setChecked(self._bool("radio/on", True))
        column = self._int("table/sort_column", 1, 0, len(COLUMNS) - 1)
        descending = self._bool("table/sort_descending", False)
        order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        window.view.table.sortByColumn(column, order)
        window.view.search.setText(self._text("table/search"))
        window.browser.choose_later(self._text("browse/scope"))
        track_id = self._int("player/track", -1, 0, MAX_TRACK_ID)
        if track_id >= 0:
            find_track(track_id)

    def library_was_empty(self) -> bool:
        """Whether the library was empty when the window last closed (first launch: yes)."""
        return self._bool("library/empty", True)

    def cue(self, window: MainWindow, track: Track | None) -> None:
        """Put the last session's song back in the player, paused where it was."""
        if track is not None and window.player.track is None:
            position = self._int("player/position", 0, 0, MAX_POSITION_MS)
            if track.duration and position >= track.duration * 1000:
                position = 0  # past its end it would end at once, and the next song play
            window.player.cue(track, position)
            window.suggestions.refresh(track)  # up next is ready when play is pressed

    # -- reading one value, checked ------------------------------------------------------
    def _value(self, key: str) -> object:
        return self.settings.value(key) if self.settings is not None else None

    def _int(self, key: str, default: int, low: int, high: int) -> int:
        """A whole number in ``low..high``, else ``default`` (never clamped: a value out of
        range was not written by Encore, so its extreme is no better a guess)."""
        raw = self._value(key)
        value: int | None = None
        if isinstance(raw, str) and _INTEGER.fullmatch(raw.strip()):
            value = int(raw)
        elif isinstance(raw, int) and not isinstance(raw, bool):  # set in this session
            value = raw
        return value if value is not None and low <= value <= high else default

    def _bool(self, key: str, default: bool) -> bool:
        raw = self._value(key)
        if isinstance(raw, bool):  # set in this session
            return raw
        if isinstance(raw, str):
            word = raw.strip().lower()
            if word in ("true", "1"):
                return True
            if word in ("false", "0"):
                return False
        return default

    def _text(self, key: str) -> str:
        raw = self._value(key)
        return raw if isinstance(raw, str) and len(raw) <= MAX_TEXT else ""
