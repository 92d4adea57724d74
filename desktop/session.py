"""What the window remembers between launches: its geometry and docks, the volume, the
song and where in it, the radio, the table's sort and search, the artist or album browsed.

Kept in ``window.ini`` in the library's state folder (QSettings, INI format), so a
``--home`` (and every test) has its own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt

if TYPE_CHECKING:
    from desktop.main_window import MainWindow
    from engine.tracks import Track

SETTINGS_FILE = "window.ini"


class Session:
    """Saves the window's state on close and restores it at start."""

    def __init__(self, home: Path) -> None:
        self.settings = QSettings(str(home / SETTINGS_FILE), QSettings.Format.IniFormat)

    def save(self, window: MainWindow) -> None:
        s = self.settings
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

    def restore(self, window: MainWindow, find_track: Callable[[int], None]) -> None:
        """Restore everything but the song, which ``find_track(id)`` looks up (off the GUI
        thread) and hands to :meth:`cue`."""
        s = self.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray):
            window.restoreGeometry(geometry)
        docks = s.value("window/docks")
        if isinstance(docks, QByteArray):
            window.restoreState(docks)
        window.player.set_volume(s.value("player/volume", 80, type=int))
        window.player.set_muted(s.value("player/muted", False, type=bool))
        window.now_playing.set_volume(window.player.volume(), window.player.muted())
        window.up_next.radio.setChecked(s.value("radio/on", True, type=bool))
        column = s.value("table/sort_column", 1, type=int)
        descending = s.value("table/sort_descending", False, type=bool)
        order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        window.view.table.sortByColumn(column, order)
        window.view.search.setText(s.value("table/search", "", type=str))
        window.browser.choose_later(s.value("browse/scope", "", type=str))
        track_id = s.value("player/track", -1, type=int)
        if track_id >= 0:
            find_track(track_id)

    def library_was_empty(self) -> bool:
        """Whether the library was empty when the window last closed (first launch: yes)."""
        return self.settings.value("library/empty", True, type=bool)

    def cue(self, window: MainWindow, track: Track | None) -> None:
        """Put the last session's song back in the player, paused where it was."""
        if track is not None and window.player.track is None:
            window.player.cue(track, self.settings.value("player/position", 0, type=int))
            window.suggestions.refresh(track)  # up next is ready when play is pressed
