"""What a person meets on day one, reproduced as they meet it: a fresh machine with no
caches, ordinary Ogg files, half-finished downloads, ``kill -TERM``, two Encore
processes on one library, a full disk, hostile names in a playlist, damaged files."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.analysis.pool import CRASH_REASON, LEGACY_CRASH_REASON
from engine.cli import wants_cli
from engine.datasets.synth import STYLES, render
from engine.library import Library
from engine.playlist import read_m3u8, write_m3u8
from engine.similarity.model import CARD_FILE, load_model
from engine.tracks import Track
from tests.helpers import ROOT, encore, write_songs

STYLE_NAMES = list(STYLES)


def status(home: Path) -> dict:
    return json.loads(encore(None, "--home", str(home), "status", "--json").stdout)


# -- 1. a fresh machine: no JIT cache, no HOME, two workers ------------------------------


@pytest.mark.slow
def test_a_fresh_machine_analyses_every_file_three_times_in_a_row(tmp_path: Path) -> None:
    music = tmp_path / "music"
    write_songs(music, 24)
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    # what a user's shell has: no Encore or XDG settings, an empty cache folder
    bare = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ENCORE_", "NUMBA_"))}
    for attempt in range(3):
        home = tmp_path / f"user{attempt}"  # an empty HOME: no ~/.cache, no settings
        home.mkdir()
        env = {**bare, "HOME": str(home), "NUMBA_CACHE_DIR": str(cache)}
        out = encore(None, "scan", str(music), "--workers", "2", env=env)
        assert "24 analysed, 0 failed" in out.stdout, (attempt, out.stdout, out.stderr)
        state = home / ".local" / "share" / "Encore"  # the platform's user data folder
        assert (state / "library.sqlite3").exists()
        assert list(cache.iterdir()) == [], "analysis must compile nothing"
        assert not (home / ".cache" / "numba").exists()


# -- 2. a crash is not a verdict on the file ------------------------------------------------


@pytest.mark.slow
def test_crashed_files_are_retried_and_verdicts_wait_for_a_change(tmp_path: Path) -> None:
    music, home = tmp_path / "music", tmp_path / "home"
    songs = write_songs(music, 4)
    encore(None, "--home", str(home), "scan", str(music), "--no-analyze")
    library = Library(home)
    ids = {t.path: t.id for t in library.tracks()}
    # as the numba race left them: two files marked crashed (old and new wording), and
    # one marked with a verdict on the file itself
    library._store.put_analysis_errors(
        [
            (ids[str(songs[0])], LEGACY_CRASH_REASON),
            (ids[str(songs[1])], CRASH_REASON),
            (ids[str(songs[2])], "not decodable audio: not a recognised audio format"),
        ]
    )
    library.close()
    out = encore(None, "--home", str(home), "analyze")
    assert "3 analysed, 0 failed" in out.stdout  # the two crashes and the untouched one
    assert status(home)["analysis_failed"] == 1
    out = encore(None, "--home", str(home), "analyze", "--retry-failed")
    assert "1 analysed, 0 failed" in out.stdout
    assert status(home)["analysed"] == 4


def _header_only_ogg(path: Path) -> None:
    """An Ogg Vorbis file whose tags read but that holds no audio: its header pages only."""
    sf.write(path, render("Noise Rock", 1, seconds=3), 22050)
    data = path.read_bytes()
    third_page = data.find(b"OggS", data.find(b"OggS", data.find(b"OggS") + 4) + 4)
    path.write_bytes(data[:third_page])


@pytest.mark.slow
def test_scan_exits_1_when_nothing_could_be_analysed(tmp_path: Path) -> None:
    music, home = tmp_path / "music", tmp_path / "home"
    music.mkdir()
    for i in range(2):
        _header_only_ogg(music / f"empty{i}.ogg")
    result = encore(None, "--home", str(home), "scan", str(music), check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "0 analysed, 2 failed" in result.stdout
    assert "no file could be analysed" in result.stderr and "Traceback" not in result.stderr


# -- 3. half-finished downloads ---------------------------------------------------------------


@pytest.mark.slow
def test_half_downloaded_files_do_not_hang_the_scan_or_lose_the_rest(tmp_path: Path) -> None:
    music, home = tmp_path / "music", tmp_path / "home"
    write_songs(music, 3)
    song = np.tile(render("Pulse Techno", 1, seconds=20), 12)  # four minutes
    for ext in ("mp3", "flac"):
        path = music / f"download.{ext}"
        sf.write(path, song, 22050)
        # an unfinished download: its first half arrived, the rest of a gigabyte is zeros
        with open(path, "r+b") as fh:
            fh.truncate(path.stat().st_size // 2)
            fh.truncate(1 << 30)
    # the scan under a parent of its own, which then reports the largest resident size
    # any process of it reached (the kernel carries each child's peak up to its waiter)
    measure = (
        "import resource, subprocess, sys; "
        "code = subprocess.run(sys.argv[1:]).returncode; "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
        "sys.exit(code)"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            measure,
            sys.executable,
            "-m",
            "engine",
            "--home",
            str(home),
            "scan",
            str(music),
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert "5 analysed, 0 failed" in out.stdout, out.stdout + out.stderr
    peak_kb = int(out.stderr.strip().splitlines()[-1])
    # memory per process stays bounded (a worker took 1.1-5.4 GB before)
    assert peak_kb < 700_000, peak_kb
    tracks = {
        Path(t["path"]).name: t
        for t in json.loads(encore(None, "--home", str(home), "tracks", "--json").stdout)
    }
    reasons = {Path(f["path"]).name: f for f in status(home)["failures"]}
    for ext in ("mp3", "flac"):
        assert 110 <= tracks[f"download.{ext}"]["duration"] <= 130  # what decodes
        assert reasons[f"download.{ext}"]["stage"] == "damaged"
        assert re.fullmatch(
            r"damaged or incomplete: only [12]:\d\d of 4:00 decodes",
            reasons[f"download.{ext}"]["reason"],
        )


def test_the_time_limit_is_a_setting_kept_for_later_runs(tmp_path: Path) -> None:
    library = Library(tmp_path / "home")
    assert library.time_limit() == 60
    library.set_time_limit(5)
    library.close()
    assert Library(tmp_path / "home").time_limit() == 5


# -- 4. SIGTERM and SIGHUP keep finished work -------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_keep_every_finished_analysis(tmp_path: Path, sig: int) -> None:
    music, home = tmp_path / "music", tmp_path / "home"
    write_songs(music, 40, seconds=60, ext="flac")  # whole-track analysis: ~0.3 s each
    child = subprocess.Popen(
        [sys.executable, "-m", "engine", "--home", str(home), "scan", str(music), "--workers", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = 0
    deadline = time.monotonic() + 300
    while seen < 8 and time.monotonic() < deadline:  # "Analysing: 8/40" and so on
        ready, _, _ = select.select([child.stderr], [], [], 5)
        line = child.stderr.readline() if ready else ""
        if line.startswith("Analysing: "):
            seen = int(line.split()[1].split("/")[0])
    assert seen >= 8
    child.send_signal(sig)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 128 + sig, err
    assert "finished work was saved" in err and "Traceback" not in err
    done = status(home)["analysed"]
    assert seen <= done < 40
    # and the next run picks up where it stopped
    assert f"{40 - done} analysed" in encore(None, "--home", str(home), "analyze").stdout


# -- 5. one parser for the command line ------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "cli"),
    [
        (["--store", "mongodb://db.lan/encore", "scan", "/music"], True),
        (["--store=mongodb://db.lan/encore", "status"], True),
        (["--home=/tmp/x", "status"], True),
        (["--home", "/tmp/x", "tracks", "--json"], True),
        (["status", "--home", "/tmp/x"], True),
        (["--help"], True),
        (["--home", "/tmp/x", "--version"], True),
        (["--home"], True),  # the command line says what is missing
        ([], False),
        (["--home", "/tmp/x"], False),
        (["--store", "mongodb://x/y", "/music/album"], False),
        (["/music/song.ogg"], False),
        (["--self-check"], False),
        (["--home=/tmp/x", "--self-check", "song.ogg"], False),
    ],
)
def test_one_parser_tells_commands_from_the_window(argv: list[str], cli: bool) -> None:
    assert wants_cli(argv) is cli


def test_global_options_in_every_spelling_run_the_command(tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from desktop.launch import main; main()",
            f"--home={home}",
            "status",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "none-such"},  # a window would abort here
    )
    assert out.returncode == 0, out.stderr
    assert f"State folder: {home}" in out.stdout
    help_text = encore(None, "--help").stdout
    assert "encore [--home DIR] [--store URI] [PATH ...]" in help_text
    assert "opens the window" in help_text


# -- 7. two processes on one library ----------------------------------------------------------


@pytest.mark.slow
def test_two_trainings_and_many_first_opens_at_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    starts = [
        subprocess.Popen(
            [sys.executable, "-m", "engine", "--home", str(home), "status"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]  # six processes open a library that does not exist yet
    for p in starts:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0 and err == "", err
    music = tmp_path / "music"
    write_songs(music, 10)
    encore(None, "--home", str(home), "scan", str(music))
    for _ in range(3):
        trainings = [
            subprocess.Popen(
                [sys.executable, "-m", "engine", "--home", str(home), "train"],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for p in trainings:
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
            assert "Trained on 10 tracks" in out and "Traceback" not in err
        _model, card = load_model(home / "models")
        assert card.library_size == 10
        assert not list((home / "models").glob("*.tmp")) + list((home / "models").glob(".*.tmp"))


# -- 8. ordinary faults are one line ----------------------------------------------------------


def _in_small_disk(size: str, script: str) -> subprocess.CompletedProcess:
    """Run ``script`` (sh) with a tmpfs of ``size`` mounted at $DISK: a disk that fills."""
    # Not optional: a full disk is a required behaviour, so a machine that cannot make
    # one fails here rather than skipping it.
    assert shutil.which("unshare"), "needs unshare (util-linux) to mount a small disk"
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True
    )
    assert probe.returncode == 0, f"no private mount namespace here: {probe.stderr!r}"
    disk = Path(os.environ.get("TMPDIR", "/tmp")) / f"encore-disk-{os.getpid()}"
    disk.mkdir(exist_ok=True)
    wrapped = f'mount -t tmpfs -o size={size} tmpfs "$DISK" && {script}'
    try:
        return subprocess.run(
            ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", wrapped],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=600,
            env={**os.environ, "DISK": str(disk), "PY": sys.executable},
        )
    finally:
        disk.rmdir()


FULL_DISK = """
import json, os, sys
from pathlib import Path
from engine.library import Library, LibraryError, run
from engine.similarity.model import load_model
from engine.store import StoreError

