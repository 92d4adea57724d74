"""The browser pane: artists → albums with covers, filtering the table, playing albums."""

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QImageReader, QPixmap

import desktop.covers as covers_module
from desktop.browser import SummaryRole
from desktop.covers import THUMBNAIL, CoverCache
from desktop.now_playing import COVER_SIZE
from desktop.tasks import TaskRunner
from engine.collection import Album
from engine.library import Library, run
from tests.helpers import close_window, open_window, write_songs

pytestmark = pytest.mark.slow


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """Two artists, three albums (folders name them: the files have no tags); one cover."""
    music = tmp_path / "music"
    write_songs(music / "Artist A" / "Album X", 3, seconds=1.0)
    write_songs(music / "Artist B" / "Album Y", 2, seconds=1.0)
    write_songs(music / "Artist B" / "Album Z", 1, seconds=1.0)
    cover = QImage(300, 150, QImage.Format.Format_RGB32)
    cover.fill(QColor("red"))
    assert cover.save(str(music / "Artist A" / "Album X" / "cover.png"))
    home = tmp_path / "home"
    library = Library(home)
    run(library.scan([str(music)]))
    library.close()
    return home


def row(window, artist: str, album: str | None = None) -> QModelIndex:
    model = window.browser.model
    for r in range(1, model.rowCount()):
        index = model.index(r, 0)
        if index.data() == artist:
            if album is None:
                return index
            for a in range(model.rowCount(index)):
                if model.index(a, 0, index).data() == album:
                    return model.index(a, 0, index)
    raise AssertionError(f"{artist} / {album} not in the browser")


def shown_titles(window) -> list[str]:
    return sorted(t.title for t in window.view.model.shown())


def test_picking_an_artist_or_album_filters_the_table_and_survives_a_rescan(qtbot, home):
    window = open_window(qtbot, home)
    browser, table = window.browser, window.view.model
    qtbot.waitUntil(lambda: table.rowCount() == 6)
    model = browser.model
    assert [model.index(r, 0).data() for r in range(model.rowCount())] == [
        "All music",
        "Artist A",
        "Artist B",
    ]
    assert model.index(0, 0).data(SummaryRole) == "2 artists · 6 songs"
    b = row(window, "Artist B")
    assert model.rowCount(b) == 2 and b.data(SummaryRole) == "2 albums · 3 songs"
    assert row(window, "Artist B", "Album Y").data(SummaryRole) == "2 songs"

    browser.tree.setCurrentIndex(row(window, "Artist B", "Album Y"))
    assert shown_titles(window) == ["Ambient Pads", "Pulse Techno"]
    assert "Album Y" in window.view.search.placeholderText()
    browser.tree.setCurrentIndex(b)
    assert table.rowCount() == 3
    window.view.search.setText("pulse")  # the search looks inside the artist only
    qtbot.waitUntil(lambda: table.rowCount() == 2)
    window.view.search.setText("")
    qtbot.waitUntil(lambda: table.rowCount() == 3)

    browser.tree.setCurrentIndex(row(window, "Artist B", "Album Y"))
    window.jobs.rescan_and_retrain()  # the library is sent again: the choice stays
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=60_000)
    assert browser.scope.label == "Artist B — Album Y" and table.rowCount() == 2

    # Ctrl+L on a song outside the album shows all music again, with the song selected
    song = next(t for t in table.tracks() if t.album == "Album X")
    window.play(song)
    window.show_playing_action.trigger()
    assert browser.scope.track_ids is None and table.rowCount() == 6
    assert window.view.selected_tracks() == [song]

    browser.tree.setCurrentIndex(row(window, "Artist B", "Album Z"))
    close_window(qtbot, window)
    window = open_window(qtbot, home)  # the next launch shows the same album
    qtbot.waitUntil(lambda: window.browser.scope.label == "Artist B — Album Z")
    assert [t.album for t in window.view.model.shown()] == ["Album Z"]
    close_window(qtbot, window)


def test_albums_show_their_cover_made_off_the_gui_thread_and_kept(qtbot, home, monkeypatch):
    threads = set()
    make = covers_module.make_thumbnail

    def recorded(library: Library, album: Album) -> QImage | None:
        threads.add(threading.current_thread())
        return make(library, album)

    monkeypatch.setattr(covers_module, "make_thumbnail", recorded)
    window = open_window(qtbot, home)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 3)
    x, y = row(window, "Artist A", "Album X"), row(window, "Artist B", "Album Y")
    x.data(Qt.ItemDataRole.DecorationRole), y.data(Qt.ItemDataRole.DecorationRole)  # ask
    covers, model = window.covers, window.browser.model
    for index in (x, y):
        qtbot.waitUntil(lambda i=index: covers.known(model.item(i).key), timeout=10_000)
    icon = x.data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(icon, QIcon) and not icon.isNull()
    assert threads and threading.main_thread() not in threads
    assert y.data(Qt.ItemDataRole.DecorationRole) is None  # no cover: a plain square
    thumbnails = list((home / "covers").glob("*.png"))
    assert len(thumbnails) == 1 and len(list((home / "covers").glob("*.none"))) == 1
    image = QImage(str(thumbnails[0]))
    assert (image.width(), image.height()) == (THUMBNAIL, THUMBNAIL // 2)  # kept its shape
    assert image.pixelColor(10, 10) == QColor("red")
    album = model.item(x)
    close_window(qtbot, window)

    # The next launch reads the thumbnail from disk: the cover is not looked for again.
    library = Library(home)
    monkeypatch.setattr(library, "album_cover", lambda paths: pytest.fail("read again"))
    runner = TaskRunner()  # the closed window's starts nothing more
    again = CoverCache(library, runner)
    assert again.icon(album) is None  # not in memory yet: asked for
    qtbot.waitUntil(lambda: again.known(album.key), timeout=10_000)
    assert not again.icon(album).isNull()
    runner.shutdown()
    library.close()


def test_one_albums_unreadable_cover_is_no_cover_and_the_others_still_come(
    qtbot: Any, home: Path
) -> None:
    """A cover.jpg that is a link to itself (ELOOP on every look) stops nothing."""
    y_folder = next(home.parent.glob("music/Artist B/Album Y"))
    loop = y_folder / "cover.jpg"
    loop.symlink_to(loop)
    window = open_window(qtbot, home)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 3)
    x, y = row(window, "Artist A", "Album X"), row(window, "Artist B", "Album Y")
    covers, model = window.covers, window.browser.model
    y.data(Qt.ItemDataRole.DecorationRole), x.data(Qt.ItemDataRole.DecorationRole)  # ask
    for index in (x, y):
        qtbot.waitUntil(lambda i=index: covers.known(model.item(i).key), timeout=10_000)
    assert y.data(Qt.ItemDataRole.DecorationRole) is None  # no cover: a plain square
    icon = x.data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(icon, QIcon) and not icon.isNull()
    close_window(qtbot, window)


