import sqlite3
import threading

import numpy as np
import pytest

from engine.store import SQLiteStore, StoreError
from engine.store.sqlite import MIGRATIONS
from engine.tracks import Failure, TrackInfo

V = 1


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(tmp_path / "lib.sqlite3", feature_version=V)
    yield s
    s.close()


def info(path, size=10, mtime=1.0, **tags):
    return TrackInfo(path=path, size=size, mtime=mtime, **tags)


def test_schema_is_versioned_and_uses_wal(store, tmp_path):
    con = sqlite3.connect(tmp_path / "lib.sqlite3")
    assert con.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_reopening_keeps_data_and_newer_schema_is_refused(tmp_path):
    s = SQLiteStore(tmp_path / "a.db", feature_version=V)
    s.upsert_tracks([info("/m/a.mp3", title="A")])
    s.close()
    s = SQLiteStore(tmp_path / "a.db", feature_version=V)
    assert [t.title for t in s.tracks()] == ["A"]
    s.close()
    con = sqlite3.connect(tmp_path / "a.db")
    con.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    con.close()
    with pytest.raises(StoreError, match="newer Encore"):
        SQLiteStore(tmp_path / "a.db", feature_version=V)


def test_a_file_that_is_not_a_database_gives_a_clear_error(tmp_path):
    path = tmp_path / "broken.db"
    path.write_bytes(b"garbage" * 1000)
    with pytest.raises(StoreError, match="unusable"):
        SQLiteStore(path, feature_version=V)
    assert path.read_bytes() == b"garbage" * 1000  # nothing of the user's is touched


def test_features_round_trip_and_changes_trigger_reanalysis(store):
    store.upsert_tracks([info("/m/a.mp3"), info("/m/b.mp3")])
    a, b = store.tracks()
    assert [p for _, p in store.pending_analysis(V)] == ["/m/a.mp3", "/m/b.mp3"]
    vec = np.arange(5, dtype=np.float32)
    store.put_features([(a.id, vec), (b.id, vec + 1)], V)
    ids, X = store.features(V)
    assert ids.tolist() == [a.id, b.id] and X.dtype == np.float32
    np.testing.assert_array_equal(X[1], vec + 1)
    assert store.pending_analysis(V) == [] and all(t.analysed for t in store.tracks())

    # same size and mtime: tags refresh, features stay
    store.upsert_tracks([info("/m/a.mp3", title="New")])
    assert store.pending_analysis(V) == []
    # changed file: features dropped, so it is analysed again
    store.upsert_tracks([info("/m/a.mp3", size=11)])
    assert store.pending_analysis(V) == [(a.id, "/m/a.mp3")]
    # a feature-version bump re-analyses every row
    assert len(store.pending_analysis(V + 1)) == 2
    assert store.counts(V) == {
        "tracks": 2,
        "analysed": 1,
        "pending": 1,
        "analysis_failed": 0,
        "unreadable": 0,
        "failed": 0,
    }


def test_analysis_errors_are_kept_until_the_file_changes(store):
    store.upsert_tracks([info("/m/a.mp3")])
    (a,) = store.tracks()
    store.put_analysis_errors([(a.id, "not decodable audio: boom")])
    assert store.pending_analysis(V) == []
    assert [(f.stage, f.reason) for f in store.failures()] == [
        ("analyze", "not decodable audio: boom")
    ]
    store.upsert_tracks([info("/m/a.mp3", mtime=2.0)])
    assert store.failures() == [] and len(store.pending_analysis(V)) == 1


def test_scan_failures_and_removal(store):
    store.upsert_tracks([info("/m/a.mp3"), info("/m/b.mp3")])
    store.record_scan_failures([Failure("/m/bad.mp3", "scan", "empty file (0 bytes)", 0, 5.0)])
    assert store.file_states()["/m/bad.mp3"] == (0, 5.0)
    assert store.counts(V)["failed"] == 1
    assert store.remove_paths(["/m/a.mp3", "/m/bad.mp3"]) == 1
    assert [t.path for t in store.tracks()] == ["/m/b.mp3"]
    assert store.failures() == []


def test_features_for_a_removed_track_are_not_written(store):
    store.upsert_tracks([info("/m/a.mp3")])
    (a,) = store.tracks()
    store.remove_paths(["/m/a.mp3"])
    store.put_features([(a.id, np.ones(3, np.float32))], V)
    assert len(store.features(V)[0]) == 0


def test_each_thread_gets_its_own_connection(store):
    store.upsert_tracks([info("/m/a.mp3")])
    seen = []

    def worker(n):
        store.upsert_tracks([info(f"/m/{n}.mp3")])
        seen.append(len(store.tracks()))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.tracks()) == 5 and len(seen) == 4


def test_failed_transaction_leaves_nothing_behind(store):
    store.upsert_tracks([info("/m/a.mp3")])
    with pytest.raises(Exception):  # noqa: B017 - any error inside the transaction
        store.upsert_tracks([info("/m/b.mp3"), object()])  # type: ignore[list-item]
    assert [t.path for t in store.tracks()] == ["/m/a.mp3"]


def test_folders_and_meta(store):
    store.add_folders(["/m", "/n", "/m"])
    assert store.folders() == ["/m", "/n"]
    assert store.get_meta("x") is None
    store.set_meta("x", "1")
    assert store.get_meta("x") == "1"
