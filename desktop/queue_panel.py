"""The listener's queue: the songs that play before up next, in order.

Drag to reorder, Delete (or the context menu) to remove, double-click to play now. The
rules live in :class:`engine.playback.queue.PlayQueue`; this only shows them.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from engine.tracks import Track, plural

#: The role that holds an item's Track.
TRACK = Qt.ItemDataRole.UserRole + 1


#: The queue shows this many songs at most before it scrolls.
QUEUE_ROWS = 6


class _QueueList(QListWidget):
    delete_pressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.selectedItems():
            self.delete_pressed.emit()
            return
        super().keyPressEvent(event)


class QueueView(QWidget):
    """The queue above up next; hidden while it is empty."""

    play_requested = Signal(object)  # Track
    moved = Signal(int, int)  # from position, to position
    removed = Signal(list)  # positions

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queue")
        self.caption = QLabel()
        self.caption.setObjectName("queue-caption")
        self.caption.setWordWrap(True)  # a long caption must not widen the dock
        self.list = _QueueList()
        self.list.setObjectName("queue-list")
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.list)
        self.list.itemActivated.connect(lambda item: self.play_requested.emit(item.data(TRACK)))
        self.list.model().rowsMoved.connect(self._rows_moved)
        self.list.delete_pressed.connect(self.remove_selected)
        self.list.customContextMenuRequested.connect(self._menu)
        self.show_queue([])

    def show_queue(self, tracks: Sequence[Track]) -> None:
        self.list.clear()
        for track in tracks:
            item = QListWidgetItem(f"{track.title} · {track.shown_artist}")
            item.setData(TRACK, track)
            item.setToolTip(track.path)
            self.list.addItem(item)
        self.caption.setText(
            f"Queue: {plural(len(tracks), 'song')}, played first, in this order "
            "(drag to reorder, Delete removes)"
        )
        # As tall as its songs, up to six rows: up next below keeps its room.
        rows = max(1, min(len(tracks), QUEUE_ROWS))
        frame = 2 * self.list.frameWidth()
        self.list.setFixedHeight(rows * self.list.sizeHintForRow(0) + frame if tracks else 0)
        self.setVisible(bool(tracks))

    def tracks(self) -> list[Track]:
        return [self.list.item(i).data(TRACK) for i in range(self.list.count())]

    def remove_selected(self) -> None:
        rows = sorted(self.list.row(item) for item in self.list.selectedItems())
        if rows:
            self.removed.emit(rows)

    def _rows_moved(
        self,
        _parent: QModelIndex | QPersistentModelIndex,
        start: int,
        _end: int,
        _destination: QModelIndex | QPersistentModelIndex,
        row: int,
    ) -> None:
        self.moved.emit(start, row if row < start else row - 1)

    def _menu(self, pos: QPoint) -> None:
        if not self.list.selectedItems():
            return
        menu = QMenu(self.list)
        menu.addAction("Remove from queue", self.remove_selected)
        menu.exec(self.list.viewport().mapToGlobal(pos))
