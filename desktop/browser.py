"""The browser pane: artists → albums (with covers and counts) that filter the table.

A two-level model over prepared :class:`engine.collection.Artist` rows: the first
row is "All music", then one row per artist, whose children are its albums. Rows
are one fixed height (uniform rows: no per-row measuring at 10k artists).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QItemSelection,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont, QFontMetrics, QIcon, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QWidget,
)

from desktop.covers import CoverCache
from engine.collection import Album, Artist, Collection
from engine.tracks import plural

AnyIndex = QModelIndex | QPersistentModelIndex
SummaryRole = Qt.ItemDataRole.UserRole + 10
#: Height of a row: a name and a summary line beside a cover.
ROW_HEIGHT = 44
COVER = 36


@dataclass(frozen=True, slots=True)
class Scope:
    """What the browser selects: the ids of its tracks, or None for all music."""

    track_ids: list[int] | None
    label: str
    key: str  # "" (all), "a:<artist>" or "b:<album key>": found again after a rescan


class BrowserModel(QAbstractItemModel):
    """Row 0 "All music", then artists; an artist's children are its albums."""

    def __init__(self, covers: CoverCache | None = None) -> None:
        super().__init__()
        self.collection = Collection()
        self.covers = covers
        self._tracks = 0
        if covers is not None:
            covers.ready.connect(self._cover_ready)

    @property
    def artists(self) -> list[Artist]:
        return self.collection.artists

    def set_collection(self, collection: Collection) -> None:
        self.beginResetModel()
        self.collection = collection
        self._tracks = collection.size
        self.endResetModel()

    # -- Qt API ---------------------------------------------------------------------------
    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        if parent.isValid():
            # an album: its internal id is its artist's row + 1 (0 means "top level")
            return self.createIndex(row, column, parent.row())
        return self.createIndex(row, column, 0)

    def parent(self, index: AnyIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid() or index.internalId() == 0:
            return QModelIndex()
        return self.createIndex(int(index.internalId()), 0, 0)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return 1 + len(self.artists) if self.artists else 0
        if parent.internalId() == 0 and parent.row() > 0:
            return len(self.artists[parent.row() - 1].albums)
        return 0

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 1

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self.item(index)
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                "All music"
                if item is None
                else item.title
                if isinstance(item, Album)
                else item.name
            )
        if role == SummaryRole:
            if item is None:
                return f"{plural(len(self.artists), 'artist')} · {plural(self._tracks, 'song')}"
            return item.summary()
        if role == Qt.ItemDataRole.ToolTipRole:
            name = "All music" if item is None else getattr(item, "title", None) or item.name
            return f"{name}\n{self.data(index, SummaryRole)}"
        if role == Qt.ItemDataRole.DecorationRole and isinstance(item, Album):
            return self.covers.icon(item) if self.covers is not None else None
        return None

    # -- ours -----------------------------------------------------------------------------
    def item(self, index: AnyIndex) -> Artist | Album | None:
        """The artist or album of a row; None for "All music"."""
        parent_row = int(index.internalId())
        if parent_row > 0:
            return self.artists[parent_row - 1].albums[index.row()]
        return self.artists[index.row() - 1] if index.row() > 0 else None

    def scope(self, index: AnyIndex) -> Scope:
        item = self.item(index) if index.isValid() else None
        if item is None:
            return Scope(None, "All music", "")
        if isinstance(item, Album):
            return Scope(item.track_ids, f"{item.artist} — {item.title}", f"b:{item.key}")
        return Scope(item.track_ids, item.name, f"a:{item.name.casefold()}")

    def find(self, key: str) -> QModelIndex:
        """The row a :attr:`Scope.key` names, or an invalid index when it is gone."""
        if key.startswith("b:") and key[2:] in self.collection.albums:
            artist, album = self.collection.albums[key[2:]]
            return self.index(album, 0, self.index(artist + 1, 0))
        artist = self.collection.artist_named(key[2:]) if key.startswith("a:") else None
        if artist is not None:
            return self.index(artist + 1, 0)
        return self.index(0, 0) if key == "" and self.artists else QModelIndex()

    def _cover_ready(self, key: str) -> None:
        where = self.collection.albums.get(key)
        if where is not None:
            index = self.index(where[1], 0, self.index(where[0] + 1, 0))
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class BrowserDelegate(QStyledItemDelegate):
    """A name over a quieter summary line, with the album's cover at the left."""

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        return QSize(200, ROW_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        name, summary = opt.text, index.data(SummaryRole) or ""
        icon = index.data(Qt.ItemDataRole.DecorationRole)
        opt.text, opt.icon = "", QIcon()
        style = opt.widget.style() if opt.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        rect = opt.rect.adjusted(4, 4, -4, -4)
        is_album = index.parent().isValid()
        if is_album:
            cover = QRect(rect.left(), rect.top() + (rect.height() - COVER) // 2, COVER, COVER)
            if isinstance(icon, QIcon) and not icon.isNull():
                icon.paint(painter, cover)
            else:
                painter.fillRect(cover, opt.palette.color(QPalette.ColorRole.Midlight))
            rect.setLeft(cover.right() + 8)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        text_role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        font = QFont(opt.font)
        font.setBold(not is_album)
        small = QFont(opt.font)
        small.setPointSizeF(max(6.0, opt.font.pointSizeF() * 0.85))
        top, bottom = (
            rect.adjusted(0, 0, 0, -rect.height() // 2),
            rect.adjusted(0, rect.height() // 2, 0, 0),
        )
        painter.save()
        painter.setPen(opt.palette.color(text_role))
        painter.setFont(font)
        painter.drawText(
            top,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom),
            QFontMetrics(font).elidedText(name, Qt.TextElideMode.ElideRight, top.width()),
        )
        painter.setFont(small)
        if not selected:
            painter.setPen(opt.palette.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(
            bottom,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop),
            QFontMetrics(small).elidedText(summary, Qt.TextElideMode.ElideRight, bottom.width()),
        )
        painter.restore()


class BrowserPanel(QDockWidget):
    """The "Browse" dock: pick an artist or album to show only its songs."""

    scope_changed = Signal(object)  # Scope
    play_requested = Signal(list)  # [track id], in album order
    play_next_requested = Signal(list)
    enqueue_requested = Signal(list)

    def __init__(self, covers: CoverCache | None = None, parent: QWidget | None = None) -> None:
        super().__init__("Browse", parent)
        self.setObjectName("browser")
        self.model = BrowserModel(covers)
        self.tree = QTreeView()
        self.tree.setObjectName("browser-tree")
        self.tree.setModel(self.model)
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setItemDelegate(BrowserDelegate(self.tree))
        self.tree.setIconSize(QSize(COVER, COVER))
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setExpandsOnDoubleClick(False)  # double-click plays; the arrow expands
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.doubleClicked.connect(self._play)
        self.tree.selectionModel().selectionChanged.connect(self._selected)
        self.setWidget(self.tree)
        self.scope = Scope(None, "All music", "")

    def set_collection(self, collection: Collection) -> None:
        """Show a new collection, keeping the selection (and the expanded artists)."""
        model = self.model
        expanded = [
            model.artists[r - 1].name
            for r in range(1, model.rowCount())
            if self.tree.isExpanded(model.index(r, 0))
        ]
        key = self.scope.key
        blocker = self.tree.selectionModel().blockSignals(True)
        model.set_collection(collection)
        self.tree.selectionModel().blockSignals(blocker)
        for name in expanded:
            artist = collection.artist_named(name)
            if artist is not None:
                self.tree.expand(model.index(artist + 1, 0))
        found = self.model.find(key)
        if found.isValid():
            self.tree.setCurrentIndex(found)  # emits the (new) scope: ids may have changed
        elif key:
            self.show_all()
        else:
            self.scope_changed.emit(self.scope)

    def choose_later(self, key: str) -> None:
        """Select the row ``key`` names once the collection arrives (the last session's)."""
        self.scope = Scope(None, "All music", key)

    def show_all(self) -> None:
        self.tree.setCurrentIndex(self.model.index(0, 0))
        if not self.model.artists:
            self._set_scope(Scope(None, "All music", ""))

    def select(self, key: str) -> bool:
        """Select the row a scope key names (and show it); False when there is none."""
        index = self.model.find(key)
        if not index.isValid():
            return False
        if index.parent().isValid():
            self.tree.expand(index.parent())
        self.tree.setCurrentIndex(index)
        self.tree.scrollTo(index)
        return True

    def _selected(self, selected: QItemSelection, deselected: QItemSelection) -> None:
        rows = self.tree.selectionModel().selectedRows()
        self._set_scope(self.model.scope(rows[0]) if rows else Scope(None, "All music", ""))

    def _set_scope(self, scope: Scope) -> None:
        self.scope = scope
        self.scope_changed.emit(scope)

    def _ids(self, index: AnyIndex) -> list[int]:
        ids = self.model.scope(index).track_ids
        return list(ids) if ids is not None else []

    def _play(self, index: AnyIndex) -> None:
        ids = self._ids(index)
        if ids:
            self.play_requested.emit(ids)

    def _context_menu(self, pos: QPoint) -> None:
        index = self.tree.indexAt(pos)
        ids = self._ids(index) if index.isValid() else []
        if not ids:
            return
        menu = QMenu(self.tree)
        menu.addAction("Play", lambda: self.play_requested.emit(ids))
        menu.addAction("Play next", lambda: self.play_next_requested.emit(ids))
        menu.addAction("Add to queue", lambda: self.enqueue_requested.emit(ids))
        menu.exec(self.tree.viewport().mapToGlobal(pos))
