"""The "Map" dock: every analysed track as a point, placed by how it sounds.

Points are drawn by pyqtgraph, one scatter item per colour (12 colours cycle over
the clusters or the commonest genres), which keeps 100k points interactive. The
playing song is ringed and joined by lines to its up next; Ctrl+click a point to
see its true nearest neighbours in the full feature space, which a 2-D picture
cannot always keep close. Click plays; Shift+drag selects an area.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.similarity.atlas import Projection
from engine.tracks import Track

PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#86bcb6", "#d37295",
)  # fmt: skip
OTHER = "#cfcfcf"


class _SelectBox(pg.ViewBox):
    """A ViewBox where Shift+drag draws a selection rectangle instead of panning."""

    area_selected = Signal(QRectF)

    def __init__(self) -> None:
        super().__init__()
        self._band = QGraphicsRectItem()
        self._band.setPen(QPen(QColor("#333333"), 0, Qt.PenStyle.DashLine))
        self._band.setBrush(QColor(80, 120, 200, 40))
        self._band.setZValue(1e9)
        self._band.hide()
        self.addItem(self._band, ignoreBounds=True)

    def mouseDragEvent(self, ev: object, axis: int | None = None) -> None:
        if not ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        start = self.mapToView(ev.buttonDownPos())
        now = self.mapToView(ev.pos())
        rect = QRectF(start, now).normalized()
        self._band.setRect(rect)
        self._band.show()
        if ev.isFinish():
            self._band.hide()
            self.area_selected.emit(rect)


class MapPanel(QDockWidget):
    """The map; emits what the user asks for, the controller decides."""

    play_requested = Signal(object)  # Track
    more_like_requested = Signal(list)  # [Track]
    play_these_requested = Signal(list)  # [Track]
    neighbours_requested = Signal(object)  # Track: show its true neighbours

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Map", parent)
        self.setObjectName("map")
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        bar = QHBoxLayout()
        self.colour_by = QComboBox()
        self.colour_by.addItems(["Colour by cluster", "Colour by genre"])
        self.status = QLabel("Train the model to see your library as a map.")
        self.status.setObjectName("map-status")
        self.status.setWordWrap(True)
        bar.addWidget(self.colour_by)
        bar.addWidget(self.status, 1)
        self.selection_label = QLabel()
        self.play_selection = QPushButton("Play these")
        self.more_like_selection = QPushButton("More like these")
        for w in (self.selection_label, self.play_selection, self.more_like_selection):
            w.setVisible(False)
        selection = QHBoxLayout()
        selection.addWidget(self.selection_label, 1)
        selection.addWidget(self.play_selection)
        selection.addWidget(self.more_like_selection)
        self.box = _SelectBox()
        self.plot = pg.PlotWidget(viewBox=self.box, background="w")
        self.plot.setObjectName("map-plot")
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.setMenuEnabled(False)
        layout.addLayout(bar)
        layout.addWidget(self.plot, 1)
        layout.addLayout(selection)
        self.setWidget(body)

        self.tracks: dict[int, Track] = {}
        self.ids = np.zeros(0, dtype=np.int64)
        self.xy = np.zeros((0, 2), dtype=np.float32)
        self.clusters = np.zeros(0, dtype=np.int64)
        self.selected: list[Track] = []
        self._row: dict[int, int] = {}
        self._layers: list[pg.ScatterPlotItem] = []
        self._current = pg.ScatterPlotItem(
            size=18, pen=pg.mkPen("#111111", width=2.5), brush=None, symbol="o"
        )
        self._next = pg.ScatterPlotItem(
            size=12, pen=pg.mkPen("#111111", width=1.5), brush="#ffd23f"
        )
        self._links = pg.PlotDataItem(pen=pg.mkPen("#555555", width=1))
        self._true = pg.PlotDataItem(pen=pg.mkPen("#d62728", width=1.5, style=Qt.PenStyle.DotLine))
        for item, z in ((self._links, 10), (self._true, 11), (self._next, 12), (self._current, 13)):
            item.setZValue(z)
            self.plot.addItem(item)
        self.colour_by.currentIndexChanged.connect(lambda _: self._draw_points())
        self.box.area_selected.connect(self._select_area)
        self.play_selection.clicked.connect(lambda: self.play_these_requested.emit(self.selected))
        self.more_like_selection.clicked.connect(
            lambda: self.more_like_requested.emit(self.selected)
        )

    # -- data ----------------------------------------------------------------------------
    def set_projection(self, projection: Projection, tracks: dict[int, Track]) -> None:
        self.tracks = tracks
        self.ids, self.xy, self.clusters = projection.ids, projection.xy, projection.clusters
        self._row = {int(t): i for i, t in enumerate(self.ids)}
        self.status.setText(
            f"{len(self.ids):,} songs placed by sound (the two main directions show "
            f"{projection.explained:.0%} of the differences). Click plays; Ctrl+click shows "
            "true neighbours; Shift+drag selects."
        )
        self._draw_points()
        self.plot.autoRange()

    def _colour_keys(self) -> np.ndarray:
        """A palette index per point (-1: grey), by cluster or by genre."""
        if self.colour_by.currentIndex() == 0:
            return self.clusters % len(PALETTE)
        genres = [
            self.tracks[int(t)].genre.strip() if int(t) in self.tracks else "" for t in self.ids
        ]
        common = [g for g, _ in Counter(g for g in genres if g).most_common(len(PALETTE))]
        slot = {g: i for i, g in enumerate(common)}
        return np.array([slot.get(g, -1) for g in genres], dtype=np.int64)

    def _draw_points(self) -> None:
        for layer in self._layers:
            self.plot.removeItem(layer)
        self._layers = []
        keys = self._colour_keys()
        for key in sorted(set(keys.tolist())):
            rows = np.flatnonzero(keys == key)
            colour = PALETTE[key] if key >= 0 else OTHER
            layer = pg.ScatterPlotItem(
                x=self.xy[rows, 0],
                y=self.xy[rows, 1],
                data=self.ids[rows],
                size=7,
                pen=None,
                brush=pg.mkBrush(colour),
                hoverable=True,
                hoverSize=11,
                tip=self._tip,
            )
            layer.sigClicked.connect(self._clicked)
            self.plot.addItem(layer)
            self._layers.append(layer)

    def _tip(self, x: float, y: float, data: object) -> str:
        track = self.tracks.get(int(data))
        if track is None:
            return ""
        return f"{track.title}\n{track.shown_artist}"

    # -- highlights ------------------------------------------------------------------------
    def point_of(self, track_id: int) -> QPointF | None:
        row = self._row.get(int(track_id))
        return None if row is None else QPointF(*map(float, self.xy[row]))

    def show_playing(
        self, current: Track | None, up_next: Sequence[Track], path: bool = False
    ) -> None:
        """Ring the playing song and join it to its up next (``path``: one after another,
        as on a journey)."""
        here = self.point_of(current.id) if current is not None else None
        points = [p for p in (self.point_of(t.id) for t in up_next) if p is not None]
        self._current.setData([here.x()] if here else [], [here.y()] if here else [])
        self._next.setData([p.x() for p in points], [p.y() for p in points])
        if here is None:
            self._links.setData([], [])
            return
        if path:
            xs = [here.x(), *(p.x() for p in points)]
            ys = [here.y(), *(p.y() for p in points)]
        else:
            xs, ys = [], []
            for p in points:  # one segment per suggestion, separated by NaN gaps
                xs += [here.x(), p.x(), np.nan]
                ys += [here.y(), p.y(), np.nan]
        self._links.setData(xs, ys, connect="finite")

    def show_neighbours(self, track: Track, neighbour_ids: Sequence[int]) -> None:
        """Dotted red lines from ``track`` to its true nearest neighbours."""
        here = self.point_of(track.id)
        xs, ys = [], []
        for tid in neighbour_ids:
            p = self.point_of(tid)
            if here is not None and p is not None:
                xs += [here.x(), p.x(), np.nan]
                ys += [here.y(), p.y(), np.nan]
        self._true.setData(xs, ys, connect="finite")

    # -- interaction -----------------------------------------------------------------------
    def _clicked(self, item: object, points: Sequence[object], ev: object) -> None:
        if not len(points):
            return
        track = self.tracks.get(int(points[0].data()))
        if track is None:
            return
        if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.neighbours_requested.emit(track)
        else:
            self.play_requested.emit(track)

    def select(self, rect: QRectF) -> list[Track]:
        """Select the points inside ``rect`` (in map coordinates)."""
        x, y = self.xy[:, 0], self.xy[:, 1]
        inside = (x >= rect.left()) & (x <= rect.right()) & (y >= rect.top()) & (y <= rect.bottom())
        self.selected = [self.tracks[int(t)] for t in self.ids[inside] if int(t) in self.tracks]
        shown = bool(self.selected)
        self.selection_label.setText(f"{len(self.selected)} songs selected")
        for w in (self.selection_label, self.play_selection, self.more_like_selection):
            w.setVisible(shown)
        return self.selected

    def _select_area(self, rect: QRectF) -> None:
        self.select(rect)
