"""Crash safety: kill -9 mid-analysis and mid-save, damaged databases and model files."""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np
import pytest
import soundfile as sf

from engine.analysis.features import FEATURE_VERSION, N_FEATURES
from engine.datasets.synth import STYLES, render
from engine.library import Library, LibraryError, recover_damaged_store, run
from engine.similarity.model import (
    CARD_FILE,
    LOCK_FILE,
    MODEL_FILE,
    NEXT_FILE,
    ModelError,
    SimilarityModel,
    family_weights,
    load_model,
)
from engine.store import SQLITE_FILE, DamagedStoreError, StoreError
from engine.store.recovery import damaged_store_folders
from tests.helpers import encore

STYLE_NAMES = sorted(STYLES)

ROOT = Path(__file__).resolve().parents[2]
VECTOR_BYTES = N_FEATURES * 4  # 98 float32


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    """Rows of ``sql`` from a read-only connection: inspecting never changes the file."""
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def children_of(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


# -- (a) kill -9 during analysis ---------------------------------------------------------

TRACKS = 30


@pytest.mark.slow
def test_kill_9_during_analysis_keeps_finished_work_and_resumes(tmp_path: Path) -> None:
    music, home = tmp_path / "music", tmp_path / "home"
    music.mkdir()
    for i in range(TRACKS):
        style = STYLE_NAMES[i % len(STYLE_NAMES)]
        sf.write(music / f"{i:02d} {style}.flac", render(style, i, seconds=30), 22050)

    # One worker, so results arrive at a steady pace and the kill lands mid-analysis
    # (they are written in batches of 16: the first batch is committed, the rest not).
    args = ["--home", str(home), "scan", str(music), "--workers", "1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = home / SQLITE_FILE
    written, workers = 0, []
    deadline = time.monotonic() + 120
    try:
        while written == 0:
            assert proc.poll() is None, "the scan ended before it could be killed"
            assert time.monotonic() < deadline, "no features were written in 2 minutes"
            time.sleep(0.02)
            if db.exists():
                try:
                    written = query(db, "SELECT COUNT(*) FROM features")[0][0]
                except sqlite3.OperationalError:
                    continue  # being created: no tables yet
        workers = children_of(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert workers, "the analysis worker should have been running"
        # the orphaned worker (and its resource tracker) notice and end
        killed_at = time.monotonic()
        while any(map(alive, workers)) and time.monotonic() < killed_at + 10:
            time.sleep(0.05)
        assert not any(map(alive, workers)), "workers outlived a killed encore"
        workers_lasted = time.monotonic() - killed_at
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in filter(alive, workers):
            os.kill(pid, signal.SIGKILL)  # only if the test failed: leave nothing behind

    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert query(db, "SELECT COUNT(*) FROM tracks") == [(TRACKS,)]
    rows = query(
        db,
        "SELECT f.track_id, f.version, length(f.vector), t.id FROM features f"
        " LEFT JOIN tracks t ON t.id = f.track_id",
    )
    before = {r[0]: r[1:] for r in query(db, "SELECT track_id, vector, analysed_at FROM features")}
    errors = query(db, "SELECT COUNT(*) FROM tracks WHERE error != ''")[0][0]
    kept = len(rows)
    # no half-written rows: whole vectors, of this version, each with its track
    assert all(v == FEATURE_VERSION and n == VECTOR_BYTES and t == tid for tid, v, n, t in rows)
    assert 0 < kept < TRACKS and errors == 0
    pending = TRACKS - kept

    out = encore(home, "analyze").stdout
    analysed = int(re.search(r"(\d+) analysed, (\d+) failed", out).group(1))
    assert analysed == pending  # only what was not finished, nothing twice
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert query(db, "SELECT COUNT(*) FROM features") == [(TRACKS,)]
    after = {r[0]: r[1:] for r in query(db, "SELECT track_id, vector, analysed_at FROM features")}
    assert all(after[tid] == row for tid, row in before.items())  # kept rows untouched
    print(
        f"\nkill -9 mid-analysis: {kept} of {TRACKS} tracks kept, {analysed} re-analysed;"
        f" workers gone {workers_lasted:.1f} s after the kill"
    )


# -- (b) kill -9 while a model is being saved -------------------------------------------


def synthetic_model(seed: int) -> SimilarityModel:
    """A trained-looking model without scikit-learn: distinct arrays for each seed."""
    rng = np.random.default_rng(seed)
    model = SimilarityModel(8)
    model.mean_ = rng.standard_normal(N_FEATURES).astype(np.float32)
    model.scale_ = np.ones(N_FEATURES, np.float32)
    model.weights_ = family_weights(model.weights)
    model.centroids_ = rng.standard_normal((8, N_FEATURES)).astype(np.float32)
    model.n_tracks_ = 100 + seed
    return model


# The child saves model 2 over model 1 and stops dead at one point of the save: it
# says where on stdout and waits to be killed.
SAVE_CHILD = """
import io, os, sys, time
from collections.abc import Callable
from typing import BinaryIO
import numpy as np
from pathlib import Path
import engine.similarity.model
from tests.engine.test_crash_safety import synthetic_model

folder, where, nth = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
calls = {"fsync": 0, "replace": 0}

def stop() -> None:
    print("stopped", flush=True)
    time.sleep(60)

def pausing(name: str, real: Callable[..., object]) -> Callable[..., object]:
    def call(*args: object) -> object:
        calls[name] += 1
        if where == name and calls[name] == nth:
            stop()
        return real(*args)
    return call

def half_dump(fh: BinaryIO, **arrays: object) -> None:  # killed while half written
    buffer = io.BytesIO()
    real_dump(buffer, **arrays)
    fh.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    fh.flush()
    stop()

real_dump = np.savez
if where == "dump":
    np.savez = half_dump
os.fsync = pausing("fsync", os.fsync)
os.replace = pausing("replace", os.replace)
synthetic_model(2).save(folder)
print("saved", flush=True)
"""

# (where, nth call) -> which model a later load finds. The save's steps: dump and
# fsync the model, fsync the card, rename the model to NEXT_FILE (replace 1), the
# card (replace 2: the commit), then NEXT_FILE to MODEL_FILE (replace 3).
KILL_POINTS = {
    ("dump", 1): 1,
    ("fsync", 1): 1,
    ("fsync", 2): 1,
    ("replace", 1): 1,
    ("replace", 2): 1,
    ("replace", 3): 2,
    ("fsync", 5): 2,
}


def _kill_during_save(folder: Path, where: str, nth: int) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", SAVE_CHILD, str(folder), where, str(nth)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([child.stdout], [], [], 60)
        line = child.stdout.readline().strip() if ready else ""
        assert line == "stopped", (where, nth, line, child.stderr.read() if not ready else "")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        child.stdout.close()
        child.stderr.close()


@pytest.mark.slow
def test_kill_9_at_every_step_of_a_save_leaves_a_model_that_loads(tmp_path: Path) -> None:
    models = {seed: synthetic_model(seed) for seed in (1, 2)}
    for (where, nth), expected in KILL_POINTS.items():
        folder = tmp_path / f"{where}-{nth}"
        models[1].save(folder)
        _kill_during_save(folder, where, nth)
        model, card = load_model(folder)  # the previous model, or the new one: never none
        np.testing.assert_array_equal(model.centroids_, models[expected].centroids_)
        assert card.library_size == 100 + expected, (where, nth)
        # the next save tidies up and wins
        models[2].save(folder)
        assert load_model(folder)[1].library_size == 102
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            [LOCK_FILE, MODEL_FILE, CARD_FILE]
        )


def test_a_save_killed_after_its_commit_loads_the_new_model_at_once(tmp_path: Path) -> None:
    """The state a kill between the card's and the model's renames leaves behind."""
    synthetic_model(1).save(tmp_path)
    old_model = (tmp_path / MODEL_FILE).read_bytes()
    synthetic_model(2).save(tmp_path)
    # put the old model back under the usual name, the new one waiting beside it
    (tmp_path / MODEL_FILE).rename(tmp_path / NEXT_FILE)
    (tmp_path / MODEL_FILE).write_bytes(old_model)
    assert load_model(tmp_path)[1].library_size == 102


# -- (c) a damaged library database ------------------------------------------------------


def _library_with_folder(tmp_path: Path) -> tuple[Path, Path]:
    """A home whose library lists one music folder of 40 tracks (not analysed)."""
    music, home = tmp_path / "music", tmp_path / "home"
    music.mkdir()
    clip = render("Bell Minimal", 1, seconds=0.5)
    for i in range(40):
        sf.write(music / f"{i:02d} a song with a longish name.wav", clip, 22050)
    library = Library(home)
    report = run(library.scan([str(music)]))
    assert report.added == 40
    library.close()
    return home, music


def _damage_page(db: Path, table: str) -> None:
    """Overwrite the root page of ``table`` with garbage (the header stays valid)."""
    con = sqlite3.connect(db)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    con.close()
    with open(db, "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(np.random.default_rng(0).bytes(page_size))


def test_a_database_that_is_not_one_is_refused_with_advice(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    db = home / SQLITE_FILE
    db.write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    with pytest.raises(DamagedStoreError) as caught:
        Library(home)
    message = str(caught.value)
    assert isinstance(caught.value, StoreError)
    assert str(db) in message and "damaged" in message and "left it as it is" in message
    assert "-wal" in message and "encore scan" in message
    assert db.read_bytes().startswith(b"this is not a database")  # untouched

    result = encore(home, "status", check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("encore: error: the library database")
    assert "damaged" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1


def test_damage_inside_the_file_is_reported_not_a_traceback(tmp_path: Path) -> None:
    home, _ = _library_with_folder(tmp_path)
    _damage_page(home / SQLITE_FILE, "tracks")
    library = Library(home)  # the first page is fine: it opens...
    with pytest.raises(DamagedStoreError, match="malformed"):
        library.tracks()  # ...and the damage shows when it is read
    with pytest.raises(DamagedStoreError):
        library._store.check()  # what the window runs before it opens
    library.close()
    for args in (("status",), ("tracks",), ("scan",)):
        result = encore(home, *args, check=False)
        assert result.returncode == 1, (args, result.stderr)
        assert "is damaged" in result.stderr and "Traceback" not in result.stderr, args


def test_recovery_keeps_the_damaged_file_and_rebuilds_from_its_folders(tmp_path: Path) -> None:
    home, music = _library_with_folder(tmp_path)
    db = home / SQLITE_FILE
    _damage_page(db, "tracks")
    # as if the damaged library had been in use: a write-ahead log beside it
    (home / f"{SQLITE_FILE}-wal").write_bytes(b"log of the damaged database")
    damaged_bytes = db.read_bytes()

    kept = recover_damaged_store(home)
    assert kept.parent == home and kept.name.startswith(f"{SQLITE_FILE}.damaged-")
    assert kept.read_bytes() == damaged_bytes  # moved, never changed or deleted
    assert Path(f"{kept}-wal").read_bytes() == b"log of the damaged database"
    assert not (home / f"{SQLITE_FILE}-wal").exists()  # never replayed into the new one

    library = Library(home)
    library._store.check()
    assert library.folders() == [str(music)] and library.tracks() == []
    library.close()
    out = encore(home, "scan", "--no-analyze").stdout  # no DIR: the carried-over folder
    assert "40 added" in out
    # a second recovery never overwrites the first one's files
    second = recover_damaged_store(home)
    assert second != kept and kept.exists() and second.exists()


def test_recovery_of_an_unreadable_database_starts_with_no_folders(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / SQLITE_FILE).write_bytes(os.urandom(8192))
    assert damaged_store_folders(home / SQLITE_FILE) == []
    kept = recover_damaged_store(home)
    assert kept.exists() and kept.stat().st_size == 8192
    library = Library(home)
    assert library.folders() == []  # the user adds them again
    library.close()
    with pytest.raises(LibraryError, match="no library database"):
        recover_damaged_store(tmp_path / "empty-home")


# -- (d) damaged, foreign and malicious model files ----------------------------------------


class Payload:
    """Unpickling this creates ``marker``: what a hostile model file could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[[str], None], tuple[str]]:
        return (os.mkdir, (str(self.marker),))


def test_a_malicious_model_file_is_never_unpickled(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    synthetic_model(1).save(folder)
    marker = tmp_path / "pwned"
    joblib.dump(Payload(marker), tmp_path / "probe.joblib")
    joblib.load(tmp_path / "probe.joblib")  # the payload is live: loading it runs code
    assert marker.exists()
    marker.rmdir()

    for name in (MODEL_FILE, NEXT_FILE):  # swapped in, or waiting as a "new" model
        shutil.copy(tmp_path / "probe.joblib", folder / name)
        with pytest.raises(
            ModelError, match="does not match its card; retrain with `encore train`"
        ):
            load_model(folder)
        assert not marker.exists()
    # a card hand-edited to another checksum is no better than no card
    card = json.loads((folder / CARD_FILE).read_text())
    card["sha256"] = "0" * 64
    (folder / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ModelError, match="does not match its card"):
        load_model(folder)
    assert not marker.exists()
    # a planted pickle with its own checksum in the card: the checksum proves only that
    # the file is intact, not who wrote it; the model format holds arrays, never code
    for name in (MODEL_FILE, NEXT_FILE):
        shutil.copy(tmp_path / "probe.joblib", folder / name)
    card["sha256"] = hashlib.sha256((tmp_path / "probe.joblib").read_bytes()).hexdigest()
    (folder / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ModelError, match="damaged"):
        load_model(folder)
    assert not marker.exists()


@pytest.mark.slow
def test_a_damaged_or_foreign_model_asks_for_retraining(tmp_path: Path) -> None:
    home, music = tmp_path / "home", tmp_path / "music"
    music.mkdir()
    for i in range(12):
        style = STYLE_NAMES[i % len(STYLE_NAMES)]
        sf.write(music / f"{i:02d} {style}.flac", render(style, i, seconds=6), 22050)
    encore(home, "scan", str(music))
    encore(home, "train")
    models = home / "models"
    query = str(music / f"00 {STYLE_NAMES[0]}.flac")
    assert encore(home, "recommend", query, "--json").returncode == 0
    good_model, good_card = (models / MODEL_FILE).read_bytes(), (models / CARD_FILE).read_text()
    marker = tmp_path / "pwned"

    foreign = dict(json.loads(good_card), app="someone-else")
    damages = {
        "truncated model": (good_model[: len(good_model) // 2], good_card),
        "malicious model": (None, good_card),
        "card with mistyped fields": (
            good_model,
            json.dumps({**foreign, "app": "encore", "k": "8"}),
        ),
        "card of another app": (good_model, json.dumps(foreign)),
        "card that is not JSON": (good_model, "{ not json"),
    }
    for what, (model_bytes, card_text) in damages.items():
        if model_bytes is None:
            joblib.dump(Payload(marker), models / MODEL_FILE)
        else:
            (models / MODEL_FILE).write_bytes(model_bytes)
        (models / CARD_FILE).write_text(card_text)

        result = encore(home, "recommend", query, check=False)
        assert result.returncode == 1, (what, result.stderr)
        assert "retrain with `encore train`" in result.stderr, (what, result.stderr)
        assert "Traceback" not in result.stderr and result.stdout == "", what
        library = Library(home)
        with pytest.raises(LibraryError, match="retrain with `encore train`"):
            library.similar(query)
        library.close()
        assert not marker.exists(), what

    encore(home, "train")  # and retraining is the way out
    assert len(json.loads(encore(home, "recommend", query, "--json").stdout)) == 1
