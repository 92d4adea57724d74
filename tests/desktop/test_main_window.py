"""The window as a user drives it: add music, play, watch up-next, radio, failures."""

import shutil
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop.failures_dialog import FailuresDialog
from engine.library import Library, run
from tests.helpers import PER_STYLE, Heartbeat, close_window, open_window, style_of, write_songs

pytestmark = pytest.mark.slow


def test_first_launch_invites_to_add_music(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path / "home")
    assert window.view.currentIndex() == 0  # the empty state
    assert not window.failed_button.isVisible()
    assert "Play a song" in window.up_next.status.text()
    # one welcome, not empty panes
    docks = (window.browser, window.up_next, window.map, window.clusters)
    assert window.view.isVisible() and not any(d.isVisible() for d in docks)
    close_window(qtbot, window)


def test_adding_a_folder_fills_the_library_without_freezing_the_window(qtbot, tmp_path, music_dir):
    music = tmp_path / "music"
    for style in ("Pulse Techno", "Ambient Pads"):
        shutil.copytree(music_dir / style, music / style)
    (music / "broken.mp3").write_bytes(b"not really an mp3\n" * 100)

    window = open_window(qtbot, tmp_path / "home")
    workers: dict[str, threading.Thread] = {}

    def on_thread_of_use(name: str) -> None:
        work = getattr(window.library, name)

        def wrapped(*args: object, **kwargs: object) -> object:
            workers[name] = threading.current_thread()  # runs where it is iterated
            return (yield from work(*args, **kwargs))

        setattr(window.library, name, wrapped)

    for name in ("scan", "run_passes", "train"):
        on_thread_of_use(name)
    beat = Heartbeat()
    window.add_paths([str(music)])
    assert window.jobs.busy and window.job_status.isVisible()
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=180_000)
    beat.timer.stop()

    assert window.view.model.rowCount() == 2 * PER_STYLE
    assert all(t.analysed for t in window.view.model.tracks())
    assert window.library.model_card() is not None
    assert window.failed_button.isVisible() and "1 failed" in window.failed_button.text()
    assert all(d.isVisible() for d in (window.browser, window.up_next, window.map))
    assert not window.job_status.isVisible()
    # The window stays responsive because every step runs off the GUI thread (the
    # stall itself is timing, measured and printed, not asserted: machines are noisy).
    assert set(workers) == {"scan", "run_passes", "train"}
    assert all(t is not threading.main_thread() for t in workers.values())
    print(f"longest GUI-thread stall while scanning, analysing, training: {beat.longest:.3f} s")
    close_window(qtbot, window)


def test_playing_fills_up_next_and_radio_plays_the_nearest_song(qtbot, trained_home):
    window = open_window(qtbot, trained_home)
    assert window.view.model.rowCount() == 5 * PER_STYLE
    seed = window.view.model.tracks()[0]
    window.play(seed)
    qtbot.waitUntil(lambda: len(window.up_next.tracks) == 5, timeout=30_000)
    suggestions = window.up_next.tracks
    assert seed.id not in {t.id for t in suggestions}
    assert sum(style_of(t.path) == style_of(seed.path) for t in suggestions) >= 4
    assert window.up_next.list.count() == 5
    assert "%" in window.up_next.list.item(0).text()
    assert window.now_playing.title.text() == seed.title

    # playback really advances (offscreen, with no audio device)
    qtbot.waitUntil(lambda: window.player.position() > 200, timeout=15_000)
    assert window.player.playing

    # the song ends: radio continues with the first suggestion, never repeating the seed
    window.player.ended.emit(seed)
    assert window.player.track.id == suggestions[0].id
    qtbot.waitUntil(
        lambda: (
            len(window.up_next.tracks) == 5
            and window.up_next.status.text().endswith(f"“{suggestions[0].title}”")
        ),
        timeout=30_000,
    )
    assert seed.id not in {t.id for t in window.up_next.tracks}

    # radio off: library order instead
    window.up_next.radio.setChecked(False)
    after = window.view.track_after(window.player.track)
    window.playback.next()
    assert after is not None and window.player.track.id == after.id
    close_window(qtbot, window)


