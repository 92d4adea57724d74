"""One space from both analysis passes: the hand-made features and the musicnn embedding.

Each family is brought to the same typical distance, then weighted by its share; a
track the second pass has not heard yet gets the embedding's mean (zero after
standardising), so it ranks by its hand-made features alone until it has one.
The shares were chosen by measurement (``benchmarks/neural_quality.py``).
"""

from __future__ import annotations

import numpy as np

#: The neural family's share of a typical distance (0: hand-made features only).
NEURAL_SHARE = 0.5


def standardise(E: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and scale of embeddings (a constant dimension keeps scale 1)."""
    E = np.asarray(E, dtype=np.float64)
    scale = E.std(axis=0)
    return E.mean(axis=0).astype(np.float32), np.where(scale > 1e-6, scale, 1.0).astype(np.float32)


def to_space(E: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Embeddings → the neural family's space: standardised, then on the unit sphere
    (cosine distance, the better of the two by measurement)."""
    Z = (np.asarray(E, dtype=np.float32) - mean) / scale
    norms = np.linalg.norm(Z, axis=1, keepdims=True)
    return np.ascontiguousarray(Z / np.where(norms > 0, norms, 1.0), dtype=np.float32)


def neural_space(E: np.ndarray) -> np.ndarray:
    """:func:`to_space` with statistics from ``E`` itself (for measuring)."""
    return to_space(E, *standardise(E))


def typical_distance(Z: np.ndarray, seed: int = 0, pairs: int = 4000) -> float:
    """Median distance between random pairs of rows (1.0 for fewer than two rows)."""
    if len(Z) < 2:
        return 1.0
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(Z), (2, pairs))
    d = np.linalg.norm(Z[a] - Z[b], axis=1)
    d = d[d > 0]
    return float(np.median(d)) if len(d) else 1.0


def combine(
    H: np.ndarray,
    centroids: np.ndarray,
    N: np.ndarray,
    heard: np.ndarray,
    share: float = NEURAL_SHARE,
) -> tuple[np.ndarray, np.ndarray]:
    """The index's vectors and centroids over both families.

    ``H`` are the hand-made features in the model's space (kept as they are, so the
    reasons and steering, which read its first columns, are unchanged) and
    ``centroids`` the model's; ``N`` the neural rows (:func:`to_space`), aligned with
    ``H``, zero where ``heard`` is false. The neural columns are scaled so that they make
    ``share`` of a typical squared distance; each centroid gets the mean neural part of
    the tracks nearest to it.
    """
    if not 0 < share < 1 or heard.sum() < 2:
        return H, centroids
    factor = typical_distance(H) / typical_distance(N[heard]) * np.sqrt(share / (1 - share))
    neural = (N * factor).astype(np.float32)
    nearest = np.argmin(
        (H**2).sum(1)[:, None] - 2 * H @ centroids.T + (centroids**2).sum(1)[None, :], axis=1
    )
    parts = np.zeros((len(centroids), N.shape[1]), dtype=np.float32)
    for c in range(len(centroids)):
        members = neural[(nearest == c) & heard]
        if len(members):
            parts[c] = members.mean(axis=0)
    Z = np.ascontiguousarray(np.hstack([H, neural]), dtype=np.float32)
    return Z, np.ascontiguousarray(np.hstack([centroids, parts]), dtype=np.float32)
