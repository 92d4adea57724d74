"""A state folder that is damaged, foreign, locked or read-only, and model cards that are
not what they claim: one line naming the cause, nothing lost, nothing waits."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import engine.neural.musicnn as musicnn
from engine.analysis.features import FEATURE_VERSION, N_FEATURES
from engine.analysis.pool import DAMAGED_FEATURES_REASON
from engine.cli import main
from engine.library import Library, LibraryError, recover_damaged_store, run
from engine.neural.embedding import NEURAL_FEATURES
from engine.similarity.model import CARD_FILE
from engine.store import SQLITE_FILE, DamagedStoreError, SQLiteStore
from tests.engine.test_bad_input import _without_root_override
from tests.helpers import ROOT, encore


def cli(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    """``encore --home HOME ARGS`` in this process (where a monkeypatch applies)."""
    code = main(["--home", str(home), *args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(text: str) -> bool:
    return text.count("\n") == 1 and "Traceback" not in text


# -- the state database --------------------------------------------------------------------


def test_a_negative_schema_version_is_a_damaged_library(tmp_path: Path) -> None:
    home, music = tmp_path / "home", tmp_path / "music"
    home.mkdir()
    music.mkdir()
    store = SQLiteStore(home / SQLITE_FILE, feature_version=FEATURE_VERSION)
    store.add_folders([str(music)])
    store.close()
    con = sqlite3.connect(home / SQLITE_FILE)
    con.execute("PRAGMA user_version = -1")  # no Encore writes this: another program did
    con.close()

    with pytest.raises(DamagedStoreError, match=r"schema version is -1"):
        SQLiteStore(home / SQLITE_FILE, feature_version=FEATURE_VERSION)
    result = encore(home, "status", check=False)
    assert result.returncode == 1 and one_line(result.stderr), result.stderr
    assert result.stderr.startswith(f"encore: error: the library database {home / SQLITE_FILE}")
    assert "is damaged (its schema version is -1" in result.stderr
    # as for any damaged library, the window's way out works: set aside, folders kept
    aside = recover_damaged_store(home)
    assert aside.exists()
    assert json.loads(encore(home, "status", "--json").stdout)["folders"] == [str(music)]


@pytest.mark.slow
def test_damaged_feature_rows_are_left_out_reported_and_analysed_again(
    trained_home: Path, tmp_path: Path
) -> None:
    con = sqlite3.connect(trained_home / SQLITE_FILE)
    good = np.ones(N_FEATURES, np.float32)
    damaged = {
        1: b"garbage",  # not even whole float32 values
        2: np.append(good, 1).tobytes(),  # one value too many
        3: np.where(np.arange(N_FEATURES) == 5, np.nan, good).astype(np.float32).tobytes(),
        4: np.where(np.arange(N_FEATURES) == 0, np.inf, good).astype(np.float32).tobytes(),
        5: "not a vector at all",  # text, not a blob
    }
    for track_id, blob in damaged.items():
        con.execute("UPDATE features SET vector = ? WHERE track_id = ?", (blob, track_id))
    con.commit()
    con.close()
    total = len(json.loads(encore(trained_home, "tracks", "--json").stdout))

    # reading commands leave them out and say so, without writing anything
    status = json.loads(encore(trained_home, "status", "--json").stdout)
    assert (status["analysed"], status["analysis_failed"]) == (total - 5, 5)
    assert status["pending"] == 0
    listed = [f for f in status["failures"] if f["reason"] == DAMAGED_FEATURES_REASON]
    assert len(listed) == 5 and {f["stage"] for f in listed} == {"analyze"}
    result = encore(trained_home, "recommend", "10", "--json")
    suggested = {r["id"] for r in json.loads(result.stdout)[0]["recommendations"]}
    assert len(suggested) == 5 and not suggested & set(damaged)
    encore(trained_home, "export-m3u", str(tmp_path / "all.m3u8"))
    assert "precision@5" in encore(trained_home, "evaluate").stdout

    # training leaves them out, says so, and records them as failures to analyse again
    result = encore(trained_home, "train")
    assert f"Trained on {total - 5} tracks" in result.stdout
    assert "left out 5 tracks whose stored features were damaged" in result.stderr
    status = json.loads(encore(trained_home, "status", "--json").stdout)
    assert (status["analysed"], status["analysis_failed"]) == (total - 5, 5)

    result = encore(trained_home, "analyze", "--fast-only")
    assert "5 analysed, 0 failed" in result.stdout
    status = json.loads(encore(trained_home, "status", "--json").stdout)
    assert (status["analysed"], status["failures"]) == (total, [])


@pytest.mark.slow
def test_reading_commands_do_not_wait_for_another_writer(
    trained_home: Path, tmp_path: Path
) -> None:
    writer = sqlite3.connect(trained_home / SQLITE_FILE, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        for command in (
            ("status",),
            ("tracks", "--json"),
            ("recommend", "1", "--json"),
            ("evaluate", "--json"),
            ("find", "calm"),
            ("export-m3u", str(tmp_path / "mix.m3u8")),
        ):
            started = time.monotonic()
            # SQLite would wait 30 s for the lock, then give up
            result = encore(trained_home, *command, check=False, timeout=25)
            assert result.returncode == 0, (command, result.stderr)
            assert time.monotonic() - started < 15, command
    finally:
        writer.execute("ROLLBACK")
        writer.close()


READER = """
import json, subprocess, sys
home, commands = sys.argv[1], json.loads(sys.argv[2])
out = []
for command in commands:
    ran = subprocess.run([sys.executable, "-m", "engine", "--home", home, *command],
                         capture_output=True, text=True, timeout=120)
    out.append([ran.returncode, ran.stdout, ran.stderr])
