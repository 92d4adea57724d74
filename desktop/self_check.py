"""``encore --self-check``: prove this installation plays and recommends, then exit.

Used by the packaged app's smoke check and useful to anyone installing Encore: it
opens the window, plays the first track of the library (or the files given), and
passes when playback advances and the up-next panel holds five suggestions.
"""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from desktop.main_window import MainWindow

TIMEOUT_S = 120


def seconds_since_process_start() -> float | None:
    """Wall time since this process started (Linux), for the time-to-window figure."""
    import os

    try:
        with open("/proc/self/stat") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


class SelfCheck(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.window_after = seconds_since_process_start()
        self.started = time.monotonic()
        self.timer = QTimer(self)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self._poll)
        self.timer.start()

    def _poll(self) -> None:
        w = self.window
        player = w.player
        if player.track is None and not w.jobs.busy and w.view.model.rowCount():
            first = w.view.track_after(None)
            if first is not None:
                w.play(first)
        playing = player.track is not None and player.position() > 0
        suggestions = len(w.up_next.tracks)
        if playing and suggestions == 5:
            shown = (
                f"; window shown {self.window_after:.2f} s after start"
                if (self.window_after is not None)
                else ""
            )
            self._finish(
                0,
                f"self-check passed: playing “{player.track.title}”, up next holds 5 songs" + shown,
            )
        elif time.monotonic() - self.started > TIMEOUT_S:
            state = f"playing={playing}, up next={suggestions}, panel: {w.up_next.status.text()}"
            self._finish(1, f"self-check failed after {TIMEOUT_S} s: {state}")

    def _finish(self, code: int, message: str) -> None:
        self.timer.stop()
        print(message, file=sys.stdout if code == 0 else sys.stderr, flush=True)
        # exit once the window has closed for good (its media let go), not before
        self.window.closed.connect(lambda: QApplication.exit(code))
        self.window.close()
