"""Shared fixtures: a temporary state folder and a generated, labelled library."""

from __future__ import annotations

import os
from pathlib import Path

# Before anything imports Qt or numba: no display, and numba's compiled cache in a
# persistent folder outside the clone so only the very first run pays for compiling.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "encore" / "numba"))
# Windows under test never join the desktop's session bus as media players (the MPRIS
# tests start a private bus of their own).
os.environ["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent/encore-tests-bus"

import faulthandler
import sys
from collections.abc import Generator

import pytest

from engine.datasets.synth import make_library
from tests.helpers import PER_STYLE, SECONDS

#: Seconds a test (its set-up, call and tear-down) may take before the watchdog ends the
#: run; ``@pytest.mark.timeout(N)`` gives one test longer. The slowest test takes ~40 s.
WATCHDOG_SECONDS = 300
#: Seconds the interpreter may take to exit once the last test is done (Qt tears down).
EXIT_SECONDS = 60


def _watchdog_seconds(item: pytest.Item) -> float:
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        return float(marker.args[0])
    return float(item.config.getini("timeout") or WATCHDOG_SECONDS)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator:
    """A watchdog that fires even while the Python lock is held.

    pytest-timeout's thread needs the Python lock to act, so a deadlock between the GUI
    thread (holding it, waiting on Qt) and a Qt thread (waiting for it) holds CI until
    its limit. faulthandler's watchdog is a C thread: it writes every thread's stack to
    stderr and ends the process with exit code 1, so a hang becomes a failed run with a
    stack. It is a few seconds behind pytest-timeout, which reports more politely first.
    """
    seconds = _watchdog_seconds(item) + 15
    faulthandler.dump_traceback_later(seconds, exit=True, file=_terminal(item.config))
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Bound the interpreter's exit too (Qt objects are destroyed then)."""
    faulthandler.dump_traceback_later(EXIT_SECONDS, exit=True, file=_terminal(config))


def _terminal(config: pytest.Config) -> int:
    """The file descriptor of the run's real stderr, not of a test's captured output
    (which a process that ends at once would never show)."""
    capture = config.pluginmanager.getplugin("capturemanager")
    saved = getattr(
        getattr(getattr(capture, "_global_capturing", None), "err", None), "targetfd_save", None
    )
    return saved if isinstance(saved, int) else sys.__stderr__.fileno()


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test ever touches the real user data folder."""
    monkeypatch.setenv("ENCORE_HOME", str(tmp_path / "encore-home"))


@pytest.fixture(scope="session")
def music_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only labelled library: 5 styles x 8 tracks in mp3/ogg/flac/wav/opus/m4a."""
    folder = tmp_path_factory.mktemp("music")
    make_library(
        folder,
        per_style=PER_STYLE,
        seconds=SECONDS,
        formats=("mp3", "ogg", "flac", "wav", "opus", "m4a"),
    )
    return folder


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, music_dir: Path):
    """A Library over ``music_dir``, scanned, analysed and trained once per session.

    Tests must treat it as read-only; tests that change a library build their own.
    """
    from engine.library import Library, run

    library = Library(tmp_path_factory.mktemp("trained-home"))
    run(library.scan([str(music_dir)]))
    run(library.analyze())
    run(library.train())
    run(library.listen())  # the second pass too, as `encore scan` does
    yield library
    library.close()


@pytest.fixture
def trained_home(trained, tmp_path: Path) -> Path:
    """A private copy of the session's trained library state, for tests that change it."""
    import shutil

    trained._store.close()  # flush WAL to disk before copying; it reopens lazily
    home = tmp_path / "home"
    shutil.copytree(trained.home, home)
    return home


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory):
    """A MongoDB wire-protocol server (nx-27017, in memory) on a free loopback port.

    Yields its base URI; each test uses its own database in it.
    """
    import shutil
    import socket
    import subprocess
    import sys
    import time

    from pymongo import MongoClient

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = shutil.which("nx-27017", path=str(Path(sys.executable).parent))
    assert exe, "nx-27017 is a dev dependency: install the dev group"
    # its own pid file: nx-27017 refuses to start while another one's pid file exists
    pid_file = tmp_path_factory.mktemp("nx") / "nx.pid"
    args = ["--data-dir", "memory", "--host", "127.0.0.1", "-p", str(port), "--threaded"]
    server = subprocess.Popen(
        [exe, *args, "--pid-file", str(pid_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uri = f"mongodb://127.0.0.1:{port}"
    client = MongoClient(uri, serverSelectionTimeoutMS=200)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.admin.command("ping")
            break
        except Exception:
            assert time.monotonic() < deadline, "the nx-27017 server did not start"
            time.sleep(0.1)
    client.close()
    yield uri
    server.terminate()
    server.wait(10)
