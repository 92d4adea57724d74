"""Progress reports and cancellation shared by every batch step.

Batch steps (scan, analyse, train) are generators that yield :class:`Progress`
and check a :class:`CancelToken` between items, so the CLI, the GUI worker
thread and the tests can all drive them the same way.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Progress:
    """One step of a batch job.

    ``total`` is 0 when the amount of work is not known yet (e.g. while walking
    folders).
    """

    done: int
    total: int
    current: str = ""
    message: str = ""


class CancelToken:
    """A thread-safe flag a long loop checks between items."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()
