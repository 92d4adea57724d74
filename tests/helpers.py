"""Helpers the tests share: the one ``encore`` runner, generated songs, the window."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from engine.datasets.synth import STYLES, render

ROOT = Path(__file__).resolve().parents[1]
#: The generated library (the ``music_dir`` fixture): styles x PER_STYLE tracks of SECONDS.
PER_STYLE = 8
SECONDS = 12.0


def encore(
    home: Path | str | None,
    *args: str,
    check: bool = True,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: int = 600,
) -> subprocess.CompletedProcess:
    """``encore [--home HOME] ARGS`` in a process of its own, as a user's shell runs it.

    ``env`` is the whole environment (default: this one); ``check`` asserts exit code 0.
    """
    result = subprocess.run(
        [sys.executable, "-m", "engine", *(["--home", str(home)] if home else []), *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env={"PYTHONIOENCODING": "utf-8", **(os.environ if env is None else env)},
        timeout=timeout,
    )
    if check:
        assert result.returncode == 0, result.stderr[-5000:]
    return result


def style_of(path: str) -> str:
    """The style a generated file belongs to (its folder name)."""
    style = Path(path).parent.name
    assert style in STYLES
    return style


def write_songs(folder: Path, count: int, *, seconds: float = 4.0, ext: str = "ogg") -> list[Path]:
    """``count`` generated songs of rotating styles, named ``NN Style.ext``."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    styles = list(STYLES)
    paths = []
    for i in range(count):
        style = styles[i % len(styles)]
        path = folder / f"{i:02d} {style}.{ext}"
        sf.write(path, render(style, i, seconds=seconds), 22050)
        paths.append(path)
    return paths


# -- the window (pytest-qt) --------------------------------------------------------------


def open_window(qtbot: Any, home: Path) -> Any:
    """The main window on ``home``, shown, once its start-up job is done."""
    from desktop.main_window import MainWindow
    from engine.library import Library

    window = MainWindow(Library(home))
    qtbot.addWidget(window)
    window.show()
    # the start-up job may analyse a few songs: generous, for a loaded machine
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=60_000)
    return window


def close_window(qtbot: Any, window: Any) -> None:
    """Close as a user does, and wait for both steps (see ``MainWindow.closeEvent``)."""
    window.close()
    qtbot.waitUntil(lambda: window.player.is_released and not window.isVisible(), timeout=20_000)
    assert not window.runner.busy
    window.library.close()


class Heartbeat:
    """A 10 ms timer on the GUI thread; the longest gap between ticks is the worst stall."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.longest = 0.0
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._last)
        self._last = now