def test_the_playing_songs_cover_is_decoded_off_the_gui_thread_and_small(
    qtbot: Any, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big cover is decoded (scaled to the bar) by a worker, never by the GUI thread."""
    x_folder = next(home.parent.glob("music/Artist A/Album X"))
    (x_folder / "cover.png").unlink()
    big = QImage(3000, 1500, QImage.Format.Format_RGB32)
    big.fill(QColor("red"))
    assert big.save(str(x_folder / "cover.jpg"), "JPEG")
    decoded: list[tuple[threading.Thread, QSize]] = []  # who decoded a picture, how big

    def record(cls: type, name: str, size_of: Callable[[object, object], QSize]) -> None:
        original = getattr(cls, name)

        def recorded(*args: object) -> object:
            result = original(*args)
            decoded.append((threading.current_thread(), size_of(args[0], result)))
            return result

        monkeypatch.setattr(cls, name, recorded)

    # every way Qt decodes bytes into pixels; the size it decoded to
    record(QImageReader, "read", lambda reader, image: image.size())
    record(QPixmap, "loadFromData", lambda pixmap, ok: pixmap.size())
    record(QImage, "loadFromData", lambda image, ok: image.size())
    record(QImage, "fromData", lambda data, image: image.size())
    window = open_window(qtbot, home)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 3)
    album = window.browser.model.item(row(window, "Artist A", "Album X"))
    window.play(window.view.model.tracks_with_ids(album.track_ids)[0])

    def reddish() -> bool:  # a JPEG's red is nearly red
        color = window.now_playing.cover.pixmap().toImage().pixelColor(5, 5)
        return color.red() > 200 and color.green() < 50 and color.blue() < 50

    qtbot.waitUntil(reddish, timeout=10_000)
    shown = window.now_playing.cover.pixmap()
    assert shown.width() <= COVER_SIZE * shown.devicePixelRatio()
    assert decoded, "the cover was decoded by none of the recorded means"
    assert all(thread is not threading.main_thread() for thread, _ in decoded), decoded
    assert all(size.width() <= 2 * COVER_SIZE for _, size in decoded), decoded  # scaled
    close_window(qtbot, window)


def test_double_click_plays_an_album_in_order_and_the_menu_queues_it(qtbot, home):
    window = open_window(qtbot, home)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 3)
    album = window.browser.model.item(row(window, "Artist A", "Album X"))
    window.browser.tree.doubleClicked.emit(row(window, "Artist A", "Album X"))
    assert window.player.track.id == album.track_ids[0]
    # the cover beside the files shows in the transport bar too (read off the GUI thread)
    red = QColor("red")
    qtbot.waitUntil(lambda: window.now_playing.cover.pixmap().toImage().pixelColor(5, 5) == red)
    assert [t.id for t in window.playback.queue] == album.track_ids[1:]
    other = window.browser.model.item(row(window, "Artist B", "Album Y"))
    window.browser.enqueue_requested.emit(other.track_ids)
    assert [t.id for t in window.playback.queue] == album.track_ids[1:] + other.track_ids
    close_window(qtbot, window)


def test_a_description_in_the_search_box_ranks_songs_by_their_auto_tags(qtbot, home):
    library = Library(home)
    run(library.analyze(workers=1))
    run(library.listen(workers=1))
    expected = [t.id for t, _ in library.describe("calm ambient")[0]]
    library.close()
    window = open_window(qtbot, home)
    table = window.view.model
    qtbot.waitUntil(lambda: table.rowCount() == 6)
    first = table.tracks()[0]
    assert first.autotags and first.autotags in table.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    window.view.search.setText("~calm ambient")
    qtbot.waitUntil(lambda: [t.id for t in table.shown()] == expected, timeout=10_000)
    assert "like “calm ambient”, best first" in window.statusBar().currentMessage()
    assert "read as calm (" in window.view.search.toolTip()
    window.view.search.setText("")  # back to the library in its sort order
    qtbot.waitUntil(lambda: table.rowCount() == 6 and table.shown() == table.tracks())
    close_window(qtbot, window)
