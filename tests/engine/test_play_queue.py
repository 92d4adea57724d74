"""The play queue's rules, without a player."""

from engine.playback.queue import (
    EARLY_SKIP_MS,
    RECENT_SECONDS,
    RESTART_AFTER_MS,
    PlayQueue,
    Repeat,
)
from engine.tracks import Track

SONGS = [Track(path=f"/m/{i}.ogg", size=1, mtime=0, id=i, title=f"song {i}") for i in range(8)]


def library_order(track):
    """The library as shown: songs 0..7 in order."""
    if track is None:
        return SONGS[0]
    return SONGS[track.id + 1] if track.id + 1 < len(SONGS) else None


def test_queued_songs_then_radio_then_library_order():
    q = PlayQueue(library_order)
    assert q.following(None) is SONGS[0]
    q.started(SONGS[0], None)
    q.set_up_next([SONGS[0], SONGS[5], SONGS[6]], seed=0)
    assert q.following(SONGS[0]) is SONGS[5]  # never the song playing
    first = q.play_all([SONGS[3], SONGS[4]])
    assert first is SONGS[3]
    q.started(SONGS[3], SONGS[0])
    assert q.following(SONGS[3]) is SONGS[4]  # the queue before up next
    q.started(SONGS[4], SONGS[3])
    q.set_up_next([SONGS[6], SONGS[2]], seed=4)  # the radio's answer for the new song
    assert q.following(SONGS[4]) is SONGS[6]
    q.radio = False
    assert q.following(SONGS[4]) is SONGS[5]  # library order: 4 → 5
    assert q.following(SONGS[7]) is None  # the end of the library


def test_only_an_early_skip_of_a_suggestion_is_feedback():
    q = PlayQueue(library_order)
    q.started(SONGS[0], None)
    q.set_up_next([SONGS[2], SONGS[3]], seed=0)
    q.started(SONGS[2], SONGS[0])
    assert q.skipped(SONGS[2], EARLY_SKIP_MS - 1) == (0, 2)
    q.started(SONGS[3], SONGS[2])
    assert q.skipped(SONGS[3], EARLY_SKIP_MS + 1) is None  # listened long enough
    q.set_up_next([SONGS[4]], seed=None)  # a journey or steered list: no lesson
    q.started(SONGS[4], SONGS[3])
    assert q.skipped(SONGS[4], 0) is None
    q.started(SONGS[1], SONGS[4])  # the listener's own choice
    assert q.skipped(SONGS[1], 0) is None


def test_previous_goes_back_or_restarts_and_history_counts():
    q = PlayQueue(library_order)
    q.started(SONGS[0], None, now=100.0)
    q.started(SONGS[1], SONGS[0], now=200.0)
    assert q.back(RESTART_AFTER_MS + 1) is None  # restart the current song
    assert q.back(0, now=300.0) is SONGS[0]
    assert q.back(0) is None  # nothing further back
    assert q.played_ids() == [0, 1, 0]
    assert q.recent_ids(now=200.0 + RECENT_SECONDS - 1) == {0, 1}
    assert q.recent_ids(now=300.0 + RECENT_SECONDS) == set()


def test_play_next_add_to_queue_reorder_and_remove():
    q = PlayQueue(library_order)
    q.started(SONGS[0], None)
    q.set_up_next([SONGS[7]], seed=0)
    q.enqueue([SONGS[3], SONGS[4]])
    q.play_next([SONGS[5]])
    assert [t.id for t in q.queued] == [5, 3, 4]
    q.move(2, 0)  # drag the last to the top
    assert [t.id for t in q.queued] == [4, 5, 3]
    q.remove([1])
    assert [(t.id, why) for t, why in q.upcoming(SONGS[0])] == [
        (4, "queued"),
        (3, "queued"),
        (7, "radio"),
    ]
    assert q.following(SONGS[0]) is SONGS[4]


def test_repeat_one_replays_on_ending_only_and_repeat_all_wraps():
    q = PlayQueue(library_order)
    q.radio = False
    q.repeat = Repeat.ONE
    assert q.following(SONGS[2], ended=True) is SONGS[2]
    assert q.following(SONGS[2]) is SONGS[3]  # an explicit skip moves on
    q.repeat = Repeat.OFF
    assert q.following(SONGS[7], ended=True) is None
    q.repeat = Repeat.ALL
    assert q.following(SONGS[7], ended=True) is SONGS[0]


def test_shuffle_plays_every_song_before_repeating_one():
    q = PlayQueue(library_order, lambda: SONGS, seed=3)
    q.radio, q.shuffle = False, True
    current, seen = None, []
    for _ in range(len(SONGS)):
        current = q.following(current, ended=True)
        q.started(current, None)
        seen.append(current.id)
    assert sorted(seen) == list(range(len(SONGS)))  # a permutation, not library order
    assert seen != sorted(seen)
    assert q.following(current, ended=True) is None  # all played, repeat off: the end
    q.repeat = Repeat.ALL
    assert q.following(current, ended=True) is not None
