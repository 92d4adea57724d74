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


def analyse_or_fail(path: str, job: object) -> object:
    """The passes' worker (:func:`engine.passes.worker.analyse_file`) with a network gone
    wrong on some files, whenever it runs the second pass: NaN output for ``nan`` files,
    infinite for ``inf`` ones; ``crash`` files crash the worker and ``hang`` files never
    finish (each time: no retry helps)."""
    from engine.passes.worker import analyse_file

    name = os.path.basename(path)
    neural = "musicnn" in job.compute  # type: ignore[attr-defined]
    if neural and "crash" in name:
        os._exit(139)
    if neural and "hang" in name:
        time.sleep(3600)
    result = analyse_file(path, job)  # type: ignore[arg-type]
    vector = result.vectors.get("musicnn")
    if vector is not None and "nan" in name:
        vector[:7] = np.nan
    if vector is not None and "inf" in name:
        vector[3] = np.inf
    return result
