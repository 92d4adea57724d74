"""window.ini gone bad: out-of-range values, or a file that is no settings file at all.

Whatever is in the state folder's ``window.ini``, the window starts (with defaults where
a value is unusable), never blocks and closes promptly: a bad session must not lock the
user out of the application on every launch.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from desktop.library_model import COLUMNS
from desktop.main_window import MainWindow
from engine.library import Library
from tests.helpers import PER_STYLE, close_window, open_window

pytestmark = pytest.mark.slow

#: A value far beyond any integer Qt takes (qint64) and one beyond a C int.
HUGE = "9" * 30
BEYOND_INT = str(2**32)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A state folder with an empty library (nothing to scan: the window starts fast)."""
    return tmp_path / "home"


def first_track_id(home: Path) -> int:
    """The id of a song in ``home``'s library."""
    library = Library(home)
    try:
        return library.tracks()[0].id
    finally:
        library.close()


def write_ini(home: Path, values: dict[str, str]) -> None:
    """Write ``window.ini`` by hand, as a damaged or hand-edited file would read."""
    sections: dict[str, list[str]] = {}
    for key, value in values.items():
        section, name = key.split("/")
        sections.setdefault(section, []).append(f"{name}={value}")
    text = "".join(f"[{s}]\n" + "\n".join(lines) + "\n\n" for s, lines in sections.items())
    (home / "window.ini").write_text(text, encoding="utf-8")


