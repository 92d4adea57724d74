"""The "Up next" dock: the five songs that sound most like the one playing."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QGridLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.queue_panel import QueueView
from engine.similarity.atlas import STEERING
from engine.tracks import Recommendation, Track


def similarity_percent(distance: float, scale: float) -> int:
    """A friendly 0–100 figure: 100 for identical, 50 at the library's typical distance."""
    return round(100 * scale / (scale + max(distance, 0.0)))


class UpNextPanel(QDockWidget):
    """Shows suggestions with a similarity figure and a reason; double-click plays."""

    play_requested = Signal(object)  # Track
    radio_toggled = Signal(bool)
    steer_requested = Signal(str)  # a move of engine.similarity.atlas.STEERING
    steer_reset = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Up next", parent)
        self.setObjectName("up-next")
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        self.status = QLabel("Play a song to see the five that sound most like it.")
        self.status.setWordWrap(True)
        self.status.setObjectName("up-next-status")
        self.list = QListWidget()
        self.list.setObjectName("up-next-list")
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.setSpacing(3)
        self.radio = QCheckBox("Radio: keep playing similar songs")
        self.radio.setChecked(True)
        self.radio.setToolTip("When a song ends, play the first song of this list next")
        steering = QGridLayout()
        steering.setSpacing(3)
        self.steer_buttons: dict[str, QPushButton] = {}
        for i, move in enumerate(STEERING):
            button = QPushButton(move.capitalize())
            button.setToolTip(f"Suggestions that are {move} than the playing song")
            button.clicked.connect(lambda _=False, m=move: self.steer_requested.emit(m))
            steering.addWidget(button, i % 2, i // 2)  # opposites share a column
            self.steer_buttons[move] = button
        reset = QPushButton("Reset")
        reset.setToolTip("Suggestions for the playing song again, unsteered")
        reset.clicked.connect(self.steer_reset)
        steering.addWidget(reset, 0, len(STEERING) // 2, 2, 1)
        self.queue = QueueView(body)
        self.why_not = QLabel()
        self.why_not.setObjectName("why-not")
        self.why_not.setWordWrap(True)
        self.why_not.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.why_not.setVisible(False)
        layout.addWidget(self.queue)
        layout.addWidget(self.status)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.why_not)
        layout.addLayout(steering)
        layout.addWidget(self.radio)
        self.setWidget(body)
        self._tracks: list[Track] = []
        self.list.itemActivated.connect(self._activated)
        self.radio.toggled.connect(self.radio_toggled)

    @property
    def tracks(self) -> list[Track]:
        return list(self._tracks)

    def set_caption(self, text: str) -> None:
        """The line above the list (what the suggestions are for)."""
        self.status.setText(text)

    def show_why_not(self, text: str) -> None:
        """The answer to "why is this song not in up next?", under the list."""
        self.why_not.setText(f"Why not? {text}")
        self.why_not.setVisible(True)

    def show_waiting(self, message: str) -> None:
        self.why_not.setVisible(False)
        self._tracks = []
        self.list.clear()
        self.status.setText(message)

    def show_recommendations(
        self, seeds: Sequence[Track], recs: Sequence[Recommendation], scale: float
    ) -> None:
        self._tracks = [r.track for r in recs]
        self.why_not.setVisible(False)
        self.list.clear()
        if not recs:
            self.status.setText("Nothing similar left to suggest right now.")
            return
        if len(seeds) == 1:
            self.status.setText(f"Plays next, in this order: sounds like “{seeds[0].title}”")
        else:
            self.status.setText(f"Plays next, in this order: like these {len(seeds)} songs")
        for rec in recs:
            t = rec.track
            pct = similarity_percent(rec.distance, scale)
            item = QListWidgetItem(f"{t.title}\n{t.shown_artist} · {pct}% similar\n{rec.reason}")
            item.setToolTip(f"{t.path}\ndistance {rec.distance:.2f}")
            item.setData(Qt.ItemDataRole.UserRole, t)
            self.list.addItem(item)

    def _activated(self, item: QListWidgetItem) -> None:
        self.play_requested.emit(item.data(Qt.ItemDataRole.UserRole))