def test_skipping_a_suggestion_early_is_remembered_and_shown(qtbot, trained_home):
    window = open_window(qtbot, trained_home)
    seed = window.view.model.tracks()[0]
    window.play(seed)
    qtbot.waitUntil(lambda: len(window.up_next.tracks) == 5, timeout=30_000)
    first = window.up_next.tracks[0]
    window.play(first)  # the listener picks the first suggestion …
    window.playback.next()  # … and skips it at once (recorded off the GUI thread)
    qtbot.waitUntil(
        lambda: window.library._store.skips_for_seed(seed.id) == {first.id: 1}, timeout=10_000
    )

    window.play(seed)
    qtbot.waitUntil(lambda: len(window.up_next.tracks) == 5, timeout=30_000)
    items = [window.up_next.list.item(i).text() for i in range(5)]
    ids = [t.id for t in window.up_next.tracks]
    assert first.id not in ids or "skipped 1× after this song" in items[ids.index(first.id)]
    window.forget_skips()
    qtbot.waitUntil(lambda: "Forgot" in window.statusBar().currentMessage(), timeout=10_000)
    assert window.library._store.skip_totals() == {}
    close_window(qtbot, window)


def test_more_like_the_selection_and_save_up_next_as_playlist(qtbot, trained_home, tmp_path):
    from engine.playlist import read_m3u8

    window = open_window(qtbot, trained_home)
    view = window.view
    rows = view.proxy.rowCount()
    selection = view.table.selectionModel()
    for row in (0, rows - 1):
        selection.select(
            view.proxy.index(row, 0),
            selection.SelectionFlag.Select | selection.SelectionFlag.Rows,
        )
    chosen = view.selected_tracks()
    assert len(chosen) == 2
    window.more_like_selection()
    qtbot.waitUntil(lambda: len(window.up_next.tracks) == 5, timeout=30_000)
    assert "like these 2 songs" in window.up_next.status.text()
    assert {t.id for t in chosen}.isdisjoint(t.id for t in window.up_next.tracks)

    window.play(chosen[0])
    qtbot.waitUntil(lambda: len(window.up_next.tracks) == 5, timeout=30_000)
    playlist = tmp_path / "radio.m3u8"
    window.save_up_next(str(playlist))
    paths = read_m3u8(playlist)
    assert paths == [chosen[0].path] + [t.path for t in window.up_next.tracks]
    assert playlist.read_text(encoding="utf-8").startswith("#EXTM3U\n#EXTINF:")
    close_window(qtbot, window)


def test_keyboard_shortcuts(qtbot, trained_home):
    window = open_window(qtbot, trained_home)
    window.activateWindow()
    QTest.keyClick(window, Qt.Key.Key_Space)  # nothing playing: starts the first song
    assert window.player.track is not None
    qtbot.waitUntil(lambda: window.player.playing, timeout=10_000)
    QTest.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not window.player.playing, timeout=10_000)
    first = window.player.track
    QTest.keyClick(window, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert window.player.track.id != first.id
    QTest.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.ControlModifier)
    assert window.player.track.id == first.id
    QTest.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.view.search.hasFocus()
    close_window(qtbot, window)


def test_search_box_filters_the_table(qtbot, trained_home):
    window = open_window(qtbot, trained_home)
    window.view.search.setText("bell")
    qtbot.waitUntil(lambda: window.view.proxy.rowCount() == PER_STYLE, timeout=3000)
    close_window(qtbot, window)


def test_unplayable_and_vanished_files_are_skipped_with_a_message(qtbot, tmp_path, music_dir):
    music = tmp_path / "music"
    shutil.copytree(music_dir / "Bell Minimal", music / "Bell Minimal")
    home = tmp_path / "home"
    library = Library(home)
    from engine.library import run

    run(library.scan([str(music)]))
    library.close()
    window = open_window(qtbot, home)
    window.up_next.radio.setChecked(False)
    tracks = window.view.model.tracks()
    messages = []
    window.playback.message.connect(messages.append)
    gone = tracks[0]
    (music / "Bell Minimal" / gone.path.split("/")[-1]).unlink()
    window.play(gone)
    qtbot.waitUntil(lambda: window.player.track.id != gone.id, timeout=10_000)
    assert any("gone from disk" in m for m in messages)
    assert window.player.track.id == window.view.track_after(gone).id

    broken = tracks[2]
    with open(broken.path, "wb") as fh:
        fh.write(b"garbage" * 1000)
    window.play(broken)
    qtbot.waitUntil(lambda: window.player.track.id != broken.id, timeout=15_000)
    assert any("Cannot play" in m and broken.title in m for m in messages)
    close_window(qtbot, window)


def test_failures_dialog_lists_reasons(qtbot):
    from engine.tracks import Failure

    dialog = FailuresDialog([Failure("/m/a.mp3", "scan", "empty file (0 bytes)")])
    qtbot.addWidget(dialog)
    assert dialog.tree.topLevelItemCount() == 1
    assert dialog.tree.topLevelItem(0).text(2) == "empty file (0 bytes)"


