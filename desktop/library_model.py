"""The library table: a QAbstractTableModel behind a QSortFilterProxyModel.

Built for 100k rows. Qt's proxy sorts and filters by calling back into Python
for every comparison or row (seconds at 100k rows), so the source model does
both itself with numpy over precomputed keys (:class:`SortKeys`, which a
background job can build off the GUI thread); the proxy forwards ``sort()``
and the search to it and adds no per-row Python calls.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QFont, QIcon
from PySide6.QtWidgets import QApplication, QStyle

from engine.tracks import Track, clock

COLUMNS: tuple[tuple[str, str], ...] = (
    ("title", "Title"),
    ("artist", "Artist"),
    ("album", "Album"),
    ("genre", "Genre"),
    ("duration", "Time"),
    ("analysed", "Analysed"),
    ("autotags", "Sounds like"),
)
TEXT_COLUMNS = ("title", "artist", "album", "genre", "autotags")
TrackRole = Qt.ItemDataRole.UserRole + 1
AnyIndex = QModelIndex | QPersistentModelIndex


@functools.cache
def _playing_icon() -> QIcon:
    """The ▶ that marks the playing song's row (the style's own, made once)."""
    return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay)


def _state(track: Track) -> str:
    if track.analysed:
        return "✓"
    return "failed" if track.error else "…"


def _ranks(values: list[str]) -> np.ndarray:
    """Rank of each string in case-insensitive order (equal strings share a rank)."""
    folded = [v.casefold() for v in values]
    order = {v: i for i, v in enumerate(sorted(set(folded)))}
    return np.fromiter((order[v] for v in folded), dtype=np.int32, count=len(folded))


@dataclass(frozen=True, slots=True)
class SortKeys:
    """Per-track sort and search keys, aligned with a track list."""

    ranks: dict[str, np.ndarray]  # text column -> case-insensitive rank
    empty: dict[str, np.ndarray]  # text column -> field is empty (sorts last)
    duration: np.ndarray
    state: np.ndarray
    tracknumber: np.ndarray
    haystack: list[str]  # casefolded "title artist album genre" for search

    @classmethod
    def build(cls, tracks: Sequence[Track]) -> SortKeys:
        columns = {c: [getattr(t, c) for t in tracks] for c in TEXT_COLUMNS}
        return cls(
            ranks={c: _ranks(v) for c, v in columns.items()},
            empty={c: np.fromiter((not x for x in v), bool, len(v)) for c, v in columns.items()},
            duration=np.array([t.duration or 0.0 for t in tracks], dtype=np.float64),
            state=np.array([2 * t.analysed + bool(t.error) for t in tracks], dtype=np.int8),
            tracknumber=np.array([t.tracknumber or 0 for t in tracks], dtype=np.int32),
            haystack=[f"{t.title}\n{t.artist}\n{t.album}\n{t.genre}".casefold() for t in tracks],
        )


class TrackTableModel(QAbstractTableModel):
    """All library tracks; shows the ones matching the search, in the current sort order."""

    def __init__(self) -> None:
        super().__init__()
        self._all: list[Track] = []
        self._keys = SortKeys.build([])
        self._pos: dict[int, int] = {}  # track id -> index in _all
        self._order = np.zeros(0, dtype=np.int64)  # sorted indexes into _all
        self._rows = np.zeros(0, dtype=np.int64)  # visible indexes into _all
        self._row_of_pos = np.zeros(0, dtype=np.int64)  # index in _all -> row, or -1
        self._mask: np.ndarray | None = None
        self._sort: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder)
        self._search = ""
        self._scope: list[int] | None = None  # the browser's choice: these track ids only
        self._ranking: list[int] | None = None  # a description's matches, best first
        self._playing = -1  # the id of the track playing: its row is marked

    # -- Qt API -------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        track = self._all[self._rows[index.row()]]
        key = COLUMNS[index.column()][0]
        if role == Qt.ItemDataRole.DisplayRole:
            if key == "duration":
                return clock(track.duration)
            if key == "analysed":
                return _state(track)
            if key == "artist":
                return track.shown_artist
            return getattr(track, key)
        if role == Qt.ItemDataRole.ToolTipRole:
            sounds = f"\nSounds like: {track.autotags}" if track.autotags else ""
            return (track.error or track.path) + sounds
        if role == Qt.ItemDataRole.TextAlignmentRole and key in ("duration", "analysed"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == TrackRole:
            return track
        if track.id == self._playing:
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setBold(True)
                return font
            if role == Qt.ItemDataRole.DecorationRole and key == "title":
                return _playing_icon()
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        self.beginResetModel()
        self._order = self._sorted_order()
        self._refresh_rows()
        self.endResetModel()

    # -- ours --------------------------------------------------------------------------
    def _sorted_order(self) -> np.ndarray:
        column, order = self._sort
        k = self._keys
        n = len(self._all)
        if self._ranking is not None:  # best match first, whatever the column sort
            first = [self._pos[i] for i in self._ranking if i in self._pos]
            rest = np.setdiff1d(np.arange(n), first, assume_unique=True)
            return np.concatenate([np.asarray(first, dtype=np.int64), rest]).astype(np.int64)
        if column < 0 or n == 0:
            return np.arange(n, dtype=np.int64)
        key = COLUMNS[column][0]
        if key == "duration":
            result = np.argsort(k.duration, kind="stable")
        elif key == "analysed":
            result = np.argsort(k.state, kind="stable")
        else:
            # as players do: then album, track number, title; unknown values go last
            result = np.lexsort(
                (
                    k.ranks["title"],
                    k.tracknumber,
                    k.ranks["album"],
                    k.ranks[key],
                    k.empty[key],
                )
            )
        if order == Qt.SortOrder.DescendingOrder:
            result = result[::-1]
        return result.astype(np.int64, copy=False)

    def _refresh_rows(self) -> None:
        order = self._order
        self._rows = order if self._mask is None else order[self._mask[order]]
        self._row_of_pos = np.full(len(self._all), -1, dtype=np.int64)
        self._row_of_pos[self._rows] = np.arange(len(self._rows))

    def set_tracks(self, tracks: Sequence[Track], keys: SortKeys | None = None) -> None:
        """Replace every row, keeping the sort and the search.

        ``keys`` (from :meth:`SortKeys.build` on the same list) may be computed
        on another thread so the GUI thread only swaps arrays.
        """
        self.beginResetModel()
        self._all = list(tracks)
        self._keys = keys if keys is not None else SortKeys.build(self._all)
        self._pos = {t.id: i for i, t in enumerate(self._all)}
        self._mask = self._filter()
        self._order = self._sorted_order()
        self._refresh_rows()
        self.endResetModel()

    def set_search(self, text: str) -> None:
        """Show only tracks where every word occurs in the title, artist, album or genre."""
        self._search = text.strip()
        self._refilter()

    def set_scope(self, track_ids: Sequence[int] | None) -> None:
        """Show only these tracks (an artist or album picked in the browser); None: all."""
        self._scope = None if track_ids is None else list(track_ids)
        self._refilter()

    def set_ranking(self, track_ids: Sequence[int] | None) -> None:
        """Show only these tracks, in this order (a description's matches); None: back
        to the search and the column sort."""
        self._ranking = None if track_ids is None else list(track_ids)
        self.beginResetModel()
        self._mask = self._filter()
        self._order = self._sorted_order()
        self._refresh_rows()
        self.endResetModel()

    def _refilter(self) -> None:
        self.beginResetModel()
        self._mask = self._filter()
        self._refresh_rows()
        self.endResetModel()

    def _filter(self) -> np.ndarray | None:
        """Which tracks show: in the browser's scope and matching the search (None: all)."""
        mask = None
        for chosen in (self._scope, self._ranking):
            if chosen is not None:
                these = np.zeros(len(self._all), dtype=bool)
                positions = [self._pos[i] for i in chosen if i in self._pos]
                these[np.asarray(positions, dtype=np.int64)] = True
                mask = these if mask is None else mask & these
        if self._search:
            words = self._search.casefold().split()
            hay = self._keys.haystack
            if mask is None:
                mask = np.fromiter((all(w in h for w in words) for h in hay), bool, len(hay))
            else:  # search only the scope's tracks: a few, not the whole library
                for pos in np.flatnonzero(mask):
                    mask[pos] = all(w in hay[pos] for w in words)
        return mask

    def set_playing(self, track_id: int | None) -> None:
        """Mark the row of the track playing (bold, with a ▶ before its title)."""
        old, self._playing = self._playing, -1 if track_id is None else track_id
        for tid in {old, self._playing} - {-1}:
            pos = self._pos.get(tid)
            row = int(self._row_of_pos[pos]) if pos is not None else -1
            if row >= 0:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def update_track(self, track: Track) -> None:
        pos = self._pos.get(track.id)
        if pos is None:
            return
        self._all[pos] = track
        row = int(self._row_of_pos[pos])
        if row >= 0:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def track_at(self, row: int) -> Track:
        return self._all[self._rows[row]]

    def row_of(self, track_id: int) -> int | None:
        """The visible row of a track, or ``None`` when it is filtered out or unknown."""
        pos = self._pos.get(track_id)
        if pos is None:
            return None
        row = int(self._row_of_pos[pos])
        return row if row >= 0 else None

    def tracks_with_ids(self, ids: Sequence[int]) -> list[Track]:
        """The library's tracks with these ids, in the order given (unknown ids left out)."""
        return [self._all[self._pos[i]] for i in ids if i in self._pos]

    def shown(self) -> list[Track]:
        """The tracks the table shows (matching the search), in its order."""
        return [self._all[i] for i in self._rows]

    def tracks(self) -> list[Track]:
        """All tracks (matching the search or not) in the current sort order."""
        return [self._all[i] for i in self._order]


class TrackFilterProxy(QSortFilterProxyModel):
    """The view's model: sorting and searching are delegated to :class:`TrackTableModel`."""

    def __init__(self) -> None:
        super().__init__()
        self.setDynamicSortFilter(False)

    def source(self) -> TrackTableModel:
        model = self.sourceModel()
        assert isinstance(model, TrackTableModel)
        return model

    def set_search(self, text: str) -> None:
        self.source().set_search(text)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.source().sort(column, order)
