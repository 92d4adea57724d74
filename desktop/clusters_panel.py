"""The "Clusters" dock: the model's groups of similar songs, named, to browse, play or save.

A tree: one row per group (its colour on the map, name and size), its songs below it.
The songs are rows of a small model over the lists the panel is given, not item
objects, and a group tells the view about them only once it is expanded, so a
100,000-song library costs nothing until the user opens a group.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    Qt,
    Signal,
)
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from desktop.map_view import rank_colour, swatch
from engine.similarity.atlas import Cluster
from engine.tracks import Track

Index = QModelIndex | QPersistentModelIndex
#: internalId of a group's row; a song's row holds its group's row + 1.
_GROUP = 0
#: Songs a group shows at a time, the next ones once its last shown song scrolls into
#: view: a tree view lays out every row it is told of, which for 100,000 songs stalls
#: the window for about a second.
BATCH = 2000


class ClusterModel(QAbstractItemModel):
    """Groups as top-level rows, their songs as children, fetched when expanded."""

    def __init__(self) -> None:
        super().__init__()
        self.clusters: list[tuple[Cluster, list[Track]]] = []
        self._fetched: list[int] = []  # per group: how many songs the view was told of
        self._icons: list[QIcon] = []

    def set_clusters(self, clusters: Sequence[tuple[Cluster, list[Track]]]) -> None:
        """Show ``clusters`` (largest first, as the map ranks their colours), closed."""
        self.beginResetModel()
        self.clusters = list(clusters)
        self._fetched = [0] * len(self.clusters)
        self._icons = [swatch(rank_colour(rank)) for rank in range(len(self.clusters))]
        self.endResetModel()

    # -- structure -------------------------------------------------------------------------
    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if column != 0 or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, 0, _GROUP) if row < len(self.clusters) else QModelIndex()
        if parent.internalId() == _GROUP and row < self._fetched[parent.row()]:
            return self.createIndex(row, 0, parent.row() + 1)
        return QModelIndex()

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not index.isValid() or index.internalId() == _GROUP:
            return QModelIndex()
        return self.createIndex(index.internalId() - 1, 0, _GROUP)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self.clusters)
        if parent.internalId() == _GROUP:
            return self._fetched[parent.row()]
        return 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 1

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        # a group shows its expand arrow before its songs are fetched
        if not parent.isValid():
            return bool(self.clusters)
        return parent.internalId() == _GROUP and bool(self.clusters[parent.row()][1])

    def canFetchMore(self, parent: Index) -> bool:
        return (
            parent.isValid()
            and parent.internalId() == _GROUP
            and self._fetched[parent.row()] < len(self.clusters[parent.row()][1])
        )

    def fetchMore(self, parent: Index) -> None:
        """The next :data:`BATCH` songs of a group (the view asks on expanding it and on
        scrolling to its end)."""
        if not self.canFetchMore(parent):
            return
        row = parent.row()
        start = self._fetched[row]
        end = min(start + BATCH, len(self.clusters[row][1]))
        self.beginInsertRows(parent, start, end - 1)
        self._fetched[row] = end
        self.endInsertRows()

    # -- content ---------------------------------------------------------------------------
    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        if index.internalId() == _GROUP:
            cluster, tracks = self.clusters[index.row()]
            if role == Qt.ItemDataRole.DisplayRole:
                return f"{cluster.name}  ({len(tracks):,} songs)"
            if role == Qt.ItemDataRole.DecorationRole:
                return self._icons[index.row()]
            if role == Qt.ItemDataRole.ToolTipRole:
                return "Its colour on the map (by cluster); double-click for its songs"
            return None
        track = self.track(index)
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{track.shown_artist} — {track.title}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return track.path
        return None

    def group_row(self, index: Index) -> int:
        """The row of the group ``index`` is, or is in (-1: none)."""
        if not index.isValid():
            return -1
        return index.row() if index.internalId() == _GROUP else index.internalId() - 1

    def track(self, index: Index) -> Track | None:
        """The song at ``index`` (None for a group's row)."""
        if not index.isValid() or index.internalId() == _GROUP:
            return None
        return self.clusters[index.internalId() - 1][1][index.row()]


class ClustersPanel(QDockWidget):
    """Lists groups and their songs: Play plays the chosen group, double-click a song to
    play the group from it."""

    play_requested = Signal(list)  # [Track]
    save_requested = Signal(str, list)  # name, [Track]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Clusters", parent)
        self.setObjectName("clusters")
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        self.status = QLabel("Train the model to see the groups your songs fall into.")
        self.status.setWordWrap(True)
        self.model = ClusterModel()
        self.tree = QTreeView()
        self.tree.setObjectName("clusters-tree")
        self.tree.setModel(self.model)
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)  # lets a view of 100k rows skip measuring them
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.play_button = QPushButton("Play group")
        self.save_button = QPushButton("Save as playlist…")
        buttons = QHBoxLayout()
        buttons.addWidget(self.play_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        layout.addWidget(self.status)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self.setWidget(body)
        self.tree.activated.connect(self._activated)
        self.tree.verticalScrollBar().valueChanged.connect(lambda _: self._fetch_shown())
        self.tree.expanded.connect(lambda _: self._fetch_shown())
        self.tree.customContextMenuRequested.connect(self._menu)
        self.play_button.clicked.connect(self._play)
        self.save_button.clicked.connect(self._save)

    @property
    def clusters(self) -> list[tuple[Cluster, list[Track]]]:
        """The groups shown, largest first, with their songs."""
        return self.model.clusters

    def set_clusters(self, clusters: Sequence[tuple[Cluster, list[Track]]]) -> None:
        """Show ``clusters`` with their songs, largest first; the first one chosen."""
        self.model.set_clusters(clusters)
        self.status.setText(
            f"{len(self.clusters)} groups of similar songs, largest first. "
            "Expand one to see its songs; double-click a song to play the group from it."
        )
        if self.clusters:
            self.tree.setCurrentIndex(self.model.index(0, 0))

    def chosen(self) -> tuple[Cluster, list[Track]] | None:
        """The group selected, or the group of the song selected."""
        row = self.model.group_row(self.tree.currentIndex())
        return self.clusters[row] if 0 <= row < len(self.clusters) else None

    def play_from(self, index: QModelIndex) -> None:
        """Play the group of the song at ``index``, starting with that song."""
        track = self.model.track(index)
        if track is None:
            return
        tracks = self.clusters[self.model.group_row(index)][1]
        at = index.row()
        self.play_requested.emit(tracks[at:] + tracks[:at])  # the whole group, from there

    def _fetch_shown(self) -> None:
        """Fetch more songs of an open group whose last fetched song is in view (Qt does
        it only for the last group in the tree)."""
        height = self.tree.viewport().height()
        for row in range(len(self.clusters)):
            group = self.model.index(row, 0)
            if not self.tree.isExpanded(group) or not self.model.canFetchMore(group):
                continue
            shown = self.tree.visualRect(self.model.index(self.model.rowCount(group) - 1, 0, group))
            if shown.bottom() >= 0 and shown.top() < height:
                self.model.fetchMore(group)

    def _activated(self, index: QModelIndex) -> None:
        # a group's row expands on double-click (the view does it); a song's row plays
        if self.model.track(index) is not None:
            self.play_from(index)

    def _menu(self, pos: QPoint) -> None:
        index = self.tree.indexAt(pos)
        if not index.isValid():
            return
        self.tree.setCurrentIndex(index)
        menu = QMenu(self)
        if self.model.track(index) is not None:
            menu.addAction("Play from this song", lambda: self.play_from(index))
        menu.addAction("Play group", self._play)
        menu.addAction("Save group as playlist…", self._save)
        menu.exec(self.tree.viewport().mapToGlobal(pos))

    def _play(self) -> None:
        chosen = self.chosen()
        if chosen is not None:
            self.play_requested.emit(chosen[1])

    def _save(self) -> None:
        chosen = self.chosen()
        if chosen is not None:
            self.save_requested.emit(chosen[0].name, chosen[1])
