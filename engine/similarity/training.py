"""Train the model in a separate, low-priority process.

Clustering is CPU-heavy and importing scikit-learn holds the interpreter lock for
a long moment; doing both in another process keeps the player's window fluid
and lets a cancel stop training at once.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

import numpy as np

from engine.processes import init_worker, spawn_context
from engine.progress import CancelToken, Progress
from engine.similarity.model import ModelCard, SimilarityModel


def fit_and_save(
    X: np.ndarray, clusters: int | None, folder: str, weights: dict[str, float] | None = None
) -> ModelCard:
    """Fit a :class:`SimilarityModel` on ``X`` and save it in ``folder``; return its card."""
    return SimilarityModel(clusters, weights=weights).fit(X).save(Path(folder))


def train_in_process(
    X: np.ndarray,
    clusters: int | None,
    folder: Path,
    cancel: CancelToken | None = None,
    weights: dict[str, float] | None = None,
) -> Generator[Progress, None, ModelCard | None]:
    """Run :func:`fit_and_save` in a worker process; ``None`` when cancelled.

    Errors raised while fitting (e.g. ``ModelError``) are re-raised here.
    """
    message = f"Clustering {len(X)} tracks"
    pool = spawn_context().Pool(1, initializer=init_worker, initargs=(os.getpid(),))
    try:
        result = pool.apply_async(fit_and_save, (X, clusters, str(folder), weights))
        while not result.ready():
            if cancel and cancel.cancelled:
                pool.terminate()  # the save is atomic: the previous model stays intact
                return None
            yield Progress(1, 3, "", message)
            result.wait(0.2)
        card = result.get()
        pool.close()
        return card
    finally:
        pool.terminate()
        pool.join()
