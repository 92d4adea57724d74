"""Run engine work off the GUI thread.

A :class:`Task` is a QObject moved to its own QThread. It runs a plain Python
callable: if the callable returns a generator of ``Progress`` (an engine batch
step) the task drives it, re-emitting progress, and checks a thread-safe
:class:`~engine.progress.CancelToken` between items (a queued "cancel" slot would
never run while ``run()`` loops). ``finished`` is always emitted; ``succeeded``
is never emitted after a cancel or an error.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine.progress import CancelToken, Progress, run


class Task(QObject):
    """One piece of engine work on a dedicated thread."""

    progress = Signal(int, int, str)  # done, total, message
    partial = Signal(object)  # anything else a batch step yields (e.g. a library snapshot)
    succeeded = Signal(object)  # the result (a batch step's report)
    failed = Signal(str)  # a user-facing message
    finished = Signal()

    def __init__(self, fn: Callable[[CancelToken], Any], name: str = "") -> None:
        super().__init__()
        self.fn = fn
        self.name = name
        self.token = CancelToken()
        self.thread = QThread()
        self.thread.setObjectName(name or "engine-task")
        self.moveToThread(self.thread)
        self.thread.started.connect(self.run)

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        self.token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    @Slot()
    def run(self) -> None:
        try:
            result = self.fn(self.token)
            if inspect.isgenerator(result):
                result = run(result, self._relay, self.token)
            if not self.token.cancelled:
                self.succeeded.emit(result)
        except Exception as exc:  # report, never take the GUI down
            if not self.token.cancelled:
                message = str(exc) or type(exc).__name__
                traceback.print_exc()
                self.failed.emit(message)
        finally:
            self.finished.emit()
            # Quit from inside the thread: a queued quit() would wait for the GUI thread,
            # which may itself be blocked waiting for this thread (e.g. while closing).
            self.thread.quit()

    def _relay(self, item: object) -> None:
        if isinstance(item, Progress):
            self.progress.emit(item.done, item.total, item.message)
        else:
            self.partial.emit(item)