disk, music, more = (Path(p) for p in sys.argv[1:4])

def fill() -> None:
    with open(disk / "filler", "wb") as fh:
        try:
            while True:
                fh.write(b"0" * 65536)
                fh.flush()
        except OSError:
            pass

def main() -> None:
    library = Library(disk / "home")
    run(library.scan([str(music)]))
    run(library.analyze())
    run(library.train())
    seen = {}
    steps = library.train()
    next(steps)  # the features are loaded; the disk fills while the model is fitted
    fill()
    try:
        run(steps)
    except LibraryError as exc:
        seen["train"] = str(exc)
    try:
        run(library.scan([str(more)]))
    except StoreError as exc:
        seen["scan"] = str(exc)
    seen["models"] = sorted(p.name for p in (disk / "home" / "models").iterdir())
    seen["model_k"] = load_model(disk / "home" / "models")[1].k  # the previous one
    library.close()
    print(json.dumps(seen))


if __name__ == "__main__":  # spawned workers import this file
    main()
"""


@pytest.mark.slow
def test_a_full_disk_is_one_line_and_loses_nothing(tmp_path: Path) -> None:
    music, more = tmp_path / "music", tmp_path / "more"
    write_songs(music, 12, seconds=2)
    write_songs(more, 40, seconds=1)
    (tmp_path / "full_disk.py").write_text(FULL_DISK)
    out = _in_small_disk(
        "4m",
        f'"$PY" "{tmp_path / "full_disk.py"}" "$DISK" "{music}" "{more}" && '
        'head -c 100000000 /dev/zero > "$DISK/filler2" 2> /dev/null; '
        f'"$PY" -m engine --home "$DISK/home" status; echo "status=$?"',
    )
    assert "Traceback" not in out.stderr, out.stderr
    seen = json.loads(out.stdout.splitlines()[0])
    assert seen["train"].startswith("the disk is full: cannot save the model in ")
    assert seen["scan"].startswith("the disk is full: ")
    assert seen["models"] == [".lock", "model.json", "model.npz"]  # no stray temporary files
    assert seen["model_k"] >= 1  # the model trained before is still there and loads
    # on a disk that stays full the library still opens when SQLite's side files are
    # left, and says so in one line when they must be created
    if "status=0" in out.stdout:
        assert "Tracks: 12  analysed: 12" in out.stdout
    else:
        assert out.stderr.startswith("encore: error: the disk is full: ")
        assert out.stderr.count("\n") == 1


def test_a_home_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    for home in (blocker, blocker / "inside"):
        result = encore(None, "--home", str(home), "status", check=False)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert result.stderr.startswith("encore: error: cannot use ")
        assert result.stderr.count("\n") == 1


@pytest.mark.slow
def test_export_into_a_bad_target_is_one_line(trained_home: Path, tmp_path: Path) -> None:
    (tmp_path / "a-folder").mkdir()
    targets = {
        tmp_path / "missing" / "mix.m3u8": "does not exist",
        tmp_path / "a-folder": "is a folder",
    }
    for target, words in targets.items():
        result = encore(None, "--home", str(trained_home), "export-m3u", str(target), check=False)
        assert result.returncode == 1, result.stderr
        assert words in result.stderr and "Traceback" not in result.stderr
    out = _in_small_disk(
        "1m",
        f'mount -o remount,ro "$DISK" && "$PY" -m engine --home "{trained_home}" '
        'export-m3u "$DISK/mix.m3u8"; echo "code=$?"',
    )
    assert "code=1" in out.stdout, out.stdout + out.stderr
    assert "encore: error: the file system is read-only: cannot write the playlist " in out.stderr
    assert not list(tmp_path.glob("**/.*.tmp"))


@pytest.mark.slow
def test_a_card_with_mistyped_fields_is_one_line(trained_home: Path) -> None:
    card_path = trained_home / "models" / CARD_FILE
    card = json.loads(card_path.read_text())
    card["library_size"] = "many"
    card_path.write_text(json.dumps(card))
    result = encore(None, "--home", str(trained_home), "status", check=False)
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "Model: none yet" in result.stdout
    result = encore(None, "--home", str(trained_home), "recommend", "1", check=False)
    assert result.returncode == 1 and "retrain with `encore train`" in result.stderr


# -- 9. playlists --------------------------------------------------------------------------


def test_every_playlist_entry_reads_back_as_its_track(tmp_path: Path) -> None:
    music = tmp_path / "music"
    music.mkdir()
    names = ["#1 hit.flac", " leading space.ogg", "plain.mp3", "new\nline.ogg", "bad\udcff.ogg"]
    tracks = [
        Track(path=str(music / name), size=1, mtime=0, id=i, title=title, duration=10)
        for i, (name, title) in enumerate(
            zip(names, ["x\n/etc/passwd", "a\r\nb", "#EXTM3U", "t", "u"], strict=True)
        )
    ]
    for relative in (False, True):
        target = music / f"mix-{relative}.m3u8"
        skipped = write_m3u8(target, tracks, relative=relative)
        assert skipped == [str(music / "new\nline.ogg"), str(music / "bad\udcff.ogg")]
        assert read_m3u8(target) == [str(music / n) for n in names[:3]]
        text = target.read_text(encoding="utf-8")
        assert "/etc/passwd" not in text.replace("x /etc/passwd", "")


def test_a_planted_link_at_the_temporary_name_is_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "mix.m3u8"
    (tmp_path / f".{target.name}.tmp").symlink_to(victim)  # the old predictable name
    write_m3u8(target, [Track(path=str(tmp_path / "a.ogg"), size=1, mtime=0)], relative=False)
    assert victim.read_text() == "precious"
    assert read_m3u8(target) == [str(tmp_path / "a.ogg")]
    assert [p.name for p in tmp_path.glob(".*.tmp")] == [f".{target.name}.tmp"]


# -- 10. damaged files --------------------------------------------------------------------------


@pytest.mark.slow
def test_damaged_files_show_what_decodes_and_are_listed(tmp_path: Path) -> None:
    import struct

    music, home = tmp_path / "music", tmp_path / "home"
    music.mkdir()
    full = tmp_path / "full.mp3"
    sf.write(full, render("Pulse Techno", 1, seconds=40), 22050)
    (music / "head.mp3").write_bytes(full.read_bytes()[:5000])  # the first 5 kB
    sf.write(music / "short.wav", render("Bell Minimal", 2, seconds=2), 22050, subtype="PCM_16")
    data = bytearray((music / "short.wav").read_bytes())
    at = data.find(b"data")
    data[at + 4 : at + 8] = struct.pack("<I", 0x7FFF0000)  # the header claims 13.5 hours
    (music / "short.wav").write_bytes(bytes(data))
    write_songs(music, 2)
    out = encore(None, "--home", str(home), "scan", str(music))
    assert "4 analysed, 0 failed, 2 damaged or incomplete" in out.stdout, out.stdout
    tracks = {
        Path(t["path"]).name: t
        for t in json.loads(encore(None, "--home", str(home), "tracks", "--json").stdout)
    }
    assert 0.2 < tracks["head.mp3"]["duration"] < 1.0
    assert 1.9 < tracks["short.wav"]["duration"] < 2.1
    assert all(t["analysed"] for t in tracks.values())
    failures = {Path(f["path"]).name: f for f in status(home)["failures"]}
    assert failures["head.mp3"]["stage"] == "damaged"
    assert failures["head.mp3"]["reason"].startswith("damaged or incomplete: only 0:00.")
    assert failures["head.mp3"]["reason"].endswith(" of 0:40 decodes")
    assert failures["short.wav"]["reason"] == (
        "damaged or incomplete: only 0:02.0 of 13:31:34 decodes"
    )


def test_a_fifo_on_the_command_line_is_not_a_file_or_folder(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.mp3"
    os.mkfifo(fifo)
    result = encore(
        None, "--home", str(tmp_path / "home"), "scan", str(fifo), check=False, timeout=60
    )
    assert result.returncode == 1
    assert f"{fifo}: not a regular file or folder" in result.stderr
