"""Inputs kept between the two halves of a pass (see :mod:`engine.passes.base`).

When the model up next needs does not exist yet, the pipeline decodes each file once,
runs the first pass, and keeps the other passes' inputs (musicnn's log-mel patches,
574 kB a track) here until their expensive half runs after training. They are plain
``.npy`` arrays (read without pickles), written whole or not at all, within a budget:
past it a file is decoded again instead. A crash leaves at most a folder the next
pipeline run empties.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import numpy as np

#: Bytes of kept inputs at most (about 1,800 tracks of musicnn patches).
BUDGET = 1 << 30


class KeptInputs:
    """A folder of pass inputs, one ``<pass>/<track id>.npy`` each."""

    def __init__(self, folder: Path, budget: int = BUDGET) -> None:
        self.folder = folder
        self.budget = budget
        self.used = 0

    def clear(self) -> None:
        """Forget every kept input (a run that stopped half-way left them)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.used = 0

    def put(self, name: str, track_id: int, array: np.ndarray) -> bool:
        """Keep ``array``; False when over the budget or the disk refuses it."""
        data = np.ascontiguousarray(array, dtype=np.float32)
        if self.used + data.nbytes > self.budget:
            return False
        path = self._path(name, track_id)
        part = path.with_suffix(".part")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(part, "wb") as out:
                np.save(out, data, allow_pickle=False)
            os.replace(part, path)
        except OSError:
            with contextlib.suppress(OSError):
                part.unlink()
            return False
        self.used += data.nbytes
        return True

    def get(self, name: str, track_id: int) -> str | None:
        """Where ``track_id``'s input of pass ``name`` is kept, or None."""
        path = self._path(name, track_id)
        return str(path) if path.is_file() else None

    def drop(self, name: str, track_id: int) -> None:
        path = self._path(name, track_id)
        with contextlib.suppress(OSError):
            size = path.stat().st_size
            path.unlink()
            self.used = max(0, self.used - size)

    def _path(self, name: str, track_id: int) -> Path:
        return self.folder / name / f"{int(track_id)}.npy"
