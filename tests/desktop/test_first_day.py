"""The window on day one: a folder given on the command line plays, failed files can be
retried, and tracks another Encore process added show up."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.failures_dialog import RETRY_TEXT, FailuresDialog
from engine.library import Library
from engine.tracks import Failure
from tests.helpers import close_window, open_window

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_a_folder_given_at_start_plays_its_first_song_and_fills_up_next(qtbot, tmp_path, music_dir):
    music = tmp_path / "music"
    for style in ("Pulse Techno", "Ambient Pads"):
        shutil.copytree(music_dir / style, music / style)
    window = open_window(qtbot, tmp_path / "home")
    window.add_paths([str(music)], play_first_file=True)  # what `encore FOLDER` does
    first = min(str(p) for p in music.rglob("*") if p.is_file())
    qtbot.waitUntil(lambda: window.player.track is not None, timeout=120_000)
    assert window.player.track.path == first
    qtbot.waitUntil(lambda: len(window.up_next.tracks) == 5, timeout=120_000)
    close_window(qtbot, window)


def test_the_failed_files_dialog_retries_them(qtbot, trained_home):
    library = Library(trained_home)
    victim = library.tracks()[0]
    library._store.put_analysis_errors([(victim.id, "not decodable audio: damaged")])
    library.close()
    window = open_window(qtbot, trained_home)
    dialog = FailuresDialog(window.library.failures(), window, retry=window.jobs.retry_failed)
    qtbot.addWidget(dialog)
    assert dialog.retry_button.text() == RETRY_TEXT and dialog.retry_button.isEnabled()
    dialog.retry_button.click()
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=120_000)
    assert window.library.failures() == []
    assert all(t.analysed for t in window.view.model.tracks())
    close_window(qtbot, window)


def test_retry_is_off_when_nothing_can_be_retried(qtbot):
    dialog = FailuresDialog(
        [
            Failure("/m/a.mp3", "scan", "empty file (0 bytes)"),
            Failure("/m/b.mp3", "damaged", "damaged or incomplete: only 0:00.3 of 0:40 decodes"),
        ],
        retry=lambda: None,
    )
    qtbot.addWidget(dialog)
    assert not dialog.retry_button.isEnabled()
    assert dialog.tree.topLevelItem(1).text(0) == "Damaged"


def test_tracks_another_process_added_show_after_a_refresh(qtbot, trained_home, music_dir):
    window = open_window(qtbot, trained_home)
    before = window.view.model.rowCount()
    extra = trained_home.parent / "extra"
    shutil.copytree(music_dir / "Bell Minimal", extra)
    cli = subprocess.run(
        [sys.executable, "-m", "engine", "--home", str(trained_home), "scan", str(extra)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ},
        timeout=300,
    )  # while the window is open on the same library
    assert cli.returncode == 0, cli.stderr
    window.jobs.rescan()
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=120_000)
    added = len(list(extra.iterdir()))
    assert window.view.model.rowCount() == before + added
    close_window(qtbot, window)


def test_sigterm_closes_the_window_and_keeps_finished_analyses(tmp_path):
    import signal
    import sqlite3
    import time

    import soundfile as sf

    from engine.datasets.synth import STYLES, render

    music, home = tmp_path / "music", tmp_path / "home"
    music.mkdir()
    styles = list(STYLES)
    for i in range(40):  # whole-track analysis, about half a second each
        sf.write(music / f"{i:02d}.flac", render(styles[i % len(styles)], i, seconds=100), 22050)
    window = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from desktop.launch import main; main()",
            "--home",
            str(home),
            str(music),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )

    def analysed() -> int:
        try:
            with sqlite3.connect(home / "library.sqlite3") as con:
                return con.execute("SELECT COUNT(*) FROM features").fetchone()[0]
        except sqlite3.Error:
            return -1

    def tracks() -> int:
        try:
            with sqlite3.connect(home / "library.sqlite3") as con:
                return con.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]
        except sqlite3.Error:
            return 0

    deadline = time.monotonic() + 120
    while tracks() < 40 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # a few analyses finish, fewer than are written at once
    before = analysed()
    window.send_signal(signal.SIGTERM)
    _, err = window.communicate(timeout=60)
    assert window.returncode == 0, err  # closed as a user closes it, not killed
    assert "Traceback" not in err
    after = analysed()
    assert after > 0 and after >= before


def test_no_audio_device_is_said_in_the_window(qtbot, tmp_path):
    from PySide6.QtMultimedia import QMediaDevices

    from tests.helpers import close_window, open_window

    window = open_window(qtbot, tmp_path / "home")
    silent = not QMediaDevices.audioOutputs()  # as on these test machines
    assert window.no_output.isVisibleTo(window) is silent
    window.player.output_changed.emit(True)  # a device appears …
    assert not window.no_output.isVisibleTo(window)
    window.player.output_changed.emit(False)  # … and goes
    assert window.no_output.isVisibleTo(window)
    close_window(qtbot, window)


def test_playing_prints_no_tag_blocks_to_the_terminal(trained_home):
    """Qt's FFmpeg backend printed every file's format and tags on stderr."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from desktop.launch import main; main()",
            "--home",
            str(trained_home),
            "--self-check",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "self-check passed" in result.stdout + result.stderr
    assert "Input #0" not in result.stderr and "Duration:" not in result.stderr
    assert "symbolsresolver" not in result.stderr
