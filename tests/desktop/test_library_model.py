from PySide6.QtCore import Qt

from desktop.library_model import TrackFilterProxy, TrackRole, TrackTableModel
from desktop.library_view import LibraryView
from engine.tracks import Track, clock


def make_tracks(n: int) -> list[Track]:
    genres = ["Jazz", "Rock", "Ambient", "Folk"]
    return [
        Track(
            id=i + 1,
            path=f"/music/{i}.mp3",
            size=1,
            mtime=0,
            title=f"Song {i:06d}",
            artist=f"Artist {i % 97}",
            album=f"Album {i % 311}",
            genre=genres[i % 4],
            tracknumber=i % 12 + 1,
            duration=float(i % 400),
            analysed=i % 3 == 0,
        )
        for i in range(n)
    ]


def test_clock():
    assert clock(0) == "0:00"
    assert clock(61.4) == "1:01"
    assert clock(3723) == "1:02:03"
    assert clock(None) == "–:––"
    assert clock(0.31, tenths=True) == "0:00.3" and clock(40, tenths=True) == "0:40"


def test_columns_sorting_and_search(qtbot):
    model, proxy = TrackTableModel(), TrackFilterProxy()
    proxy.setSourceModel(model)
    model.set_tracks(make_tracks(50))
    assert proxy.rowCount() == 50 and proxy.columnCount() == 7
    assert proxy.headerData(0, Qt.Orientation.Horizontal) == "Title"
    first = proxy.index(0, 0)
    assert first.data() == "Song 000000"
    assert proxy.index(0, 4).data() == "0:00"
    assert proxy.index(0, 5).data() == "✓"

    proxy.sort(4, Qt.SortOrder.DescendingOrder)
    durations = [proxy.index(r, 0).data(TrackRole).duration for r in range(proxy.rowCount())]
    assert durations == sorted(durations, reverse=True)

    proxy.set_search("jazz   song 00004")  # every word must match some field
    titles = {proxy.index(r, 0).data() for r in range(proxy.rowCount())}
    assert titles == {"Song 000004", "Song 000040", "Song 000044", "Song 000048"}
    proxy.set_search("ROCK")  # case-insensitive
    assert proxy.rowCount() == sum(t.genre == "Rock" for t in make_tracks(50)) == 13
    proxy.set_search("")
    assert proxy.rowCount() == 50


def test_a_hundred_thousand_rows_load_sort_and_filter(qtbot):
    view = LibraryView()
    qtbot.addWidget(view)
    tracks = make_tracks(100_000)
    view.set_tracks(tracks)
    assert view.currentIndex() == 1
    view.proxy.sort(0, Qt.SortOrder.DescendingOrder)
    assert view.proxy.index(0, 0).data() == "Song 099999"
    view.search.setText("album 310")
    qtbot.waitUntil(lambda: view.proxy.rowCount() < 100_000, timeout=3000)
    expected = sum(
        all(w in f"{t.title} {t.artist} {t.album} {t.genre}".lower() for w in ("album", "310"))
        for t in tracks
    )
    assert 300 < expected < 1000
    assert view.proxy.rowCount() == expected


def test_track_after_follows_the_visible_order(qtbot):
    view = LibraryView()
    qtbot.addWidget(view)
    tracks = make_tracks(10)
    view.set_tracks(tracks)
    view.proxy.sort(0, Qt.SortOrder.AscendingOrder)
    assert view.track_after(None).id == tracks[0].id
    assert view.track_after(tracks[0]).id == tracks[1].id
    assert view.track_after(tracks[-1]) is None
    view.proxy.set_search("Rock")  # rows 1, 5, 9
    assert view.track_after(tracks[1]).id == tracks[5].id
    assert view.track_after(tracks[0]).id == tracks[1].id  # hidden current: start of view


def test_empty_library_shows_the_invitation(qtbot):
    view = LibraryView()
    qtbot.addWidget(view)
    view.set_tracks([])
    assert view.currentIndex() == 0
    with qtbot.waitSignal(view.add_folder_requested, timeout=1000):
        view.add_button.click()


def test_words_a_user_reads_are_the_same_everywhere(qtbot):
    from desktop.failures_dialog import FailuresDialog
    from engine.tracks import UNKNOWN_ARTIST, Failure, plural

    assert plural(1, "file") == "1 file" and plural(2, "file") == "2 files"
    assert plural(0, "song") == "0 songs"
    model = TrackTableModel()
    nameless = Track(id=1, path="/m/a.ogg", size=1, mtime=0, title="A", artist="")
    model.set_tracks([nameless])
    assert model.index(0, 1).data() == UNKNOWN_ARTIST == nameless.shown_artist
    dialog = FailuresDialog([Failure("/m/b.mp3", "analyze", "a reason " * 30)])
    qtbot.addWidget(dialog)
    label = dialog.findChild(type(dialog.layout().itemAt(0).widget()))
    assert label.text().startswith("1 file could not be used")
    assert dialog.tree.topLevelItem(0).toolTip(2) == "a reason " * 30  # the whole reason
