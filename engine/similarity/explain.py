"""Short, human reasons for a recommendation: which feature families are closest,
and how the suggestion differs ("similar timbre and rhythm, brighter and faster")."""

from __future__ import annotations

import numpy as np

from engine.analysis.features import FAMILIES, FEATURE_NAMES

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
    return closeness_many(query, np.asarray(other)[None, :], weights)[0]


def closeness_many(
    query: np.ndarray, others: np.ndarray, weights: np.ndarray
) -> list[dict[str, float]]:
    """:func:`family_closeness` for every row of ``others`` at once."""
    squared = (np.asarray(others, dtype=np.float64) - query) ** 2
    columns = {}
    for family, sl in FAMILIES.items():
        expected = 2.0 * float((weights[sl] ** 2).sum()) or 1.0
        columns[family] = (squared[:, sl].sum(axis=1) / expected).tolist()
    return [{f: columns[f][row] for f in FAMILIES} for row in range(len(squared))]


#: Interpretable features -> words for "the suggestion has more" and "has less".
DIRECTIONS: tuple[tuple[str, str, str], ...] = (
    ("centroid_mean", "brighter", "darker"),
    ("tempo_log2", "faster", "slower"),
    ("rms_db_mean", "louder", "quieter"),
    ("onset_rate", "busier", "sparser"),
)
#: A difference of this many standard deviations (over the library) is worth saying.
NOTABLE = 0.75


def differences_many(query: np.ndarray, others: np.ndarray, weights: np.ndarray) -> list[list[str]]:
    """Per row of ``others``, words for its notable differences from ``query``, largest
    first. Vectors are in the model's weighted standardised space, so dividing by the
    weights gives differences in library standard deviations."""
    columns = [FEATURE_NAMES.index(name) for name, _, _ in DIRECTIONS]
    deltas = (np.asarray(others)[:, columns] - query[columns]) / np.where(
        weights[columns] != 0, weights[columns], 1.0
    )
    out = []
    for row in deltas.tolist():
        found = [
            (abs(d), more if d > 0 else less)
            for d, (_, more, less) in zip(row, DIRECTIONS, strict=True)
            if abs(d) >= NOTABLE
        ]
        out.append([word for _, word in sorted(found, reverse=True)])
    return out


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