print(json.dumps(out))
"""


def _read_only_runs(how: str, home: Path, commands: list[list[str]]) -> list[list]:
    """``[code, stdout, stderr]`` of each command run on ``home`` made read-only ``how``:
    a read-only mount of it (in a private mount namespace), or ``chmod -w`` of it and its
    database, obeyed even by root (see :func:`_without_root_override`)."""
    args = [sys.executable, "-c", READER, str(home), json.dumps(commands)]
    if how == "mount":
        # Not optional, like the full disk of test_first_day: a machine that cannot
        # mount in a private namespace fails here rather than skipping it.
        assert shutil.which("unshare"), "needs unshare (util-linux) to mount read-only"
        script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
        namespace = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script]
        ran = subprocess.run(
            [*namespace, str(home), *args], capture_output=True, text=True, cwd=ROOT, timeout=600
        )
    else:
        files = [home / SQLITE_FILE, home]
        for path in files:
            path.chmod(0o444 if path.is_file() else 0o555)
        try:
            ran = subprocess.run(
                args,
                capture_output=True,
                text=True,
                cwd=ROOT,
                timeout=600,
                preexec_fn=_without_root_override if os.geteuid() == 0 else None,
            )
        finally:
            for path in files:
                path.chmod(0o644 if path.is_file() else 0o755)
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["mount", "chmod"])
def test_a_read_only_state_folder_is_still_read(
    trained_home: Path, tmp_path: Path, how: str
) -> None:
    database = trained_home / SQLITE_FILE
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    commands = [
        ["status", "--json"],
        ["tracks", "--json"],
        ["recommend", "1", "--json"],
        ["export-m3u", str(tmp_path / "mix.m3u8")],
        ["radio", "--artist-window", "3"],  # a write
    ]
    status, tracks, recommend, export, write = _read_only_runs(how, trained_home, commands)
    for code, _, err in (status, tracks, recommend, export):
        assert code == 0, err
    assert json.loads(status[1])["analysed"] == len(json.loads(tracks[1])) > 0
    assert len(json.loads(recommend[1])[0]["recommendations"]) == 5
    # a write says what is wrong in one line, and nothing was written
    assert write[0] == 1 and one_line(write[2]), write[2]
    cause = "the file system" if how == "mount" else "the library database"
    assert write[2].startswith(f"encore: error: {cause} is read-only: "), write[2]
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before
    assert not list(trained_home.glob(f"{SQLITE_FILE}-*"))


# -- the model cards ---------------------------------------------------------------------------


def _neural_cards(shipped: Path) -> dict[str, str]:
    """Damaged or foreign versions of the shipped neural model's card, as file text."""
    card = json.loads((shipped / f"{musicnn.STEM}.json").read_text())
    tags = card["tags"]
    return {
        "tags of the wrong type": json.dumps({**card, "tags": "rock"}),
        "too few tags": json.dumps({**card, "tags": tags[:3]}),
        "tags that are not names": json.dumps({**card, "tags": [[t] for t in tags]}),
        "no checksums": json.dumps({k: v for k, v in card.items() if k != "files"}),
        "a JSON list": json.dumps([card]),
        "deeply nested": "[" * 100_000 + "]" * 100_000,
        "not JSON": "{'tags': ",
        "huge": json.dumps({**card, "pad": "x" * (2 << 20)}),
    }


