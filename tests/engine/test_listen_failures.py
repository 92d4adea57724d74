"""The second pass fails as the first does: what is not about the file (a crash, a time-out,
a model that cannot be loaded) is tried again; what is about the file is kept with its
reason until the file changes or the user retries; NaN or infinite output is such a
verdict, never a stored vector, and nothing stored can put a NaN into JSON output."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import uuid
from pathlib import Path

import numpy as np
import pytest

import engine.neural.musicnn as musicnn
import engine.passes.runner as runner_module
from engine.analysis.pool import CRASH_REASON
from engine.cli import main
from engine.library import Library, LibraryError, run
from engine.neural.embedding import (
    DAMAGED_NEURAL_REASON,
    NEURAL_FEATURES,
    NEURAL_VERSION,
    NOT_FINITE_REASON,
    VECTOR_SIZE,
)
from engine.store import SQLITE_FILE
from tests.engine.workers import analyse_or_fail
from tests.helpers import write_songs

#: The real passes, to put back when a test's "network gone wrong" is fixed.
REAL_ANALYSE = runner_module.analyse_file


def songs_named(folder: Path, *names: str, seconds: float = 4.0) -> list[Path]:
    """Generated songs whose file names are ``NN name.ogg`` (a worker reads the name)."""
    paths = write_songs(folder, len(names), seconds=seconds)
    return [
        p.rename(p.with_name(f"{i:02d} {n}.ogg"))
        for i, (p, n) in enumerate(zip(paths, names, strict=True))
    ]


@pytest.fixture(params=["sqlite", "mongo"])
def store_args(request: pytest.FixtureRequest) -> list[str]:
    """The CLI's global options for a library in each store (``--store URI`` or none)."""
    if request.param == "sqlite":
        return []
    base = request.getfixturevalue("mongo_server")
    return ["--store", f"{base}/listen{uuid.uuid4().hex}"]


def open_library(home: Path, store_args: list[str]) -> Library:
    return Library(home, store_uri=store_args[1] if store_args else None)


