"""The library table: a QAbstractTableModel plus a filtering QSortFilterProxyModel.

Both are built for 100k rows. Qt's own proxy sorting calls back into Python for
every comparison (seconds at 100k rows), so the source model sorts itself with
precomputed keys and the proxy forwards ``sort()`` to it; the proxy only filters,
from a mask computed in one pass per search.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from engine.tracks import Track

COLUMNS: tuple[tuple[str, str], ...] = (
    ("title", "Title"),
    ("artist", "Artist"),
    ("album", "Album"),
    ("genre", "Genre"),
    ("duration", "Time"),
    ("analysed", "Analysed"),
)
TrackRole = Qt.ItemDataRole.UserRole + 1
AnyIndex = QModelIndex | QPersistentModelIndex


def format_time(seconds: float | None) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a duration in seconds."""
    if seconds is None or seconds < 0:
        return "–:––"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _state(track: Track) -> str:
    if track.analysed:
        return "✓"
    return "failed" if track.error else "…"


class TrackTableModel(QAbstractTableModel):
    """All library tracks, in the current sort order."""

    def __init__(self) -> None:
        super().__init__()
        self._tracks: list[Track] = []
        self._row_of: dict[int, int] = {}
        self._sort: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder)

    # -- Qt API -------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._tracks)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        track = self._tracks[index.row()]
        key = COLUMNS[index.column()][0]
        if role == Qt.ItemDataRole.DisplayRole:
            if key == "duration":
                return format_time(track.duration)
            if key == "analysed":
                return _state(track)
            return getattr(track, key)
        if role == Qt.ItemDataRole.ToolTipRole:
            return track.error or track.path
        if role == Qt.ItemDataRole.TextAlignmentRole and key in ("duration", "analysed"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == TrackRole:
            return track
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        if column < 0 or not self._tracks:
            return
        self.layoutAboutToBeChanged.emit()
        self._apply_sort()
        self.layoutChanged.emit()

    # -- ours --------------------------------------------------------------------------
    def _apply_sort(self) -> None:
        column, order = self._sort
        if column >= 0:
            key = COLUMNS[column][0]
            reverse = order == Qt.SortOrder.DescendingOrder
            if key == "duration":
                self._tracks.sort(key=lambda t: t.duration or 0.0, reverse=reverse)
            elif key == "analysed":
                self._tracks.sort(key=lambda t: (t.analysed, bool(t.error)), reverse=reverse)
            else:
                # artist/album sort falls back to album, track number, title, as players do
                self._tracks.sort(
                    key=lambda t: (
                        getattr(t, key).casefold(),
                        t.album.casefold(),
                        t.tracknumber or 0,
                        t.title.casefold(),
                    ),
                    reverse=reverse,
                )
        self._row_of = {t.id: i for i, t in enumerate(self._tracks)}

    def set_tracks(self, tracks: Sequence[Track]) -> None:
        """Replace every row (keeps the current sort)."""
        self.beginResetModel()
        self._tracks = list(tracks)
        self._apply_sort()
        self.endResetModel()

    def update_track(self, track: Track) -> None:
        row = self._row_of.get(track.id)
        if row is None:
            return
        self._tracks[row] = track
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def track_at(self, row: int) -> Track:
        return self._tracks[row]

    def row_of(self, track_id: int) -> int | None:
        return self._row_of.get(track_id)

    def tracks(self) -> list[Track]:
        return list(self._tracks)


class TrackFilterProxy(QSortFilterProxyModel):
    """Filters rows by words matched in title, artist, album and genre.

    Every word of the search must occur (case-insensitively) in one of those
    fields. The match mask is computed once per search; ``sort`` is delegated to
    the source model (see the module docstring).
    """

    def __init__(self) -> None:
        super().__init__()
        self._mask: bytearray | None = None
        self._text = ""
        self.setDynamicSortFilter(False)

    def source(self) -> TrackTableModel:
        model = self.sourceModel()
        assert isinstance(model, TrackTableModel)
        return model

    def setSourceModel(self, model: TrackTableModel) -> None:
        super().setSourceModel(model)
        model.modelReset.connect(self._recompute)
        model.layoutChanged.connect(self._recompute)

    def set_search(self, text: str) -> None:
        self._text = text.strip()
        self._recompute()

    def _recompute(self) -> None:
        words = self._text.casefold().split()
        # Qt 6.10 replaced invalidateRowsFilter() with a begin/end pair around the change.
        modern = hasattr(self, "beginFilterChange")
        if modern:
            self.beginFilterChange()
        if not words:
            self._mask = None
        else:
            self._mask = bytearray(
                all(w in hay for w in words)
                for hay in (
                    f"{t.title}\n{t.artist}\n{t.album}\n{t.genre}".casefold()
                    for t in self.source().tracks()
                )
            )
        if modern:
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, row: int, parent: AnyIndex) -> bool:
        mask = self._mask
        return True if mask is None or row >= len(mask) else bool(mask[row])

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.source().sort(column, order)
