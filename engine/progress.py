"""Progress reports and cancellation shared by every batch step.

Batch steps (scan, analyse, train) are generators that yield :class:`Progress`
and check a :class:`CancelToken` between items, so the CLI, the GUI worker
thread and the tests can all drive them the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


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


def run(
    steps: Generator[Any, None, T],
    on_item: Callable[[Any], object] | None = None,
    cancel: CancelToken | None = None,
) -> T | None:
    """Drive a batch step to its end and return its report: the one driver.

    ``on_item`` sees everything the step yields (:class:`Progress`, and whatever else
    a front end's step adds). With ``cancel`` set, the step is closed between items (its
    ``finally`` keeps finished work) and the result is None.
    """
    while True:
        if cancel is not None and cancel.cancelled:
            steps.close()
            return None
        try:
            item = next(steps)
        except StopIteration as stop:
            return stop.value
        if on_item is not None:
            on_item(item)
