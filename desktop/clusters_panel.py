"""The "Clusters" dock: the model's groups of similar songs, named, to play or save."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.similarity.atlas import Cluster
from engine.tracks import Track


class ClustersPanel(QDockWidget):
    """Lists clusters as "name (size)"; double-click or Play plays one."""

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
        self.list = QListWidget()
        self.list.setObjectName("clusters-list")
        self.play_button = QPushButton("Play")
        self.save_button = QPushButton("Save as playlist…")
        buttons = QHBoxLayout()
        buttons.addWidget(self.play_button)
        buttons.addWidget(self.save_button)
        layout.addWidget(self.status)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.setWidget(body)
        self.clusters: list[tuple[Cluster, list[Track]]] = []
        self.list.itemActivated.connect(lambda _: self._play())
        self.play_button.clicked.connect(self._play)
        self.save_button.clicked.connect(self._save)

    def set_clusters(self, clusters: Sequence[tuple[Cluster, list[Track]]]) -> None:
        self.clusters = list(clusters)
        self.list.clear()
        for cluster, tracks in self.clusters:
            item = QListWidgetItem(f"{cluster.name}  ({len(tracks)} songs)")
            item.setToolTip(
                ", ".join(t.title for t in tracks[:8]) + (" …" if len(tracks) > 8 else "")
            )
            item.setData(Qt.ItemDataRole.UserRole, cluster.number)
            self.list.addItem(item)
        self.status.setText(f"{len(self.clusters)} groups of similar songs, largest first.")
        if self.clusters:
            self.list.setCurrentRow(0)

    def chosen(self) -> tuple[Cluster, list[Track]] | None:
        row = self.list.currentRow()
        return self.clusters[row] if 0 <= row < len(self.clusters) else None

    def _play(self) -> None:
        chosen = self.chosen()
        if chosen is not None:
            self.play_requested.emit(chosen[1])

    def _save(self) -> None:
        chosen = self.chosen()
        if chosen is not None:
            self.save_requested.emit(chosen[0].name, chosen[1])
