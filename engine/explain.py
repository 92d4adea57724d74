"""Short, human reasons for a recommendation: which feature families are closest,
and how the suggestion differs ("similar timbre and rhythm, brighter and faster")."""

from __future__ import annotations

import numpy as np

from engine.features import FAMILIES, FEATURE_NAMES

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


#: Interpretable features -> words for "the suggestion has more" and "has less".
DIRECTIONS: tuple[tuple[str, str, str], ...] = (
    ("centroid_mean", "brighter", "darker"),
    ("tempo_log2", "faster", "slower"),
    ("rms_db_mean", "louder", "quieter"),
    ("onset_rate", "busier", "sparser"),
)
#: A difference of this many standard deviations (over the library) is worth saying.
NOTABLE = 0.75


def differences(query: np.ndarray, other: np.ndarray, weights: np.ndarray) -> list[str]:
    """Words for the notable differences of ``other`` from ``query``, largest first.

    Vectors are in the model's weighted standardised space, so dividing by the
    weights gives differences in library standard deviations.
    """
    found = []
    for name, more, less in DIRECTIONS:
        i = FEATURE_NAMES.index(name)
        delta = float(other[i] - query[i]) / float(weights[i] or 1.0)
        if abs(delta) >= NOTABLE:
            found.append((abs(delta), more if delta > 0 else less))
    return [word for _, word in sorted(found, reverse=True)]


def reason(closeness: dict[str, float], different: list[str] | None = None) -> str:
    """e.g. ``"similar timbre and rhythm, brighter"``; says so when nothing is close."""
    ranked = sorted(closeness.items(), key=lambda kv: kv[1])
    close = [FAMILY_LABELS[f] for f, v in ranked if v < 0.5][:2]
    if not close:
        text = f"nearest available; closest in {FAMILY_LABELS[ranked[0][0]]}"
    else:
        text = "similar " + " and ".join(close)
    if different:
        text += ", " + " and ".join(different[:2])
    return text
