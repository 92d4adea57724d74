"""Module-level analysis functions for worker-process tests (spawned workers import them)."""

import os
import signal
import time
from pathlib import Path

import numpy as np


def crash_or_vector(path: str) -> np.ndarray:
    """Dies like a segfaulting decoder on ``crash`` files, raises on ``raise`` files.

    ``flaky`` files crash the first time only (a marker file beside them remembers),
    ``hang`` files never finish, ``killed`` files die as the out-of-memory killer
    ends a process (SIGKILL).
    """
    name = os.path.basename(path)
    if "flaky" in name:
        marker = Path(f"{path}.crashed")
        if not marker.exists():
            marker.touch()
            os._exit(139)
    if "crash" in name:
        os._exit(139)
    if "killed" in name:
        os.kill(os.getpid(), signal.SIGKILL)
    if "hang" in name:
        time.sleep(3600)
    if "raise" in name:
        raise ValueError("simulated decoder bug")
    if "slow" in name:
        time.sleep(0.5)
    return np.full(3, float(len(name)), dtype=np.float32)
