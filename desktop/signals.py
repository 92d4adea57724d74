"""SIGTERM and SIGHUP close Encore's window as if the user closed it, at any moment.

:func:`catch` is called first thing on the window's path (before Qt is even imported),
so a signal that arrives while Encore starts is not fatal: it is remembered, and the
window closes as soon as it exists. This module imports nothing heavy.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType

NAMES = ("SIGTERM", "SIGHUP")

_received: list[int] = []
_close: Callable[[], None] | None = None


def _handler(signum: int, _frame: FrameType | None) -> None:
    _received.append(signum)
    if _close is not None:
        _close()


def catch() -> None:
    """From now on SIGTERM and SIGHUP are remembered (and close the window, once set)."""
    for name in NAMES:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _handler)


def on_signal(close: Callable[[], None]) -> bool:
    """Call ``close`` on every later signal; True when one arrived already."""
    global _close
    _close = close
    catch()
    return bool(_received)
