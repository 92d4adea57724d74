"""What the window remembers between launches: its geometry and docks, the volume, the
song and where in it, the radio, the table's sort and search, the artist or album browsed.

:class:`Session` is handed the objects that hold that state (the window itself only
through the narrow :class:`Window`), and saves and restores nothing else.

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
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QByteArray, QSettings, Qt

from desktop.library_model import COLUMNS

if TYPE_CHECKING:
    from PySide6.QtWidgets import QAbstractButton, QLineEdit, QTableView

    from desktop.browser import BrowserPanel
    from desktop.player import Player
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


class Window(Protocol):
    """The window's own state: a QMainWindow's geometry and docks, and the welcome."""

    @property
    def welcoming(self) -> bool:
        """Whether the panes are hidden for the empty library's welcome."""
        ...

    def saveGeometry(self) -> QByteArray: ...

    def restoreGeometry(self, geometry: QByteArray) -> bool: ...

    def saveState(self, version: int = 0) -> QByteArray: ...

    def restoreState(self, state: QByteArray, version: int = 0) -> bool: ...


class Session:
    """Saves the window's state on close and restores it at start.

    It reads and sets ``window``'s geometry and docks, ``player``'s volume, mute and song,
    the up-next ``radio`` switch, the library ``table``'s sort and its ``search`` text,
    and the artist or album ``browser`` shows.

    ``problem`` says (one line, for the status bar) why ``window.ini`` was ignored; None
    when it was read (or did not exist yet).
    """

    def __init__(
        self,
        home: Path,
        *,
        window: Window,
        player: Player,
        radio: QAbstractButton,
        table: QTableView,
        search: QLineEdit,
        browser: BrowserPanel,
    ) -> None:
        self.window = window
        self.player = player
        self.radio = radio
        self.table = table
        self.search = search
        self.browser = browser
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
    def save(self) -> None:
        """Write the window's state, unless ``window.ini`` is a file Encore did not make
        (looked at again: it may have changed while the window was open)."""
        problem, replaceable = _inspect(self.path)
        if problem is None and self.settings is not None:
            self._write(self.settings)
        elif replaceable:
            self._replace()

    def _replace(self) -> None:
        """Write a fresh file beside the bad one, then put it in its place at once."""
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".window-", suffix=".ini")
        os.close(fd)
        try:
            fresh = QSettings(tmp, QSettings.Format.IniFormat)
            self._write(fresh)
            ok = fresh.status() == QSettings.Status.NoError
            del fresh  # nothing left to write into the temporary name later
            if ok:
                os.replace(tmp, self.path)
        except OSError:
            pass  # a read-only or full disk: the next launch starts with defaults again
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def _write(self, s: QSettings) -> None:
        window, player = self.window, self.player
        s.setValue("window/geometry", window.saveGeometry())
        s.setValue("library/empty", window.welcoming)
        if not window.welcoming:  # the panes hidden for the welcome stay the user's choice
            s.setValue("window/docks", window.saveState())
        s.setValue("player/volume", player.volume())
        s.setValue("player/muted", player.muted())
        track = player.track
        s.setValue("player/track", track.id if track is not None else -1)
        s.setValue("player/position", player.position() if track is not None else 0)
        s.setValue("radio/on", self.radio.isChecked())
        header = self.table.horizontalHeader()
        s.setValue("table/sort_column", header.sortIndicatorSection())
        s.setValue(
            "table/sort_descending", header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
        )
        s.setValue("table/search", self.search.text())
        s.setValue("browse/scope", self.browser.scope.key)
        s.sync()

    # -- restoring -----------------------------------------------------------------------
    def restore(self, find_track: Callable[[int], None]) -> None:
        """Restore everything but the song, which ``find_track(id)`` looks up (off the GUI
        thread) and hands to :meth:`cue`."""
        geometry = self._value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.window.restoreGeometry(geometry)  # Qt checks it (and keeps it on a screen)
        docks = self._value("window/docks")
        if isinstance(docks, QByteArray):
            self.window.restoreState(docks)
        self.player.set_volume(self._int("player/volume", 80, 0, 100))
        self.player.set_muted(self._bool("player/muted", False))
        self.radio.setChecked(self._bool("radio/on", True))
        column = self._int("table/sort_column", 1, 0, len(COLUMNS) - 1)
        descending = self._bool("table/sort_descending", False)
        order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        self.table.sortByColumn(column, order)
        self.search.setText(self._text("table/search"))
        self.browser.choose_later(self._text("browse/scope"))
        track_id = self._int("player/track", -1, 0, MAX_TRACK_ID)
        if track_id >= 0:
            find_track(track_id)

    def library_was_empty(self) -> bool:
        """Whether the library was empty when the window last closed (first launch: yes)."""
        return self._bool("library/empty", True)

    def cue(self, track: Track | None) -> bool:
        """Put the last session's song back in the player, paused where it was; False
        when there is none, or the player has a song already."""
        if track is None or self.player.track is not None:
            return False
        position = self._int("player/position", 0, 0, MAX_POSITION_MS)
        if track.duration and position >= track.duration * 1000:
            position = 0  # past its end it would end at once, and the next song play
        self.player.cue(track, position)
        return True

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
