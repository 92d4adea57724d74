"""The "Map" dock: every analysed track as a point, placed by how it sounds.

Points are drawn by pyqtgraph, one scatter item per colour, which keeps 100k points
interactive. Twelve colours go to the twelve largest clusters (or the commonest
genres), the rest are grey, and a legend beside the plot names each colour: a colour
that stood for several clusters at once would say nothing. The playing song is ringed
and joined by lines to its up next; Ctrl+click a point to see its true nearest
neighbours in the full feature space, which a 2-D picture cannot always keep close.
Click plays; Shift+drag (or a legend entry) selects songs to play or to find more like.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.similarity.atlas import Cluster, Projection
from engine.tracks import Track, plural

PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#86bcb6", "#d37295",
)  # fmt: skip
OTHER = "#cfcfcf"
#: The legend's key for the grey points (clusters or genres beyond the palette).
OTHER_KEY = -1


def rank_colour(rank: int) -> str:
    """The colour of the ``rank``-th largest cluster (0 = largest): grey past the palette.

    The clusters dock uses it too, so a group has the same colour in both docks.
    """
    return PALETTE[rank] if 0 <= rank < len(PALETTE) else OTHER


def swatch(colour: str, size: int = 12) -> QIcon:
    """A filled square of ``colour``, for legends."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


def _genre(track: Track) -> str:
    """The genre a point is coloured by: its tag, else the network's guess (marked)."""
    genre = track.genre.strip()
    if genre or not track.guessed_genre:
        return genre
    return f"{track.guessed_genre} (guessed)"


