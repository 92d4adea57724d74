"""Module-level analysis functions for worker-process tests (spawned workers import them)."""

import os
import time

import numpy as np


def crash_or_vector(path: str) -> np.ndarray:
    """Dies like a segfaulting decoder on ``crash`` files, raises on ``raise`` files."""
    name = os.path.basename(path)
    if "crash" in name:
        os._exit(139)
    if "raise" in name:
        raise ValueError("simulated decoder bug")
    if "slow" in name:
        time.sleep(0.5)
    return np.full(3, float(len(name)), dtype=np.float32)
