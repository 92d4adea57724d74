"""A damaged library database at start-up: the window explains and offers to rebuild."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from desktop.app import REBUILD_TEXT, open_library
from engine.library import Library, run
from engine.store import SQLITE_FILE


def answer_with(button_text: str, seen: list[dict[str, object]]) -> None:
    """When the next dialog opens, note what it says and press ``button_text``."""

    def press() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        buttons = {b.text(): b for b in box.buttons()}
        seen.append(
            {
                "title": box.windowTitle(),
                "text": box.text(),
                "more": box.informativeText(),
                "buttons": list(buttons),
            }
        )
        buttons[button_text].click()

    QTimer.singleShot(0, press)


def damaged_home(tmp_path: Path, *, with_folder: bool) -> tuple[Path, Path]:
    """A home whose database is damaged: garbage, or a real one with a broken page."""
    home, music = tmp_path / "home", tmp_path / "music"
    music.mkdir()
    if not with_folder:
        home.mkdir()
        (home / SQLITE_FILE).write_bytes(b"\x00garbage" * 2000)
        return home, music
    library = Library(home)
    run(library.scan([str(music)]))
    library.close()
    con = sqlite3.connect(home / SQLITE_FILE)
    size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'tracks'").fetchone()[0]
    con.close()
    with open(home / SQLITE_FILE, "r+b") as fh:  # the tracks table's page: opens, reads badly
        fh.seek((root - 1) * size)
        fh.write(b"\xff" * size)
    return home, music


def test_the_damage_is_explained_and_rebuilding_keeps_the_file(
    qtbot: QtBot, tmp_path: Path
) -> None:
    home, music = damaged_home(tmp_path, with_folder=True)
    damaged = (home / SQLITE_FILE).read_bytes()
    seen: list[dict[str, object]] = []
    answer_with(REBUILD_TEXT, seen)
    opened = open_library(str(home), None)
    assert opened is not None
    library, note = opened
    [dialog] = seen
    assert dialog["title"] == "Encore's library is damaged"
    assert str(home / SQLITE_FILE) in dialog["text"]
    assert "Nothing has been changed or deleted" in dialog["more"]
    assert dialog["buttons"] == [REBUILD_TEXT, "Quit"]
    # the damaged file, renamed (its -wal and -shm files, if any, beside it)
    kept = [p for p in home.iterdir() if re.fullmatch(rf"{SQLITE_FILE}\.damaged-[\d-]+", p.name)]
    assert len(kept) == 1 and kept[0].read_bytes() == damaged
    assert str(kept[0]) in note and "Rebuilding from 1 music folder…" in note
    assert library.folders() == [str(music)]  # the window rescans them when it opens
    library.close()


def test_quitting_changes_nothing(qtbot: QtBot, tmp_path: Path) -> None:
    home, _ = damaged_home(tmp_path, with_folder=False)
    damaged = (home / SQLITE_FILE).read_bytes()
    seen: list[dict[str, object]] = []
    answer_with("Quit", seen)
    assert open_library(str(home), None) is None
    assert len(seen) == 1
    assert [p.name for p in home.glob(f"{SQLITE_FILE}*")] == [SQLITE_FILE]
    assert (home / SQLITE_FILE).read_bytes() == damaged


def test_a_garbage_database_rebuilds_with_no_folders(qtbot: QtBot, tmp_path: Path) -> None:
    home, _ = damaged_home(tmp_path, with_folder=False)
    answer_with(REBUILD_TEXT, [])
    library, note = open_library(str(home), None)
    assert library.folders() == [] and "Library → Add folder…" in note
    library.close()