def test_a_rescan_trains_when_the_model_is_missing(qtbot, tmp_path, music_dir):
    music = tmp_path / "music"
    shutil.copytree(music_dir / "Bell Minimal", music / "Bell Minimal")
    from engine.library import run

    library = Library(tmp_path / "home")
    run(library.scan([str(music)]))
    library.close()
    window = open_window(qtbot, tmp_path / "home")  # starts with a rescan; no model yet
    qtbot.waitUntil(lambda: window.library.model_card() is not None, timeout=120_000)
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=30_000)
    assert all(t.analysed for t in window.view.model.tracks())
    close_window(qtbot, window)


def test_choosing_a_shared_mongodb_library(qtbot, tmp_path, mongo_server):
    from engine.paths import store_setting
    from engine.store.mongo import MongoStore

    home = tmp_path / "home"
    window = open_window(qtbot, home)
    window.choose_store("postgres://nope")
    qtbot.waitUntil(lambda: "mongodb://" in window.statusBar().currentMessage(), timeout=10_000)
    assert store_setting(home) is None
    uri = f"{mongo_server}/shared"
    window.choose_store(uri)
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=20_000)
    assert store_setting(home) == uri
    assert "next start" in window.statusBar().currentMessage()
    assert oct((home / "store.json").stat().st_mode & 0o777) == "0o600"
    close_window(qtbot, window)
    reopened = Library(home)
    assert isinstance(reopened._store, MongoStore)
    reopened.close()
    window = open_window(qtbot, home)
    assert "shared library mongodb://" in window.counts.text()
    window.choose_store("")
    assert store_setting(home) is None
    close_window(qtbot, window)


def test_the_window_remembers_the_session(qtbot, trained_home):
    from PySide6.QtCore import Qt

    window = open_window(qtbot, trained_home)
    song = window.view.model.tracks()[3]
    window.play(song)
    # played for a while (no seek: stopping Qt's FFmpeg player just after a seek can hang)
    qtbot.waitUntil(lambda: window.player.position() >= 1500, timeout=15_000)
    window.player.set_volume(33)
    window.up_next.radio.setChecked(False)
    window.view.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    window.view.search.setText("Pulse")
    window.clusters.close()  # the user's choice of panes stays
    close_window(qtbot, window)

    again = open_window(qtbot, trained_home)
    assert not again.clusters.isVisible() and again.browser.isVisible()
    assert again.map.isVisible() and again.up_next.isVisible()
    assert again.player.volume() == 33
    assert not again.up_next.radio.isChecked()
    header = again.view.table.horizontalHeader()
    assert header.sortIndicatorSection() == 0
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    assert again.view.search.text() == "Pulse"
    # the song is back, paused where it was, and up next fills for it
    qtbot.waitUntil(lambda: again.player.track is not None, timeout=15_000)
    assert again.player.track.id == song.id and not again.player.playing
    qtbot.waitUntil(lambda: again.player.position() >= 1200, timeout=15_000)
    qtbot.waitUntil(lambda: len(again.up_next.tracks) == 5, timeout=30_000)
    close_window(qtbot, again)


def test_the_playing_row_is_marked_and_show_playing_finds_it(qtbot, trained_home):
    from PySide6.QtCore import Qt

    window = open_window(qtbot, trained_home)
    model = window.view.model
    song = model.tracks()[7]
    window.play(song)
    row = model.row_of(song.id)
    assert model.index(row, 1).data(Qt.ItemDataRole.FontRole).bold()
    assert model.index(row, 0).data(Qt.ItemDataRole.DecorationRole) is not None
    other = model.row_of(model.tracks()[0].id)
    assert model.index(other, 0).data(Qt.ItemDataRole.FontRole) is None
    # hidden by a search, scrolled away: Ctrl+L brings it back and selects it
    window.view.search.setText("no such song anywhere")
    window.view.proxy.set_search("no such song anywhere")
    window.view.table.clearSelection()
    window.show_playing_action.trigger()
    assert window.view.search.text() == ""
    assert window.view.selected_tracks() == [song]
    close_window(qtbot, window)


