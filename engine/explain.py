"""Short, human reasons for a recommendation: which feature families are closest."""

from __future__ import annotations

import numpy as np

from engine.features import FAMILIES

#: Family -> how the reason names it.
FAMILY_LABELS: dict[str, str] = {
    "timbre": "timbre",
    "spectral": "brightness",
    "harmony": "harmony",
    "rhythm": "rhythm",
    "loudness": "dynamics",
}


def family_closeness(query: np.ndarray, other: np.ndarray, weights: np.ndarray) -> dict[str, float]:
    """Per-family squared distance relative to that family's typical distance.

    In the weighted standardised space two random tracks are, on average, at
    squared distance ``2 * sum(w**2)`` within a family, so 1.0 means "as far
    apart as two random tracks" and 0 means identical.
    """
    out: dict[str, float] = {}
    for family, sl in FAMILIES.items():
        expected = 2.0 * float((weights[sl] ** 2).sum()) or 1.0
        diff = query[sl] - other[sl]
        out[family] = float(np.dot(diff, diff)) / expected
    return out


def reason(closeness: dict[str, float]) -> str:
    """e.g. ``"close in timbre and rhythm"``; says so when nothing is close."""
    ranked = sorted(closeness.items(), key=lambda kv: kv[1])
    close = [FAMILY_LABELS[f] for f, v in ranked if v < 0.5][:2]
    if not close:
        return f"nearest available; closest in {FAMILY_LABELS[ranked[0][0]]}"
    if len(close) == 1:
        return f"close in {close[0]}"
    return f"close in {close[0]} and {close[1]}"
