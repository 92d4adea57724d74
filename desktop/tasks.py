"""Start engine tasks and deliver their results in the GUI thread.

Signals from a worker thread to a plain Python callable would run the callable
in the worker thread, so every task's signals go to a :class:`_Relay` that lives
in the GUI thread (a queued connection) and calls the callbacks from there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QDeadlineTimer, QObject, Slot

from desktop.worker import Task
from engine.progress import CancelToken

Callback = Callable[..., Any] | None


class _Relay(QObject):
    def __init__(
        self,
        parent: QObject,
        succeeded: Callback,
        failed: Callback,
        progress: Callback,
        partial: Callback,
        finished: Callback,
        done: Callable[[], None],
    ) -> None:
        super().__init__(parent)
        self._done = done
        self._succeeded, self._failed = succeeded, failed
        self._progress, self._partial, self._finished = progress, partial, finished

    @Slot(object)
    def on_succeeded(self, result: object) -> None:
        if self._succeeded:
            self._succeeded(result)

    @Slot(str)
    def on_failed(self, message: str) -> None:
        if self._failed:
            self._failed(message)

    @Slot(int, int, str)
    def on_progress(self, done: int, total: int, message: str) -> None:
        if self._progress:
            self._progress(done, total, message)

    @Slot(object)
    def on_partial(self, value: object) -> None:
        if self._partial:
            self._partial(value)

    @Slot()
    def on_finished(self) -> None:
        try:
            if self._finished:
                self._finished()
        finally:
            self._done()


#: Threads that did not end when their window closed: referenced here for the rest of
#: the process, because a QThread destroyed while it runs aborts the process.
_DETACHED: list[Task] = []


def detached_threads() -> int:
    """How many task threads outlived their window and still run."""
    return sum(task.thread.isRunning() for task in _DETACHED)


class TaskRunner(QObject):
    """Starts :class:`Task` objects and holds references until their threads end.

    After :meth:`shutdown` it starts nothing: a callback of a task that ended while the
    window closed (e.g. a job's "finished" asking up next to refresh) would otherwise
    start a thread that nothing waits for.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._live: dict[Task, _Relay] = {}
        self.closed = False

    def start(
        self,
        fn: Callable[[CancelToken], Any],
        *,
        name: str = "",
        succeeded: Callback = None,
        failed: Callback = None,
        progress: Callback = None,
        partial: Callback = None,
        finished: Callback = None,
    ) -> Task:
        """Run ``fn(cancel_token)`` on a new thread; callbacks run in the GUI thread.

        Once the runner is shut down the task is returned cancelled and never started.
        """
        task = Task(fn, name)
        if self.closed:
            task.cancel()
            return task
        relay = _Relay(
            self, succeeded, failed, progress, partial, finished, lambda: self._forget(task)
        )
        task.succeeded.connect(relay.on_succeeded)
        task.failed.connect(relay.on_failed)
        task.progress.connect(relay.on_progress)
        task.partial.connect(relay.on_partial)
        task.finished.connect(relay.on_finished)
        self._live[task] = relay
        task.start()
        return task

    def _forget(self, task: Task) -> None:
        task.thread.wait(5000)  # run() has returned; the thread is only quitting
        relay = self._live.pop(task, None)
        if relay is not None:
            relay.deleteLater()

    @property
    def busy(self) -> bool:
        return any(t.thread.isRunning() for t in self._live)

    def shutdown(self, timeout_ms: int = 15_000) -> None:
        """Start nothing more, cancel everything and wait for the threads.

        Engine work checks its cancel token between items (at most about half a second
        apart, analysis workers are killed), so threads end quickly. One that has not
        ended after ``timeout_ms`` is detached: kept referenced for the rest of the
        process (see :func:`detached_threads`), never destroyed while it runs.
        """
        self.closed = True
        for task in list(self._live):
            task.cancel()
        deadline = QDeadlineTimer(timeout_ms)
        for task in list(self._live):
            if not task.thread.wait(deadline):
                _DETACHED.append(task)