def test_the_queue_plays_first_in_the_order_the_listener_sets(qtbot, trained_home):
    from PySide6.QtCore import QModelIndex, Qt
    from PySide6.QtTest import QTest

    window = open_window(qtbot, trained_home)
    songs = window.view.model.tracks()
    queue = window.up_next.queue
    assert not queue.isVisibleTo(window)  # nothing queued: no empty box
    window.play(songs[0])
    window.view.enqueue_requested.emit([songs[1], songs[2]])  # "Add to queue"
    window.view.play_next_requested.emit([songs[3]])  # "Play next"
    assert [t.id for t in queue.tracks()] == [songs[3].id, songs[1].id, songs[2].id]
    assert queue.isVisibleTo(window) and "3 songs" in queue.caption.text()
    # drag the last song to the top
    queue.list.model().moveRows(QModelIndex(), 2, 1, QModelIndex(), 0)
    assert [t.id for t in window.playback.queue] == [songs[2].id, songs[3].id, songs[1].id]
    assert [t.id for t in queue.tracks()] == [songs[2].id, songs[3].id, songs[1].id]
    # Delete removes the selected song
    queue.list.setCurrentRow(2)
    queue.list.item(2).setSelected(True)
    QTest.keyClick(queue.list, Qt.Key.Key_Delete)
    assert [t.id for t in window.playback.queue] == [songs[2].id, songs[3].id]
    # the queue plays before up next, and empties as it plays
    window.playback.next()
    assert window.player.track.id == songs[2].id
    assert [t.id for t in queue.tracks()] == [songs[3].id]
    close_window(qtbot, window)


def test_shuffle_and_repeat_from_the_menu_and_the_transport_bar(qtbot, trained_home):
    window = open_window(qtbot, trained_home)
    songs = window.view.model.tracks()
    window.up_next.radio.setChecked(False)
    window.shuffle_action.trigger()
    assert window.now_playing.shuffle_button.isChecked() and window.playback.rules.shuffle
    window.now_playing.shuffle_button.click()
    assert not window.shuffle_action.isChecked() and not window.playback.rules.shuffle
    # the transport button cycles off → all → one; the menu follows
    window.now_playing.repeat_button.click()
    window.now_playing.repeat_button.click()
    assert window.playback.rules.repeat.value == "one"
    assert window.repeat_actions[window.playback.rules.repeat].isChecked()
    window.play(songs[4])
    window.player.ended.emit(songs[4])  # the song ends: it plays again
    assert window.player.track.id == songs[4].id
    window.playback.next()  # an explicit skip moves on
    assert window.player.track.id == songs[5].id
    close_window(qtbot, window)


def test_why_not_in_up_next_answers_for_the_song_asked_about(qtbot, trained_home):
    window = open_window(qtbot, trained_home)
    tracks = window.view.model.tracks()
    window.view.why_not_requested.emit(tracks[3])
    assert "Play a song first" in window.up_next.why_not.text()
    window.play(tracks[0])
    qtbot.waitUntil(lambda: len(window.up_next.tracks) == 5, timeout=30_000)
    first = window.up_next.tracks[0]
    window.view.why_not_requested.emit(first)
    qtbot.waitUntil(lambda: window.up_next.why_not.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: "is number 1 in up next" in window.up_next.why_not.text())
    shown = {t.id for t in window.up_next.tracks} | {tracks[0].id}
    other = next(t for t in reversed(tracks) if t.id not in shown)
    window.view.why_not_requested.emit(other)
    qtbot.waitUntil(lambda: f"“{other.title}”" in window.up_next.why_not.text())
    text = window.up_next.why_not.text()
    assert "songs sound nearer" in text or "left out because" in text, text
    window.playback.next()  # another song: the answer was about the last one
    assert not window.up_next.why_not.isVisible()
    close_window(qtbot, window)


def test_while_a_job_trains_up_next_waits_without_stale_advice(qtbot, tmp_path):
    from desktop.main_window import MainWindow

    music = tmp_path / "music"
    write_songs(music, 6, seconds=2.0)
    library = Library(tmp_path / "home")
    run(library.scan([str(music)]))  # scanned, not analysed: the window's job does the rest
    gate, train = threading.Event(), library.train

    def held_train(*args: object, **kwargs: object) -> object:
        gate.wait(60)  # training waits until the test has looked
        return (yield from train(*args, **kwargs))

    library.train = held_train
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.counts.text() == "6 tracks · 6 analysed", timeout=60_000)
    assert window.jobs.busy
    window.play(window.view.model.tracks()[0])
    status = window.up_next.status.text()
    assert "Rescan and retrain" not in status and "still listening" in status
    gate.set()
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=60_000)
    # the job ends: the counts are the library's, and up next fills by itself
    assert window.counts.text() == "6 tracks · 6 analysed · 6 auto-tagged"  # both passes
    qtbot.waitUntil(lambda: len(window.up_next.tracks) >= 1, timeout=30_000)
    close_window(qtbot, window)