@pytest.mark.slow
def test_a_neural_card_that_is_not_usable_is_one_line_and_tracks_are_listed(
    trained_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    total = len(Library(trained_home).tracks())
    shipped = musicnn.MODELS_DIR
    models = tmp_path / "models"
    models.mkdir()
    for suffix in ("npz", "onnx"):
        (models / f"{musicnn.STEM}.{suffix}").symlink_to(shipped / f"{musicnn.STEM}.{suffix}")
    monkeypatch.setattr(musicnn, "MODELS_DIR", models)
    for name, text in _neural_cards(shipped).items():
        (models / f"{musicnn.STEM}.json").write_text(text)
        code, out, err = cli(capsys, trained_home, "tracks", "--json")
        assert code == 0, (name, err)
        assert len(json.loads(out)) == total, name
        assert one_line(err) and "no auto-tags: the neural model's card" in err, (name, err)
        code, out, err = cli(capsys, trained_home, "find", "calm")
        assert code == 1 and one_line(err), (name, err)
        assert err.startswith("encore: error: the neural model's card "), (name, err)
        assert "is not usable: " in err and err.endswith("; reinstall Encore\n"), (name, err)

    # the second pass refuses to start rather than mark every song as not embeddable
    con = sqlite3.connect(trained_home / SQLITE_FILE)
    con.execute("DELETE FROM external_features WHERE track_id = 1")
    con.commit()
    con.close()
    library = Library(trained_home)
    with pytest.raises(LibraryError, match="neural model's card"):
        run(library.listen(workers=1))
    assert library._store.missing_external(NEURAL_FEATURES) == [(1, library.resolve(1).path)]
    library.close()


@pytest.mark.slow
def test_a_model_card_that_is_not_usable_means_no_model_with_its_reason(
    trained_home: Path, capsys
) -> None:
    path = trained_home / "models" / CARD_FILE
    card = json.loads(path.read_text())
    cards = {
        "a JSON list": ([card], "it is not a JSON object"),
        "deeply nested": ({**card, "packages": json.loads("[" * 500 + "]" * 500)}, "nested"),
        # within the size bound, past the parser's recursion limit
        "very deeply nested": ("[" * 20_000 + "]" * 20_000, "nested deeper than"),
        "no clusters": ({**card, "k": 0}, "'k' is out of range"),
        "a checksum that is not one": ({**card, "sha256": "x"}, "'sha256' must be"),
        "weights of another kind": ({**card, "weights": {"timbre": "a"}}, "'weights' must"),
        "weights out of range": ({**card, "weights": {"timbre": 1e300}}, "'weights' must"),
        "unknown families": ({**card, "weights": {"loudness!": 1}}, "'weights' must"),
        "packages that are not versions": ({**card, "packages": {"numpy": [1]}}, "'packages'"),
        "huge": ({**card, "python": "3" * 100_000}, "larger than"),
    }
    for name, (data, reason) in cards.items():
        path.write_text(data if isinstance(data, str) else json.dumps(data))
        code, out, err = cli(capsys, trained_home, "status")
        assert code == 0 and "Model: none yet" in out, (name, err)
        code, out, err = cli(capsys, trained_home, "tracks", "--json")
        assert code == 0 and json.loads(out), (name, err)
        code, out, err = cli(capsys, trained_home, "recommend", "1")
        assert code == 1 and one_line(err), (name, err)
        assert "the model has no valid card (" in err and reason in err, (name, err)
        assert err.endswith("retrain with `encore train`\n"), (name, err)
