"""Map, steering, journeys and clusters in the real window (offscreen)."""

import pytest
from PySide6.QtCore import QRectF, Qt

from desktop.map_view import PALETTE
from engine.playlist import read_m3u8
from tests.helpers import PER_STYLE, close_window, open_window, style_of

pytestmark = pytest.mark.slow


class FakeClick:
    def __init__(self, ctrl: bool = False) -> None:
        self.ctrl = ctrl

    def modifiers(self) -> Qt.KeyboardModifier:
        return Qt.KeyboardModifier.ControlModifier if self.ctrl else Qt.KeyboardModifier.NoModifier


def heading_to(window, destination) -> bool:
    """Up next ends at ``destination``."""
    tracks = window.up_next.tracks
    return bool(tracks) and tracks[-1].id == destination.id


def map_ready(window) -> bool:
    return len(window.map.ids) == 5 * PER_STYLE


def true_lines(window) -> int:
    """How many points the dotted true-neighbour lines have (3 per neighbour)."""
    xs, _ = window.map._true.getData()
    return 0 if xs is None else len(xs)


def test_the_map_dock_takes_a_third_of_the_window_by_default(qtbot, trained_home):
    assert not (trained_home / "window.ini").exists()  # no saved window state
    window = open_window(qtbot, trained_home)
    qtbot.waitUntil(lambda: window.map.isVisible())  # after the welcome a first launch shows
    qtbot.wait(100)  # let the shown window settle its layout
    assert window.dockWidgetArea(window.map) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert window.tabifiedDockWidgets(window.map) == [window.clusters]
    assert window.map.isVisible() and not window.map.visibleRegion().isEmpty()
    assert window.map.height() >= window.height() / 3
    close_window(qtbot, window)


def test_the_map_shows_every_song_and_click_plays_it(qtbot, trained_home):
    window = open_window(qtbot, trained_home)
    qtbot.waitUntil(lambda: map_ready(window), timeout=30_000)
    drawn = sum(len(layer.data) for layer in window.map._layers)
    assert drawn == 5 * PER_STYLE
    assert "songs placed by sound" in window.map.status.text()
    layer = window.map._layers[0]
    point = layer.points()[0]
    assert window.map._tip(0, 0, point.data())  # hover shows title and artist
    layer.sigClicked.emit(layer, [point], FakeClick())
    assert window.player.track.id == int(point.data())
    # the playing song is ringed and joined to its five suggestions
    qtbot.waitUntil(lambda: len(window.up_next.tracks) == 5, timeout=30_000)
    qtbot.waitUntil(lambda: len(window.map._next.data) == 5, timeout=5_000)
    assert len(window.map._current.data) == 1
    # Ctrl+click shows the true neighbours (5 dotted segments)
    layer.sigClicked.emit(layer, [point], FakeClick(ctrl=True))  # searched off the GUI thread
    qtbot.waitUntil(lambda: window.map._true.getData()[0] is not None, timeout=10_000)
    xs, _ = window.map._true.getData()
    assert len(xs) == 5 * 3
    # another song plays: the dotted lines of the last one go
    other = next(p for p in window.map._layers[-1].points() if int(p.data()) != point.data())
    window.map._layers[-1].sigClicked.emit(window.map._layers[-1], [other], FakeClick())
    qtbot.waitUntil(lambda: true_lines(window) == 0, timeout=30_000)
    assert int(window.map._current.data["data"][0]) == int(other.data())
    # the legend names each cluster in its colour, as the clusters dock lists them
    qtbot.waitUntil(lambda: len(window.clusters.clusters) > 0, timeout=30_000)
    groups = window.clusters.clusters
    assert [(e.name, e.colour, e.count) for e in window.map.legend_entries] == [
        (c.name, PALETTE[i], len(tracks)) for i, (c, tracks) in enumerate(groups)
    ]
    assert window.map.legend.count() == len(groups)
    for layer in window.map._layers:
        colour = layer.opts["brush"].color().name()
        members = next(c.track_ids for i, (c, _) in enumerate(groups) if PALETTE[i] == colour)
        assert {int(d) for d in layer.data["data"]} == set(members)
    window.map.colour_by.setCurrentIndex(1)  # by genre: one colour per style here
    assert len(window.map._layers) == 5
    genres = {t.genre for t in window.map.tracks.values()}
    assert {e.name for e in window.map.legend_entries} == genres
    close_window(qtbot, window)