def cli(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    """``encore --home HOME ARGS`` in this process (where a monkeypatch applies)."""
    code = main(["--home", str(home), *args])
    out, err = capsys.readouterr()
    return code, out, err


def strict_json(text: str) -> object:
    """``text`` parsed as JSON proper: a bare NaN or Infinity fails."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def damaged_models(tmp_path: Path, damage: str) -> Path:
    """A copy of the shipped network's files, damaged as ``damage`` says."""
    models = tmp_path / "models"
    shutil.copytree(musicnn.MODELS_DIR, models)
    npz, graph = models / f"{musicnn.STEM}.npz", models / f"{musicnn.STEM}.onnx"
    if damage == "tampered weights":
        data = bytearray(npz.read_bytes())
        data[-100] ^= 1
        npz.write_bytes(bytes(data))
    elif damage == "missing graph":
        graph.unlink()
    elif damage == "damaged graph":
        graph.write_bytes(graph.read_bytes()[:1000])
    return models


@pytest.fixture
def analysed(tmp_path: Path) -> Library:
    write_songs(tmp_path / "music", 3, seconds=4.0)
    library = Library(tmp_path / "home")
    run(library.scan([str(tmp_path / "music")]))
    run(library.analyze(workers=1))
    yield library
    library.close()


@pytest.mark.parametrize("damage", ["tampered weights", "missing graph", "damaged graph"])
def test_a_model_that_cannot_be_loaded_stops_the_pass_and_every_track_is_heard_once_restored(
    analysed: Library,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    damage: str,
) -> None:
    library, home = analysed, analysed.home
    shipped = musicnn.MODELS_DIR
    monkeypatch.setattr(musicnn, "MODELS_DIR", damaged_models(tmp_path, damage))
    with pytest.raises(LibraryError, match="the neural model cannot be loaded: ") as stop:
        run(library.listen(workers=1))
    assert "3 tracks wait for it" in str(stop.value) and "\n" not in str(stop.value)
    # not one track marked: every one waits for the model
    assert library.neural_counts() == {
        "version": NEURAL_VERSION,
        "embedded": 0,
        "pending": 3,
        "failed": 0,
    }
    assert library.failures() == []
    problem = library.status()["neural"]["problem"]
    assert problem and musicnn.STEM in problem
    code, out, _ = cli(capsys, home, "status")
    assert code == 0 and f"cannot run: {problem}" in out
    code, _, err = cli(capsys, home, "find", "calm")
    assert code == 1 and "it cannot run: " in err
    # the CLI's analyze says so in one line and fails, its first pass kept
    code, out, err = cli(capsys, home, "analyze", "--workers", "1")
    assert code == 1 and "Analysis: 0 analysed, 0 failed" in out
    assert err.startswith("encore: error: the second pass (neural) stopped: ")

    monkeypatch.setattr(musicnn, "MODELS_DIR", shipped)  # repaired (reinstalled)
    assert library.status()["neural"]["problem"] is None
    code, out, err = cli(capsys, home, "analyze", "--workers", "1")
    assert code == 0, err
    assert "Second pass (neural): 3 embedded, 0 failed" in out
    assert library.neural_counts()["embedded"] == 3


def test_a_model_that_stops_loading_mid_run_stops_the_pass_without_a_verdict(
    analysed: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library, shipped = analysed, musicnn.MODELS_DIR
    models = damaged_models(tmp_path, "none")
    monkeypatch.setattr(musicnn, "MODELS_DIR", models)
    steps = library.listen(workers=1)
    assert next(steps).done == 0  # checked and usable: the workers start now…
    (models / f"{musicnn.STEM}.npz").write_bytes(b"not the weights")  # …with it damaged
    with pytest.raises(LibraryError, match="does not match its card"):
        list(steps)
    assert library.neural_counts() == {
        "version": NEURAL_VERSION,
        "embedded": 0,
        "pending": 3,
        "failed": 0,
    }
    assert library.failures() == []
    shutil.copy(shipped / f"{musicnn.STEM}.npz", models)  # repaired
    assert run(library.listen(workers=1)).embedded == 3


def test_nan_and_infinite_output_are_failures_with_their_reason_in_either_store(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    store_args: list[str],
) -> None:
    songs = songs_named(tmp_path / "music", "nan", "inf", "fine", "good")
    home = tmp_path / "home"
    code, _, err = cli(capsys, home, *store_args, "scan", str(tmp_path / "music"), "--fast-only")
    assert code == 0, err
    monkeypatch.setattr(runner_module, "analyse_file", analyse_or_fail)  # a network gone wrong
    library = open_library(home, store_args)
    report = run(library.listen(workers=1))
    assert (report.embedded, report.failed) == (2, 2)
    assert library.neural_counts() == {
        "version": NEURAL_VERSION,
        "embedded": 2,
        "pending": 0,
        "failed": 2,
    }
    ids, vectors = library.neural()
    assert len(ids) == 2 and np.isfinite(vectors).all()
    expected = [("neural", str(songs[i]), NOT_FINITE_REASON) for i in (0, 1)]
    assert sorted((f.stage, f.path, f.reason) for f in library.failures()) == expected
    status = library.status()
    assert [(f["stage"], f["path"], f["reason"]) for f in status["failures"]] == expected
    code, out, _ = cli(capsys, home, *store_args, "status")
    assert f"[neural] {songs[0]}: {NOT_FINITE_REASON}" in out
    assert "could not be embedded: 2" in out and "`encore analyze --retry-failed`" in out
    # a verdict on the file: not tried on every run…
    assert run(library.listen(workers=1)).failed == 0
    # …but by --retry-failed, which retries every pass (here the network is fixed)
    monkeypatch.setattr(runner_module, "analyse_file", REAL_ANALYSE)
    code, out, err = cli(capsys, home, *store_args, "analyze", "--retry-failed", "--workers", "1")
    assert code == 0, err
    assert "Second pass (neural): 2 embedded, 0 failed" in out
    assert library.failures() == []
    assert library.neural_counts()["embedded"] == 4
    library.close()


def test_a_changed_file_loses_its_second_pass_failure_and_is_heard_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_args: list[str]
) -> None:
    songs = songs_named(tmp_path / "music", "nan", "fine")
    library = open_library(tmp_path / "home", store_args)
    run(library.scan([str(tmp_path / "music")]))
    run(library.analyze(workers=1))
    monkeypatch.setattr(runner_module, "analyse_file", analyse_or_fail)
    assert run(library.listen(workers=1)).failed == 1
    other = write_songs(tmp_path / "elsewhere", 2, seconds=4.0)[1]
    other.replace(songs[0])  # the failed file changed on disk
    os.utime(songs[0], (1e9, 1e9))
    run(library.scan())
    assert library.failures() == []  # its verdict was about the old file
    run(library.analyze(workers=1))
    monkeypatch.setattr(runner_module, "analyse_file", REAL_ANALYSE)
    assert run(library.listen(workers=1)).embedded == 1  # the changed file, heard again
    assert library.neural_counts()["embedded"] == 2
    library.close()


@pytest.mark.timeout(120)
def test_a_crash_or_a_time_out_in_the_second_pass_is_tried_again_on_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    songs_named(tmp_path / "music", "crash", "hang", "fine")
    library = Library(tmp_path / "home")
    run(library.scan([str(tmp_path / "music")]))
    run(library.analyze(workers=1))
    monkeypatch.setattr(runner_module, "analyse_file", analyse_or_fail)
    report = run(library.listen(workers=1, time_limit=4))
    assert (report.embedded, report.failed) == (1, 2)
    reasons = sorted(f.reason for f in library.failures())
    assert reasons[0] == CRASH_REASON and reasons[1].startswith("took too long to analyse")
    # the machine's trouble is over: a plain run hears both
    monkeypatch.setattr(runner_module, "analyse_file", REAL_ANALYSE)
    code, out, err = cli(capsys, library.home, "analyze", "--workers", "1")
    assert code == 0 and "Second pass (neural): 2 embedded, 0 failed" in out, err
    assert library.failures() == []
    library.close()


def write_neural_row(home: Path, track_id: int, value: object) -> None:
    """Write a stored neural vector behind the store's back (damage, a foreign writer)."""
    con = sqlite3.connect(home / SQLITE_FILE)
    con.execute(
        "UPDATE external_features SET vector = ? WHERE track_id = ? AND name = ?",
        (value, track_id, NEURAL_FEATURES),
    )
    con.commit()
    con.close()


def test_stored_neural_vectors_that_are_not_usable_break_nothing_and_are_redone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_songs(tmp_path / "music", 6, seconds=4.0)
    home = tmp_path / "home"
    code, _, err = cli(capsys, home, "scan", str(tmp_path / "music"), "--workers", "1")
    assert code == 0, err
    assert cli(capsys, home, "train")[0] == 0
    infinite = np.ones(VECTOR_SIZE, np.float32)
    infinite[5] = np.inf
    write_neural_row(home, 2, infinite.tobytes())
    write_neural_row(home, 3, b"xyz")  # not even whole float32 values
    write_neural_row(home, 4, np.full(VECTOR_SIZE, np.nan, np.float32).tobytes())  # v1's mark

    code, out, err = cli(capsys, home, "recommend", "1", "2", "--json", "-n", "5")
    assert code == 0, err
    found = strict_json(out)
    distances = [r["distance"] for q in found for r in q["recommendations"]]
    assert len(distances) >= 6 and all(isinstance(d, float) for d in distances), distances
    assert "left out the stored neural vectors of 3 tracks" in err
    code, out, err = cli(capsys, home, "tracks", "--json")
    assert code == 0 and len(strict_json(out)) == 6, err
    code, out, err = cli(capsys, home, "export-m3u", str(tmp_path / "all.m3u8"))
    assert code == 0 and "Wrote 6 songs" in out, err
    code, out, err = cli(capsys, home, "status", "--json")
    assert code == 0, err
    status = strict_json(out)
    assert status["neural"]["embedded"] == 3 and status["neural"]["failed"] == 3
    listed = [f for f in status["failures"] if f["stage"] == "neural"]
    assert [f["reason"] for f in listed] == [DAMAGED_NEURAL_REASON] * 3
    code, out, err = cli(capsys, home, "evaluate", "--json")
    assert code == 0, err
    strict_json(out)

    # the next run records them, hears them again and stores usable vectors
    code, out, err = cli(capsys, home, "analyze", "--workers", "1")
    assert code == 0 and "Second pass (neural): 3 embedded, 0 failed" in out, err
    library = Library(home)
    assert library.failures() == [] and len(library.neural()[0]) == 6
    library.close()


def test_json_output_never_holds_nan_or_infinity(capsys: pytest.CaptureFixture[str]) -> None:
    from engine.cli import print_json

    print_json({"distance": float("nan"), "rows": [float("inf"), -float("inf"), 0.5], "n": 1})
    out = capsys.readouterr().out
    assert strict_json(out) == {"distance": None, "rows": [None, None, 0.5], "n": 1}
