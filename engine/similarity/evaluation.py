"""Leave-one-out precision@k: how often the k nearest tracks share a label."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.tracks import Track

LABELS = ("genre", "artist", "album", "folder")


def label_of(track: Track, label: str) -> str:
    """The track's value for ``label`` (empty when unknown)."""
    if label == "folder":
        return os.path.dirname(track.path)
    if label not in LABELS:
        raise ValueError(f"unknown label {label!r}; choose from {', '.join(LABELS)}")
    return str(getattr(track, label) or "").strip()


def precision_at_k(
    vectors: np.ndarray, labels: Sequence[str], k: int = 5, *, chunk: int = 1024
) -> dict[str, Any]:
    """Leave-one-out precision@k over the tracks that have a label.

    Each labelled track queries the others; precision is the share of its k
    nearest (Euclidean, in the given space) with the same label. ``chance`` is
    the expected precision of random neighbours and ``majority`` the share of
    the most common label (what always answering that label would score).
    """
    labels = list(labels)
    keep = np.array([bool(lab) for lab in labels], dtype=bool)
    X = np.asarray(vectors, dtype=np.float32)[keep]
    y = np.array([lab for lab, ok in zip(labels, keep, strict=True) if ok], dtype=object)
    n = len(y)
    counts = Counter(y.tolist())
    if n < 2 or k < 1:
        return {
            "k": k,
            "n": n,
            "precision": None,
            "chance": None,
            "majority": None,
            "per_label": {},
        }
    k = min(k, n - 1)
    _, codes = np.unique(y, return_inverse=True)
    sq = (X**2).sum(1)
    hits = np.zeros(n, dtype=np.float64)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        d = sq[start:stop, None] - 2 * X[start:stop] @ X.T + sq[None, :]
        d[np.arange(stop - start), np.arange(start, stop)] = np.inf  # leave the query out
        nearest = np.argpartition(d, k - 1, axis=1)[:, :k]
        hits[start:stop] = (codes[nearest] == codes[start:stop, None]).mean(1)
    chance = np.mean([(counts[lab] - 1) / (n - 1) for lab in y])
    per_label = {lab: round(float(hits[y == lab].mean()), 4) for lab in sorted(counts, key=str)}
    return {
        "k": k,
        "n": n,
        "precision": round(float(hits.mean()), 4),
        "chance": round(float(chance), 4),
        "majority": round(max(counts.values()) / n, 4),
        "per_label": per_label,
    }