@pytest.fixture
def messages(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every status-bar message any window shows (start-up notes can be replaced fast)."""
    shown: list[str] = []
    original = MainWindow.show_message

    def recorded(self: MainWindow, text: str) -> None:
        shown.append(text)
        original(self, text)

    monkeypatch.setattr(MainWindow, "show_message", recorded)
    return shown


BAD_VALUES: dict[str, Callable[[int], dict[str, str]]] = {
    "huge": lambda song: {
        "player/volume": HUGE,
        "player/muted": HUGE,
        "player/track": HUGE,
        "player/position": HUGE,
        "table/sort_column": BEYOND_INT,
        "table/sort_descending": HUGE,
        "radio/on": HUGE,
        "library/empty": HUGE,
    },
    "negative": lambda song: {
        "player/volume": "-5",
        "player/track": f"-{HUGE}",
        "player/position": f"-{HUGE}",
        "table/sort_column": f"-{BEYOND_INT}",
    },
    "beyond the song and the columns": lambda song: {
        "player/volume": "101",
        "player/track": str(song),
        "player/position": str(10**12),  # a qint64, but hours past the song's end
        "table/sort_column": str(len(COLUMNS)),
    },
    "not numbers": lambda song: {
        "player/volume": "loud",
        "player/track": "1e999",
        "player/position": "nan",
        "table/sort_column": "1e999",
        "table/search": "a, list, not, text",  # unquoted commas: QSettings reads a list
        "browse/scope": "@Variant(\\0\\0\\0\\x7f\\0\\0\\0\\x10)",
        "window/geometry": "@ByteArray(not a geometry)",
        "window/docks": "@ByteArray(\\x1\\x2\\x3)",
    },
}


@pytest.mark.parametrize("kind", list(BAD_VALUES))
def test_out_of_range_values_in_window_ini_start_the_window_with_defaults(
    qtbot: Any, trained_home: Path, kind: str
) -> None:
    """Each bad value is replaced by its default; the window starts, works and closes."""
    home = trained_home
    song = first_track_id(home)
    write_ini(home, BAD_VALUES[kind](song))
    window = open_window(qtbot, home)
    assert window.player.volume() == 80  # the default, not a clamped extreme
    header = window.view.table.horizontalHeader()
    assert 0 <= header.sortIndicatorSection() < len(COLUMNS)
    qtbot.waitUntil(lambda: window.view.model.rowCount() == 5 * PER_STYLE)  # sorted
    if kind == "beyond the song and the columns":
        # the song is back, paused at its start: not sought past its end (which would
        # end it at once and start the next song)
        qtbot.waitUntil(lambda: window.player.track is not None, timeout=15_000)
        assert window.player.track.id == song
        qtbot.wait(500)
        assert not window.player.playing and window.player.track.id == song
        assert 0 <= window.player.position() <= 2_500
    else:
        qtbot.wait(300)  # a looked-up song would arrive by now
        assert window.player.track is None
    close_window(qtbot, window)

    # what the window saved is sound: the next launch starts with the same defaults
    again = open_window(qtbot, home)
    assert again.player.volume() == 80
    close_window(qtbot, again)


#: The FIFO's watcher (a process of its own: a thread could not run while the GUI thread
#: holds the Python lock, blocked in Qt). A reader blocked in ``open`` is found by opening
#: the write end without blocking, which succeeds only while a reader waits; it is then
#: released (it reads the end of the file) and a reader is kept open, so that a writer
#: cannot block either.
WATCHER = """
import os, sys, time
reader = -1
while True:
    try:
        writer = os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        time.sleep(0.05)  # ENXIO: nobody is reading it
        continue
    print("read", flush=True)
    os.close(writer)
    if reader < 0:
        reader = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
"""


@contextmanager
def blocked_on(fifo: Path) -> Iterator[list[str]]:
    """Watch a FIFO: record (and release) anyone who opens it, rather than hang the test."""
    watcher = subprocess.Popen(
        [sys.executable, "-c", WATCHER, str(fifo)], stdout=subprocess.PIPE, text=True
    )
    seen: list[str] = []
    try:
        yield seen
    finally:
        watcher.terminate()
        out, _ = watcher.communicate(timeout=10)
        seen += out.split()


def make_fifo(path: Path) -> None:
    os.mkfifo(path)


def make_directory(path: Path) -> None:
    path.mkdir()
    (path / "kept.txt").write_text("not Encore's")  # never deleted for a session


def make_device_link(path: Path) -> None:
    """A link to a null device, as some users switch remembering off (``/dev/null``).

    The device is the test's own node: code that saves through the link (as QSettings
    does, renaming a new file over the link's target) must never replace the system's.
    """
    device = path.parent / "null-device"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root (CAP_MKNOD)")
    path.symlink_to(device)


def make_huge_file(path: Path) -> None:
    with open(path, "wb") as f:
        f.truncate(300 * 1024 * 1024)  # sparse: costs no disk, but reads as 300 MB


NOT_SETTINGS: dict[str, Callable[[Path], None]] = {
    "fifo": make_fifo,
    "directory": make_directory,
    "symlink to a device": make_device_link,
    "300 MB file": make_huge_file,
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", list(NOT_SETTINGS))
def test_a_window_ini_that_is_no_small_regular_file_is_ignored_with_a_note(
    qtbot: Any, home: Path, kind: str, messages: list[str]
) -> None:
    """Start with defaults and a one-line note; close at once. A file Encore did not
    make (FIFO, directory, device) is left as it is and nothing is saved into it; a
    regular file far too big is Encore's own gone bad, and a fresh one replaces it."""
    home.mkdir()
    path = home / "window.ini"
    NOT_SETTINGS[kind](path)
    with blocked_on(path) if kind == "fifo" else _nothing() as seen:
        started = time.perf_counter()
        window = open_window(qtbot, home)
        took_to_start = time.perf_counter() - started
        notes = [m for m in messages if "window.ini" in m]
        assert len(notes) == 1 and "\n" not in notes[0], messages
        assert window.player.volume() == 80
        window.player.set_volume(33)
        started = time.perf_counter()
        close_window(qtbot, window)
        took_to_close = time.perf_counter() - started
    assert not seen, "window.ini was opened as a FIFO"
    print(f"\n{kind}: started in {took_to_start:.2f} s, closed in {took_to_close:.2f} s")

    if kind == "fifo":
        assert stat.S_ISFIFO(os.lstat(path).st_mode)
    elif kind == "directory":
        assert (path / "kept.txt").read_text() == "not Encore's"
    elif kind == "symlink to a device":
        device = path.parent / "null-device"
        assert path.is_symlink() and os.readlink(path) == str(device)
        assert stat.S_ISCHR(os.lstat(device).st_mode)
    else:  # replaced by a small, sound settings file that the next launch reads
        assert path.is_file() and path.stat().st_size < 64 * 1024
        messages.clear()
        again = open_window(qtbot, home)
        assert again.player.volume() == 33
        assert not [m for m in messages if "window.ini" in m]
        close_window(qtbot, again)


@contextmanager
def _nothing() -> Iterator[list[str]]:
    """No watch (the file is not a FIFO): nothing is ever seen."""
    yield []
