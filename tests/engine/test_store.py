import os
import sqlite3
import threading
import uuid

import numpy as np
import pytest

from engine.store import SQLiteStore, StoreError
from engine.store.sqlite import MIGRATIONS
from engine.tracks import Failure, TrackInfo

V = 1


@pytest.fixture(params=["sqlite", "mongo"])
def store(request, tmp_path):
    """Every test that uses this runs against both stores."""
    if request.param == "sqlite":
        s = SQLiteStore(tmp_path / "lib.sqlite3", feature_version=V)
    else:
        from engine.store.mongo import MongoStore

        base = request.getfixturevalue("mongo_server")
        s = MongoStore(f"{base}/t{uuid.uuid4().hex}", feature_version=V)
    yield s
    s.close()


def at_version(store, version):
    """The same library opened by an Encore that computes another feature version."""
    if isinstance(store, SQLiteStore):
        return SQLiteStore(store.path, feature_version=version)
    from engine.store.mongo import MongoStore

    return MongoStore(store._uri, feature_version=version)


def info(path, size=10, mtime=1.0, **tags):
    return TrackInfo(path=path, size=size, mtime=mtime, **tags)


def test_schema_is_versioned_and_uses_wal(tmp_path):
    SQLiteStore(tmp_path / "lib.sqlite3", feature_version=V).close()
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
    with pytest.raises(StoreError, match=r"is damaged .*left it as it is"):
        SQLiteStore(path, feature_version=V)
    assert path.read_bytes() == b"garbage" * 1000  # nothing of the user's is touched


def test_features_round_trip_and_changes_trigger_reanalysis(store):
    store.upsert_tracks([info("/m/a.mp3"), info("/m/b.mp3")])
    a, b = store.tracks()
    assert [p for _, p in store.pending_analysis()] == ["/m/a.mp3", "/m/b.mp3"]
    vec = np.arange(5, dtype=np.float32)
    store.put_features([(a.id, vec), (b.id, vec + 1)])
    ids, X = store.features()
    assert ids.tolist() == [a.id, b.id] and X.dtype == np.float32
    np.testing.assert_array_equal(X[1], vec + 1)
    assert store.pending_analysis() == [] and all(t.analysed for t in store.tracks())

    # same size and mtime: tags refresh, features stay
    store.upsert_tracks([info("/m/a.mp3", title="New")])
    assert store.pending_analysis() == []
    # changed file: features dropped, so it is analysed again
    store.upsert_tracks([info("/m/a.mp3", size=11)])
    assert store.pending_analysis() == [(a.id, "/m/a.mp3")]
    # a feature-version bump re-analyses every row
    assert len(at_version(store, V + 1).pending_analysis()) == 2  # a new feature version
    assert store.counts() == {
        "tracks": 2,
        "analysed": 1,
        "pending": 1,
        "analysis_failed": 0,
        "unreadable": 0,
        "failed": 0,
    }


def overwrite_vector(store, track_id, value):
    """Write a vector behind the store's back, as damage or a foreign program would."""
    if isinstance(store, SQLiteStore):
        con = sqlite3.connect(store.path)
        con.execute("UPDATE features SET vector = ? WHERE track_id = ?", (value, track_id))
        con.commit()
        con.close()
    else:
        store._db.features.update_one({"_id": track_id}, {"$set": {"vector": value}})


def test_damaged_vectors_are_left_out_and_listed(store):
    store.upsert_tracks([info(f"/m/{name}.mp3") for name in "abcde"])
    ids = [t.id for t in store.tracks()]
    store.put_features([(i, np.ones(3)) for i in ids])
    damaged = {
        ids[1]: b"xyz",  # not whole float32 values
        ids[2]: np.array([1, np.nan, 2], np.float32).tobytes(),
        ids[3]: np.ones(4, np.float32).tobytes(),  # another length than the others
        ids[4]: "text",
    }
    for track_id, value in damaged.items():
        overwrite_vector(store, track_id, value)
    found, X = store.features()
    assert found.tolist() == [ids[0]] and X.shape == (1, 3)
    assert store.damaged_features() == sorted(damaged)
    # with the length known, the rows are checked against it, not against each other
    if isinstance(store, SQLiteStore):
        sized = SQLiteStore(store.path, feature_version=V, feature_size=4)
    else:
        from engine.store.mongo import MongoStore

        sized = MongoStore(store._uri, feature_version=V, feature_size=4)
    assert sized.features()[0].tolist() == [ids[3]]
    assert sized.damaged_features() == sorted({*ids} - {ids[3]})
    sized.close()


def test_analysis_errors_are_kept_until_the_file_changes(store):
    store.upsert_tracks([info("/m/a.mp3")])
    (a,) = store.tracks()
    store.put_analysis_errors([(a.id, "not decodable audio: boom")])
    assert store.pending_analysis() == []
    assert [(f.stage, f.reason) for f in store.failures()] == [
        ("analyze", "not decodable audio: boom")
    ]
    store.upsert_tracks([info("/m/a.mp3", mtime=2.0)])
    assert store.failures() == [] and len(store.pending_analysis()) == 1