@dataclass(frozen=True)
class LegendEntry:
    """One colour on the map: what it stands for and how many points have it."""

    key: int  # palette slot, or OTHER_KEY
    name: str
    colour: str
    count: int


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
        """Shift+drag: a rubber band, reported in map coordinates when released."""
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
        self.clear_selection_button = QPushButton("Clear selection")
        self._selection_widgets = (
            self.selection_label,
            self.play_selection,
            self.more_like_selection,
            self.clear_selection_button,
        )
        for w in self._selection_widgets:
            w.setVisible(False)
        selection = QHBoxLayout()
        selection.addWidget(self.selection_label, 1)
        selection.addWidget(self.play_selection)
        selection.addWidget(self.more_like_selection)
        selection.addWidget(self.clear_selection_button)
        self.box = _SelectBox()
        self.plot = pg.PlotWidget(viewBox=self.box, background="w")
        self.plot.setObjectName("map-plot")
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.setMenuEnabled(False)
        self.legend = QListWidget()
        self.legend.setObjectName("map-legend")
        self.legend.setFixedWidth(230)  # the plot keeps the rest
        self.legend.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.legend.setToolTip("Click an entry to select its songs")
        self.marks_key = QLabel(
            "Big ring: the song playing, joined to its up next (small rings). "
            "<span style='color:#d62728'>Dotted</span>: its true nearest songs (Ctrl+click)."
        )
        self.marks_key.setObjectName("map-marks-key")
        self.marks_key.setWordWrap(True)
        self.marks_key.setFixedWidth(230)
        side = QVBoxLayout()
        side.addWidget(self.legend, 1)
        side.addWidget(self.marks_key)
        self.legend.setVisible(False)  # nothing to name before the map is drawn
        self.marks_key.setVisible(False)
        middle = QHBoxLayout()
        middle.addWidget(self.plot, 1)
        middle.addLayout(side)
        layout.addLayout(bar)
        layout.addLayout(middle, 1)
        layout.addLayout(selection)
        self.setWidget(body)

        self.tracks: Mapping[int, Track] = {}
        self.ids = np.zeros(0, dtype=np.int64)
        self.xy = np.zeros((0, 2), dtype=np.float32)
        self.clusters = np.zeros(0, dtype=np.int64)
        self.cluster_names: dict[int, str] = {}
        self._cluster_order: list[int] = []  # cluster numbers, largest first
        self.legend_entries: list[LegendEntry] = []
        self._keys = np.zeros(0, dtype=np.int64)  # each point's legend key
        self.selected: list[Track] = []
        self._playing: int | None = None  # whose up next show_playing drew last
        self._row: dict[int, int] = {}
        self._layers: list[pg.ScatterPlotItem] = []
        # a highlighter's glow behind each selected point: it keeps the point's colour
        self._picked = pg.ScatterPlotItem(
            size=17, pen=None, brush=pg.mkBrush(255, 190, 0, 130), symbol="o"
        )
        self._current = pg.ScatterPlotItem(
            size=18, pen=pg.mkPen("#111111", width=2.5), brush=None, symbol="o"
        )
        # rings, not fills: a suggestion still shows the colour of its cluster
        self._next = pg.ScatterPlotItem(
            size=13, pen=pg.mkPen("#111111", width=1.5), brush=None, symbol="o"
        )
        self._links = pg.PlotDataItem(pen=pg.mkPen("#555555", width=1))
        self._true = pg.PlotDataItem(pen=pg.mkPen("#d62728", width=1.5, style=Qt.PenStyle.DotLine))
        overlays = (
            (self._picked, -1),  # beneath the points
            (self._links, 10),
            (self._true, 11),
            (self._next, 12),
            (self._current, 13),
        )
        for item, z in overlays:
            item.setZValue(z)
            self.plot.addItem(item)
        # rings and glows cover points: a click on one must still play its song
        for item in (self._picked, self._current, self._next):
            item.sigClicked.connect(self._clicked)
        self.colour_by.currentIndexChanged.connect(lambda _: self._draw_points())
        self.box.area_selected.connect(self._select_area)
        self.legend.itemClicked.connect(self._legend_clicked)
        self.play_selection.clicked.connect(lambda: self.play_these_requested.emit(self.selected))
        self.more_like_selection.clicked.connect(
            lambda: self.more_like_requested.emit(self.selected)
        )
        self.clear_selection_button.clicked.connect(self.clear_selection)

    # -- data ----------------------------------------------------------------------------
    def set_projection(
        self,
        projection: Projection,
        tracks: Mapping[int, Track],
        clusters: Sequence[Cluster] = (),
    ) -> None:
        """Show ``projection``; ``clusters`` (largest first) name the cluster colours."""
        self.tracks = tracks
        self.ids, self.xy, self.clusters = projection.ids, projection.xy, projection.clusters
        self._row = {int(t): i for i, t in enumerate(self.ids)}
        self.cluster_names = {c.number: c.name for c in clusters}
        numbers, counts = np.unique(self.clusters, return_counts=True)
        by_size = sorted(
            zip(numbers.tolist(), counts.tolist(), strict=True), key=lambda nc: (-nc[1], nc[0])
        )
        present = set(numbers.tolist())
        given = [c.number for c in clusters if c.number in present]
        named = set(given)
        # the atlas's order when given, so colours match the clusters dock's swatches
        self._cluster_order = given + [n for n, _ in by_size if n not in named]
        self.status.setText(
            f"{len(self.ids):,} songs placed by sound (the two main directions show "
            f"{projection.explained:.0%} of the differences). Click plays; Ctrl+click shows "
            "true neighbours; Shift+drag selects."
        )
        self._true.setData([], [])  # drawn for the old positions
        self._playing = None
        self.clear_selection()
        self._draw_points()
        self.plot.autoRange()

    def _colour_keys(self) -> tuple[np.ndarray, dict[int, str]]:
        """A palette slot per point (OTHER_KEY: grey), by cluster or by genre, and the
        name of each slot."""
        slots = len(PALETTE)
        if self.colour_by.currentIndex() == 0:
            top = self._cluster_order[:slots]
            lut = np.full(int(self.clusters.max(initial=0)) + 1, OTHER_KEY, dtype=np.int64)
            lut[top] = np.arange(len(top))
            others = len(self._cluster_order) - len(top)
            names = {i: self.cluster_names.get(n, f"Cluster {n + 1}") for i, n in enumerate(top)}
            names[OTHER_KEY] = plural(others, "smaller cluster")
            return lut[self.clusters], names
        genres = [_genre(self.tracks[int(t)]) if int(t) in self.tracks else "" for t in self.ids]
        common = [g for g, _ in Counter(g for g in genres if g).most_common(slots)]
        slot = {g: i for i, g in enumerate(common)}
        names = dict(enumerate(common))
        names[OTHER_KEY] = "Other or no genre"
        return np.array([slot.get(g, OTHER_KEY) for g in genres], dtype=np.int64), names

    def _draw_points(self) -> None:
        """One scatter item per colour, and the legend naming the colours."""
        for layer in self._layers:
            self.plot.removeItem(layer)
        self._layers = []
        self._keys, names = self._colour_keys() if len(self.ids) else (self._keys[:0], {})
        keys, counts = np.unique(self._keys, return_counts=True)
        entries = []
        for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
            rows = np.flatnonzero(self._keys == key)
            colour = rank_colour(key)
            entries.append(LegendEntry(key, names[key], colour, count))
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
        # the coloured entries in palette order (largest first), the grey one last
        entries.sort(key=lambda e: (e.key == OTHER_KEY, e.key))
        self._show_legend(entries)

    def _show_legend(self, entries: list[LegendEntry]) -> None:
        """A swatch, name and count per colour."""
        self.legend_entries = entries
        self.legend.clear()
        for entry in entries:
            item = QListWidgetItem(swatch(entry.colour), f"{entry.name}  ({entry.count:,})")
            item.setData(Qt.ItemDataRole.UserRole, entry.key)
            item.setToolTip(f"{entry.name}: {entry.count:,} songs. Click to select them.")
            self.legend.addItem(item)
        self.legend.setVisible(bool(entries))
        self.marks_key.setVisible(bool(entries))

    def _tip(self, x: float, y: float, data: object) -> str:
        """A point's hover text: title, artist and its cluster's name."""
        track = self.tracks.get(int(data))
        if track is None:
            return ""
        row = self._row.get(int(data))
        group = self.cluster_names.get(int(self.clusters[row])) if row is not None else None
        return f"{track.title}\n{track.shown_artist}" + (f"\nGroup: {group}" if group else "")

    # -- highlights ------------------------------------------------------------------------
    def point_of(self, track_id: int) -> QPointF | None:
        row = self._row.get(int(track_id))
        return None if row is None else QPointF(*map(float, self.xy[row]))

    def show_playing(
        self, current: Track | None, up_next: Sequence[Track], path: bool = False
    ) -> None:
        """Ring the playing song and join it to its up next (``path``: one after another,
        as on a journey)."""
        playing = current.id if current is not None else None
        if playing != self._playing:  # another song: the last one's true neighbours go
            self._true.setData([], [])
            self._playing = playing
        here = self.point_of(current.id) if current is not None else None
        shown = [t for t in up_next if self.point_of(t.id) is not None]
        points = [self.point_of(t.id) for t in shown]
        self._current.setData(
            [here.x()] if here else [], [here.y()] if here else [], data=[playing] if here else []
        )
        self._next.setData(
            [p.x() for p in points], [p.y() for p in points], data=[t.id for t in shown]
        )
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
        return self._select_rows(inside)

    def select_legend_entry(self, key: int) -> list[Track]:
        """Select the songs drawn in the colour of legend entry ``key``."""
        return self._select_rows(self._keys == key)

    def clear_selection(self) -> None:
        """Select nothing (and hide the selection's buttons)."""
        self._select_rows(np.zeros(len(self.ids), dtype=bool))

    def selected_ids(self) -> list[int]:
        """The ids of the highlighted points."""
        data = self._picked.data["data"]
        return [int(t) for t in data]

    def _select_rows(self, mask: np.ndarray) -> list[Track]:
        """Select and highlight the points where ``mask`` is true."""
        rows = np.flatnonzero(mask)
        self.selected = [self.tracks[int(t)] for t in self.ids[rows] if int(t) in self.tracks]
        self._picked.setData(x=self.xy[rows, 0], y=self.xy[rows, 1], data=self.ids[rows])
        self.selection_label.setText(f"{len(self.selected):,} songs selected")
        for w in self._selection_widgets:
            w.setVisible(bool(self.selected))
        return self.selected

    def _select_area(self, rect: QRectF) -> None:
        self.select(rect)

    def _legend_clicked(self, item: QListWidgetItem) -> None:
        """A legend entry clicked: select the songs of its colour."""
        self.select_legend_entry(int(item.data(Qt.ItemDataRole.UserRole)))