def test_selecting_an_area_plays_those_songs_or_more_like_them(qtbot, trained_home):
    window = open_window(qtbot, trained_home)
    qtbot.waitUntil(lambda: map_ready(window), timeout=30_000)
    xy = window.map.xy
    x0, y0 = xy.min(axis=0)
    x1, y1 = xy.mean(axis=0)
    chosen = window.map.select(QRectF(float(x0), float(y0), float(x1 - x0), float(y1 - y0)))
    assert len(chosen) >= 2 and window.map.play_selection.isVisibleTo(window.map)
    assert window.map.selection_label.text() == f"{len(chosen)} songs selected"
    assert set(window.map.selected_ids()) == {t.id for t in chosen}  # ringed on the map
    window.map.more_like_selection.click()
    qtbot.waitUntil(lambda: len(window.up_next.tracks) == 5, timeout=30_000)
    assert f"like these {len(chosen)} songs" in window.up_next.status.text()
    window.map.play_selection.click()
    assert window.player.track.id == chosen[0].id
    assert [t.id for t in window.playback.queue] == [t.id for t in chosen[1:]]
    close_window(qtbot, window)


def test_steering_buttons_change_up_next_and_reset(qtbot, trained_home):
    window = open_window(qtbot, trained_home)
    seed = window.view.model.tracks()[0]
    window.play(seed)
    qtbot.waitUntil(lambda: len(window.up_next.tracks) == 5, timeout=30_000)
    before = [t.id for t in window.up_next.tracks]
    window.up_next.steer_buttons["brighter"].click()
    window.up_next.steer_buttons["brighter"].click()
    qtbot.waitUntil(lambda: "steered: brighter ×2" in window.up_next.status.text(), timeout=30_000)
    qtbot.waitUntil(lambda: len(window.up_next.tracks) == 5, timeout=30_000)
    assert [t.id for t in window.up_next.tracks] != before
    window.suggestions.reset_steering()
    qtbot.waitUntil(lambda: "sounds like" in window.up_next.status.text(), timeout=30_000)
    qtbot.waitUntil(lambda: len(window.up_next.tracks) == 5, timeout=30_000)
    assert [t.id for t in window.up_next.tracks] == before
    close_window(qtbot, window)


def test_a_journey_fills_up_next_with_a_path_and_can_be_retargeted(qtbot, trained_home):
    window = open_window(qtbot, trained_home)
    tracks = window.view.model.tracks()
    start = tracks[0]
    end = next(t for t in tracks if style_of(t.path) != style_of(start.path))
    window.play(start)
    qtbot.waitUntil(lambda: len(window.up_next.tracks) == 5, timeout=30_000)
    window.suggestions.journey(end)
    qtbot.waitUntil(lambda: "Journey to" in window.up_next.status.text(), timeout=30_000)
    path = window.up_next.tracks
    assert path[-1].id == end.id and len({t.id for t in path}) == len(path) == 9
    assert start.id not in {t.id for t in path}
    # the radio follows the path; the next song's up next is the rest of the way
    window.playback.next()
    assert window.player.track.id == path[0].id
    qtbot.waitUntil(lambda: heading_to(window, end), timeout=30_000)
    assert len(window.up_next.tracks) == 8
    # re-target mid-way
    other = next(t for t in tracks if t.id not in {end.id, start.id, path[0].id})
    window.suggestions.journey(other)
    qtbot.waitUntil(lambda: heading_to(window, other), timeout=30_000)
    close_window(qtbot, window)


def test_clusters_list_their_songs_plays_and_saves_a_cluster(qtbot, trained_home, tmp_path):
    window = open_window(qtbot, trained_home)
    panel = window.clusters
    qtbot.waitUntil(lambda: panel.model.rowCount() > 0, timeout=30_000)
    clusters = panel.clusters
    assert panel.model.rowCount() == len(clusters)
    assert sum(len(tracks) for _, tracks in clusters) == 5 * PER_STYLE
    assert all(
        panel.model.index(i, 0).data() == f"{c.name}  ({len(tr)} songs)"
        for i, (c, tr) in enumerate(clusters)
    )
    # a group opens on its songs; playing one starts the group from it
    group = panel.model.index(1, 0)
    panel.tree.expand(group)
    songs = clusters[1][1]
    assert panel.model.rowCount(group) == len(songs)
    panel.play_from(panel.model.index(1, 0, group))
    assert window.player.track.id == songs[1].id
    assert [t.id for t in window.playback.queue] == [t.id for t in songs[2:] + songs[:1]]
    panel.tree.setCurrentIndex(panel.model.index(0, 0))
    panel.play_button.click()
    first = clusters[0][1]
    assert window.player.track.id == first[0].id
    assert [t.id for t in window.playback.queue] == [t.id for t in first[1:]]
    target = tmp_path / "cluster.m3u8"
    window.save_playlist(first, "x.m3u8", str(target))
    assert read_m3u8(target) == [t.path for t in first]
    close_window(qtbot, window)
