"""Background worker processes: spawned (safe from a GUI thread) and low priority."""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.context import SpawnContext


def spawn_context() -> SpawnContext:
    """Spawned, not forked: forking a process that runs Qt threads is unsafe."""
    return multiprocessing.get_context("spawn")


def lower_priority() -> None:
    """Make this process yield the CPU to the player's window and audio."""
    if hasattr(os, "nice"):
        os.nice(10)
