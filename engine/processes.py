"""Background worker processes: spawned (safe from a GUI thread) and low priority."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from multiprocessing.context import SpawnContext

#: How often a worker checks that the process that started it is still there.
PARENT_CHECK_SECONDS = 0.5


def spawn_context() -> SpawnContext:
    """Spawned, not forked: forking a process that runs Qt threads is unsafe."""
    return multiprocessing.get_context("spawn")


def lower_priority() -> None:
    """Make this process yield the CPU to the player's window and audio."""
    if hasattr(os, "nice"):
        os.nice(10)


def exit_with_parent(parent_pid: int) -> None:
    """End this worker soon after ``parent_pid`` dies (e.g. ``kill -9`` of encore).

    A pool worker waits for work on a pipe its parent never closes when it is killed,
    so without this it would sit forever as an orphan, holding its libraries' memory.
    POSIX gives an orphan a new parent process id: a daemon thread watches for that.
    """
    if os.name != "posix":
        return  # Windows keeps the old parent id; Job objects would be needed there

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def init_worker(parent_pid: int) -> None:
    """Pool initializer for background workers: low priority, gone with the parent."""
    exit_with_parent(parent_pid)
    lower_priority()
