"""The map and clusters docks on their own, fed generated data (no audio, no model)."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from desktop.clusters_panel import BATCH, ClustersPanel
from desktop.map_view import OTHER, PALETTE, MapPanel
from engine.similarity.atlas import Cluster, Projection
from engine.tracks import Track


def fake_tracks(n: int) -> list[Track]:
    genres = ("Jazz", "Rock", "Ambient")
    return [
        Track(
            id=i + 1,
            path=f"/music/{i}.mp3",
            size=1,
            mtime=0,
            title=f"Song {i}",
            artist=f"Artist {i % 7}",
            genre=genres[i % 3],
        )
        for i in range(n)
    ]


def atlas_of(tracks: list[Track], sizes: list[int]) -> tuple[Projection, list[Cluster]]:
    """A projection where cluster ``c`` (``sizes[c]`` songs) sits around (c, c)."""
    assert sum(sizes) == len(tracks)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    rng = np.random.default_rng(0)
    xy = (labels[:, None] + rng.uniform(-0.3, 0.3, (len(tracks), 2))).astype(np.float32)
    ids = np.array([t.id for t in tracks], dtype=np.int64)
    clusters = [
        Cluster(c, f"Group {c}", [int(t) for t in ids[labels == c]])
        for c in sorted(range(len(sizes)), key=lambda c: -sizes[c])
    ]
    return Projection(ids, xy, labels.astype(np.int64), 0.5), clusters


def layer_ids(panel: MapPanel) -> dict[str, set[int]]:
    """The ids drawn in each colour."""
    return {
        layer.opts["brush"].color().name(): {int(d) for d in layer.data["data"]}
        for layer in panel._layers
    }


def true_lines(panel: MapPanel) -> int:
    xs, _ = panel._true.getData()
    return 0 if xs is None else len(xs)


class FakeClick:
    def modifiers(self) -> Qt.KeyboardModifier:
        return Qt.KeyboardModifier.NoModifier


# -- the map -----------------------------------------------------------------------------


def test_the_legend_names_every_colour_on_the_map(qtbot):
    tracks = fake_tracks(1_500)
    sizes = [300, 200, 150, 120, 100, 90, 80, 70, 60, 50, 45, 40, 35, 30, 30, 25, 25, 20, 15, 15]
    projection, clusters = atlas_of(tracks, sizes)
    panel = MapPanel()
    qtbot.addWidget(panel)
    panel.set_projection(projection, {t.id: t for t in tracks}, clusters)
    # the twelve largest clusters have a colour each, largest first; the rest are grey
    entries = panel.legend_entries
    assert [(e.name, e.colour, e.count) for e in entries[:12]] == [
        (c.name, PALETTE[i], len(c.track_ids)) for i, c in enumerate(clusters[:12])
    ]
    assert (entries[12].name, entries[12].colour) == ("8 smaller clusters", OTHER)
    assert entries[12].count == sum(len(c.track_ids) for c in clusters[12:])
    # the points of each colour are exactly the songs its entry names
    drawn = layer_ids(panel)
    for i, c in enumerate(clusters[:12]):
        assert drawn[PALETTE[i]] == set(c.track_ids)
    # the legend widget shows them, with a swatch of each colour
    assert panel.legend.isVisibleTo(panel) and panel.legend.count() == 13
    first = panel.legend.item(0)
    assert first.text() == f"{clusters[0].name}  (300)"
    assert first.icon().pixmap(8, 8).toImage().pixelColor(4, 4).name() == PALETTE[0]
    # clicking an entry selects (and rings) its songs
    panel.legend.itemClicked.emit(panel.legend.item(2))
    assert {t.id for t in panel.selected} == set(clusters[2].track_ids)
    assert set(panel.selected_ids()) == set(clusters[2].track_ids)
    # by genre: the legend follows
    panel.colour_by.setCurrentIndex(1)
    assert [(e.name, e.count) for e in panel.legend_entries] == [
        ("Jazz", 500),
        ("Rock", 500),
        ("Ambient", 500),
    ]
    assert layer_ids(panel)[PALETTE[1]] == {t.id for t in tracks if t.genre == "Rock"}


def test_a_hundred_thousand_points_draw_and_select_quickly(qtbot):
    tracks = fake_tracks(100_000)
    sizes = [100_000 // 200] * 200
    projection, clusters = atlas_of(tracks, sizes)
    panel = MapPanel()
    qtbot.addWidget(panel)
    start = time.perf_counter()
    panel.set_projection(projection, {t.id: t for t in tracks}, clusters)
    drawn = time.perf_counter() - start
    assert sum(len(layer.data) for layer in panel._layers) == 100_000
    assert len(panel._layers) == 13  # one scatter item per colour, not one per point
    start = time.perf_counter()
    panel.select_legend_entry(-1)  # the grey half: 94,000 songs
    selected = time.perf_counter() - start
    assert len(panel.selected_ids()) == 100_000 - 12 * 500
    print(f"\n100k points: drawn in {drawn:.2f} s, 94k selected in {selected:.2f} s")


def test_the_true_neighbours_go_when_another_song_plays(qtbot):
    tracks = fake_tracks(40)
    projection, clusters = atlas_of(tracks, [10, 10, 10, 10])
    panel = MapPanel()
    qtbot.addWidget(panel)
    panel.set_projection(projection, {t.id: t for t in tracks}, clusters)
    a, b = tracks[0], tracks[25]
    panel.show_playing(a, tracks[1:6])
    panel.show_neighbours(a, [t.id for t in tracks[6:11]])
    assert true_lines(panel) == 5 * 3
    panel.show_playing(a, tracks[11:16])  # the same song, new suggestions: they stay
    assert true_lines(panel) == 5 * 3
    panel.show_playing(b, tracks[26:31])
    assert true_lines(panel) == 0
    assert len(panel._current.data) == 1 and int(panel._current.data["data"][0]) == b.id
    # a neighbour shown for a song that is not playing stays until the song changes
    panel.show_neighbours(a, [t.id for t in tracks[6:11]])
    panel.show_playing(b, tracks[26:31])
    assert true_lines(panel) == 15
    panel.show_playing(None, [])
    assert true_lines(panel) == 0


def drag(panel: MapPanel, start: QPointF, end: QPointF, modifiers: Qt.KeyboardModifier) -> None:
    """A left-button drag on the plot between two map positions, as mouse events."""
    viewport = panel.plot.viewport()

    def at(point: QPointF) -> QPointF:
        return QPointF(panel.plot.mapFromScene(panel.box.mapViewToScene(point)))

    def send(kind: QEvent.Type, pos: QPointF, buttons: Qt.MouseButton) -> None:
        global_pos = QPointF(viewport.mapToGlobal(pos.toPoint()))
        button = Qt.MouseButton.LeftButton
        event = QMouseEvent(kind, pos, global_pos, button, buttons, modifiers)
        QApplication.sendEvent(viewport, event)

    a, b = at(start), at(end)
    send(QEvent.Type.MouseButtonPress, a, Qt.MouseButton.LeftButton)
    for f in np.linspace(0.1, 1.0, 8):
        QTest.qWait(15)  # pyqtgraph drops moves closer than 10 ms apart, as a hand never is
        send(QEvent.Type.MouseMove, a + (b - a) * float(f), Qt.MouseButton.LeftButton)
    send(QEvent.Type.MouseButtonRelease, b, Qt.MouseButton.NoButton)


def test_shift_drag_selects_and_rings_the_points_inside(qtbot):
    tracks = fake_tracks(40)
    projection, clusters = atlas_of(tracks, [10, 10, 10, 10])  # around (0,0) … (3,3)
    panel = MapPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 500)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_projection(projection, {t.id: t for t in tracks}, clusters)
    inside = {t.id for t in tracks[10:20]}  # the cluster around (1, 1)
    # a plain drag pans, selecting nothing
    before = panel.box.viewRange()
    drag(panel, QPointF(0.6, 0.6), QPointF(1.4, 1.4), Qt.KeyboardModifier.NoModifier)
    assert panel.box.viewRange() != before and panel.selected == []
    panel.plot.autoRange()
    drag(panel, QPointF(0.6, 0.6), QPointF(1.4, 1.4), Qt.KeyboardModifier.ShiftModifier)
    assert {t.id for t in panel.selected} == inside
    assert set(panel.selected_ids()) == inside  # ringed on the map
    assert panel.selection_label.text() == "10 songs selected"
    with qtbot.waitSignal(panel.play_these_requested) as played:
        panel.play_selection.click()
    assert [t.id for t in played.args[0]] == [t.id for t in tracks[10:20]]
    with qtbot.waitSignal(panel.more_like_requested) as asked:
        panel.more_like_selection.click()
    assert {t.id for t in asked.args[0]} == inside
    # clicking a ringed point still plays it
    ring = panel._picked
    with qtbot.waitSignal(panel.play_requested) as clicked:
        ring.sigClicked.emit(ring, [ring.points()[0]], FakeClick())
    assert clicked.args[0].id in inside
    panel.clear_selection_button.click()
    assert panel.selected == [] and panel.selected_ids() == []
    assert not panel.play_selection.isVisibleTo(panel)


# -- the clusters ------------------------------------------------------------------------


def groups_of(tracks: list[Track], sizes: list[int]) -> list[tuple[Cluster, list[Track]]]:
    out, at = [], 0
    for c, size in enumerate(sizes):
        members = tracks[at : at + size]
        out.append((Cluster(c, f"Group {c}", [t.id for t in members]), members))
        at += size
    return out


def double_click(widget: QWidget, pos: QPoint) -> None:
    """Press, release, double-click, release: what a desktop sends (QTest.mouseDClick
    leaves an item view mid-press in Qt 6, so it never sees the double-click)."""
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos)
    left = Qt.MouseButton.LeftButton
    event = QMouseEvent(
        QEvent.Type.MouseButtonDblClick,
        QPointF(pos),
        QPointF(widget.mapToGlobal(pos)),
        left,
        left,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)
    QTest.mouseRelease(widget, left, pos=pos)


def test_clusters_list_their_songs_and_play_from_one(qtbot):
    tracks = fake_tracks(30)
    groups = groups_of(tracks, [12, 10, 8])
    panel = ClustersPanel()
    qtbot.addWidget(panel)
    panel.resize(400, 600)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_clusters(groups)
    model, tree = panel.model, panel.tree
    assert model.rowCount() == 3
    assert [model.index(r, 0).data() for r in range(3)] == [
        "Group 0  (12 songs)",
        "Group 1  (10 songs)",
        "Group 2  (8 songs)",
    ]
    # each group's colour is its colour on the map
    swatch = model.index(1, 0).data(Qt.ItemDataRole.DecorationRole)
    assert swatch.pixmap(8, 8).toImage().pixelColor(4, 4).name() == PALETTE[1]
    group = model.index(1, 0)
    tree.expand(group)
    assert model.rowCount(group) == 10
    song = model.index(3, 0, group)  # group 1 is tracks[12:22]
    assert song.data() == f"{tracks[15].artist} — {tracks[15].title}"
    # double-clicking a song plays its group from that song
    tree.scrollTo(song)
    centre = tree.visualRect(song).center()
    with qtbot.waitSignal(panel.play_requested) as played:
        double_click(tree.viewport(), centre)
    assert [t.id for t in played.args[0]] == [t.id for t in tracks[15:22] + tracks[12:15]]
    # Play and Save act on the selected group, or on the group of the selected song
    tree.setCurrentIndex(song)
    with qtbot.waitSignal(panel.play_requested) as played:
        panel.play_button.click()
    assert [t.id for t in played.args[0]] == [t.id for t in tracks[12:22]]
    tree.setCurrentIndex(model.index(2, 0))
    with qtbot.waitSignal(panel.play_requested) as played:
        panel.play_button.click()
    assert [t.id for t in played.args[0]] == [t.id for t in tracks[22:30]]
    with qtbot.waitSignal(panel.save_requested) as saved:
        panel.save_button.click()
    assert saved.args[0] == "Group 2" and [t.id for t in saved.args[1]] == [
        t.id for t in tracks[22:30]
    ]
    # double-clicking a group opens it rather than playing it
    with qtbot.assertNotEmitted(panel.play_requested):
        centre = tree.visualRect(model.index(0, 0)).center()
        double_click(tree.viewport(), centre)
    assert tree.isExpanded(model.index(0, 0))


def test_a_big_library_lists_its_songs_only_when_a_group_is_opened(qtbot):
    tracks = fake_tracks(20_000)
    sizes = [12_000] + [1_000] * 8
    groups = groups_of(tracks, sizes)
    panel = ClustersPanel()
    qtbot.addWidget(panel)
    panel.resize(400, 600)
    panel.show()
    qtbot.waitExposed(panel)
    start = time.perf_counter()
    panel.set_clusters(groups)
    took = time.perf_counter() - start
    model, tree = panel.model, panel.tree
    assert model.rowCount() == 9
    assert [model.rowCount(model.index(r, 0)) for r in range(9)] == [0] * 9  # none listed yet
    assert model.hasChildren(model.index(0, 0))  # but each can be opened
    small = model.index(4, 0)
    tree.expand(small)
    assert model.rowCount(small) == 1_000
    assert [model.rowCount(model.index(r, 0)) for r in range(9) if r != 4] == [0] * 8
    # a huge group lists a batch at a time, the next when its end scrolls into view
    big = model.index(0, 0)
    start = time.perf_counter()
    tree.expand(big)
    opened = time.perf_counter() - start
    listed = model.rowCount(big)
    assert BATCH <= listed < 12_000
    tree.scrollTo(model.index(listed - 1, 0, big))
    qtbot.waitUntil(lambda: model.rowCount(big) > listed, timeout=2_000)
    tree.setCurrentIndex(big)
    with qtbot.waitSignal(panel.play_requested) as played:
        panel.play_button.click()
    assert len(played.args[0]) == 12_000  # the whole group, listed or not
    print(
        f"\n20k songs in 9 groups: set_clusters {took * 1000:.1f} ms, "
        f"opening the 12k group {opened * 1000:.1f} ms"
    )