def test_errors_of_a_later_pass_are_kept_with_their_reason_until_the_file_changes(store):
    """The second pass's failures: per (track, pass), with reasons, in either store."""
    store.upsert_tracks([info(f"/m/{name}.mp3") for name in "abcd"])
    a, b, c, d = (t.id for t in store.tracks())
    store.put_features([(i, np.ones(3)) for i in (a, b, c, d)])
    store.put_external_features("pass", [(a, np.ones(2))])
    # an error replaces a vector; unknown tracks are skipped
    store.put_pass_errors("pass", [(a, "crashed"), (b, "no audio"), (999, "gone")])
    store.put_pass_errors("other", [(c, "elsewhere")])
    assert store.external_features("pass")[0].tolist() == []
    assert [(f.path, f.stage, f.reason) for f in store.pass_failures("pass")] == [
        ("/m/a.mp3", "pass", "crashed"),
        ("/m/b.mp3", "pass", "no audio"),
    ]
    assert [i for i, _ in store.missing_external("pass")] == [c, d]
    assert [i for i, _ in store.missing_external("pass", retry=lambda r: r == "crashed")] == [
        a,
        c,
        d,
    ]
    # a vector clears the error; a changed file loses it; a removed one takes it along
    store.put_external_features("pass", [(a, np.ones(2))])
    store.upsert_tracks([info("/m/b.mp3", mtime=2.0)])
    assert store.pass_failures("pass") == []
    store.put_pass_errors("pass", [(d, "no audio")])
    assert store.remove_paths(["/m/d.mp3"]) == 1
    assert store.pass_failures("pass") == []
    assert [f.reason for f in store.pass_failures("other")] == ["elsewhere"]
    assert store.clear_pass_errors("other") == 1 and store.pass_failures("other") == []
    # damaged rows are told apart from usable ones
    store.put_external_features("pass", [(c, np.array([1.0, np.inf]))])
    ids, X, damaged = store.checked_external_features("pass", 2)
    assert ids.tolist() == [a] and X.shape == (1, 2) and damaged == [c]


def test_an_older_library_gains_the_pass_errors_table_by_a_recorded_migration(tmp_path):
    path = tmp_path / "old.sqlite3"
    con = sqlite3.connect(path)
    for statement in ";".join(MIGRATIONS[:3]).split(";"):
        if statement.strip():
            con.execute(statement)
    con.execute("PRAGMA user_version = 3")
    con.execute("INSERT INTO tracks(path, size, mtime, added_at) VALUES ('/m/a.mp3', 1, 1.0, 0)")
    con.commit()
    con.close()
    store = SQLiteStore(path, feature_version=V)
    store.put_pass_errors("pass", [(1, "no audio")])
    assert [f.reason for f in store.pass_failures("pass")] == ["no audio"]
    store.close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 4
    con.close()


def test_scan_failures_and_removal(store):
    store.upsert_tracks([info("/m/a.mp3"), info("/m/b.mp3")])
    store.record_scan_failures([Failure("/m/bad.mp3", "scan", "empty file (0 bytes)", 0, 5.0)])
    assert store.file_states()["/m/bad.mp3"] == (0, 5.0)
    assert store.counts()["failed"] == 1
    assert store.remove_paths(["/m/a.mp3", "/m/bad.mp3"]) == 1
    assert [t.path for t in store.tracks()] == ["/m/b.mp3"]
    assert store.failures() == []


def test_features_for_a_removed_track_are_not_written(store):
    store.upsert_tracks([info("/m/a.mp3")])
    (a,) = store.tracks()
    store.remove_paths(["/m/a.mp3"])
    store.put_features([(a.id, np.ones(3, np.float32))])
    assert len(store.features()[0]) == 0


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


def test_skips_per_seed_totals_and_reset(store):
    store.upsert_tracks([info(f"/m/{n}.mp3") for n in "abc"])
    a, b, c = (t.id for t in store.tracks())
    store.record_skip(a, b, 1.0)
    store.record_skip(a, b, 2.0)
    store.record_skip(c, b, 3.0)
    store.record_skip(a, c, 4.0)
    assert store.skips_for_seed(a) == {b: 2, c: 1}
    assert store.skip_totals() == {b: 3, c: 1}
    assert store.reset_skips(c) == 2  # as seed (c->b) and as suggestion (a->c)
    assert store.skip_totals() == {b: 2}
    store.remove_paths(["/m/b.mp3"])  # a removed track takes its skips with it
    assert store.skip_totals() == {} and store.reset_skips() == 0


def test_tag_updates_and_external_feature_sets(store):
    store.upsert_tracks([info("/m/a.mp3", title="Old"), info("/m/b.mp3")])
    a, b = store.tracks()
    assert store.update_tags([(a.id, {"title": "New", "genre": "Folk"})]) == 1
    assert (store.tracks()[0].title, store.tracks()[0].genre) == ("New", "Folk")
    with pytest.raises(ValueError, match="not a tag field"):
        store.update_tags([(a.id, {"path": "/etc/passwd"})])
    store.put_external_features(
        "fma", [(b.id, np.arange(4)), (a.id, np.ones(4)), (999, np.ones(4))]
    )
    ids, X = store.external_features("fma")
    assert ids.tolist() == [a.id, b.id] and X.shape == (2, 4)
    with pytest.raises(ValueError, match="one length"):
        store.put_external_features("fma", [(a.id, np.ones(5))])
    assert store.external_features("other")[1].shape == (0, 0)


def test_paths_that_are_not_utf8_round_trip(store):
    odd = os.fsdecode(b"/m/caf\xe9.mp3")  # a Latin-1 name on a UTF-8 system
    store.upsert_tracks([info(odd), info("/m/ok.mp3")])
    assert sorted(t.path for t in store.tracks()) == sorted([odd, "/m/ok.mp3"])
    assert store.track_by_path(odd) is not None and odd in store.file_states()
    assert store.remove_paths([odd]) == 1


def test_writing_the_same_scan_twice_changes_nothing(store):
    rows = [info("/m/a.mp3", title="A"), info("/m/b.mp3", title="B")]
    store.upsert_tracks(rows)
    first = store.tracks()
    store.upsert_tracks(rows)  # e.g. a scan interrupted and run again
    assert store.tracks() == first
