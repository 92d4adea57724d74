"""Progress on stderr while a batch step runs."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Generator
from typing import TextIO, TypeVar

from engine.cli.output import shown
from engine.progress import Progress, run
from engine.tracks import clock

T = TypeVar("T")


class ProgressPrinter:
    """A one-line progress bar with an ETA on stderr; sparse plain lines when not a terminal."""

    #: Steps shorter than this are not worth log lines when stderr is not a terminal.
    MIN_LOGGED_TOTAL = 20

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._last = 0.0
        self._step = -1
        self._width = 0
        self._started: dict[str, float] = {}

    def show(self, progress: Progress) -> None:
        """Draw one step's progress (the batch steps' :class:`Progress`)."""
        done, total, message, current = (
            progress.done,
            progress.total,
            shown(progress.message),  # may name a file
            progress.current,
        )
        now = time.monotonic()
        started = self._started.setdefault(message, now)
        if self.tty:
            if now - self._last < 0.1 and done != total:
                return
            columns = shutil.get_terminal_size((80, 24)).columns - 1
            if total:
                eta = ""
                if 0 < done < total and now - started > 2:
                    eta = f" ~{clock((now - started) / done * (total - done))} left"
                head = f"{message} {done}/{total}{eta} "
                bar_width = max(0, min(30, columns - len(head) - 2))
                filled = bar_width * done // total
                line = f"{head}[{'#' * filled}{'.' * (bar_width - filled)}]" if bar_width else head
            else:
                line = message
            if current and len(line) + 3 < columns:
                name = shown(os.path.basename(current))
                line += " " + name[: columns - len(line) - 1]
            line = line[:columns]
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
            self.stream.flush()
        elif total >= self.MIN_LOGGED_TOTAL:
            step = 10 * done // total
            if step != self._step:  # one line per tenth, so logs stay short
                self._step = step
                self.stream.write(f"{message}: {done}/{total}\n")
        self._last = now

    def close(self) -> None:
        """Clear the bar from the terminal, so the next line starts clean."""
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
        self._width = 0
        self._step = -1


def drive(steps: Generator[Progress, None, T], printer: ProgressPrinter) -> T:
    """Run a batch step with ``printer`` drawing its progress; return its report."""
    try:
        return run(steps, printer.show)  # type: ignore[return-value] - never cancelled
    finally:
        printer.close()
