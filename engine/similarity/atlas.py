"""The library seen whole: a 2-D map, steering, journeys and named clusters.

All of it works in the model's space (standardised, family-weighted features), the
same space recommendations rank in, so what the map and the clusters show agrees
with up next. The 2-D map is a PCA projection: it keeps the broad layout but not
every neighbourhood, so the view can always show the true high-dimensional
neighbours on demand (:func:`neighbours`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engine.analysis.features import FEATURE_NAMES
from engine.similarity.index import ClusterIndex
from engine.tracks import Track

#: Steering moves: features pushed up (+1) or down (-1), in library standard deviations.
STEERING: dict[str, dict[str, float]] = {
    "more energetic": {"rms_db_mean": 1.0, "onset_rate": 1.0, "onset_mean": 1.0},
    "calmer": {"rms_db_mean": -1.0, "onset_rate": -1.0, "onset_mean": -1.0},
    "faster": {"tempo_log2": 1.0, "onset_rate": 0.5},
    "slower": {"tempo_log2": -1.0, "onset_rate": -0.5},
    "brighter": {"centroid_mean": 1.0, "rolloff_mean": 1.0},
    "darker": {"centroid_mean": -1.0, "rolloff_mean": -1.0},
}
#: Each move's opposite: pressing one takes back a press of the other.
OPPOSITE: dict[str, str] = {
    "more energetic": "calmer",
    "calmer": "more energetic",
    "faster": "slower",
    "slower": "faster",
    "brighter": "darker",
    "darker": "brighter",
}
#: Words of a reason that would contradict a move (see engine.similarity.explain).
CONTRADICTS: dict[str, frozenset[str]] = {
    "more energetic": frozenset({"quieter", "sparser"}),
    "calmer": frozenset({"louder", "busier"}),
    "faster": frozenset({"slower"}),
    "slower": frozenset({"faster"}),
    "brighter": frozenset({"darker"}),
    "darker": frozenset({"brighter"}),
}
#: One press of a steering button moves the query this many standard deviations …
STEP = 1.0
#: … and ranks a candidate as if exp(-PULL * d) as far, d its shift the asked way
#: (in standard deviations): "similar, but faster" rather than "the fastest".
PULL = 0.5

# Cluster descriptions when tags say nothing: feature, word when high, word when low.
_DESCRIBE = (
    ("tempo_log2", "fast", "slow"),
    ("centroid_mean", "bright", "dark"),
    ("onset_rate", "busy", "sparse"),
    ("rms_db_mean", "loud", "quiet"),
)


@dataclass(frozen=True)
class Projection:
    """Track ids with 2-D map positions (PCA of the model's space) and clusters."""

    ids: np.ndarray  # (n,) int64
    xy: np.ndarray  # (n, 2) float32
    clusters: np.ndarray  # (n,) int64, the nearest KMeans centroid
    explained: float  # share of the variance the two axes show


@dataclass(frozen=True)
class Cluster:
    """One KMeans cluster: its members and a generated name."""

    number: int
    name: str
    track_ids: list[int]


@dataclass(frozen=True)
class Atlas:
    """The library seen whole: the map, the clusters, and the tracks they show."""

    projection: Projection
    clusters: list[Cluster]
    tracks: Mapping[int, Track]


#: How many true neighbours the map draws for a song.
NEIGHBOURS = 5


def project(index: ClusterIndex) -> Projection:
    """The PCA map of every analysed track (exact SVD of the centred vectors)."""
    X = index.vectors.astype(np.float64)
    if len(X) < 2:
        xy = np.zeros((len(X), 2), dtype=np.float32)
        return Projection(index.ids.copy(), xy, index.labels.copy(), 1.0)
    centred = X - X.mean(axis=0)
    # the 98x98 covariance, not the n x 98 SVD: the same axes, fast at a million tracks
    values, vectors = np.linalg.eigh(centred.T @ centred)
    axes = vectors[:, ::-1][:, :2]
    # an eigenvector's sign is arbitrary: fix it (largest loading positive) so the map
    # does not mirror itself when a song is added
    axes = axes * np.sign(axes[np.abs(axes).argmax(axis=0), [0, 1]])
    xy = (centred @ axes).astype(np.float32)
    explained = float(values[::-1][:2].sum() / max(values.sum(), 1e-12))
    return Projection(index.ids.copy(), xy, index.labels.copy(), explained)


def steer(query: np.ndarray, weights: np.ndarray, moves: Mapping[str, int]) -> np.ndarray:
    """``query`` moved along the interpretable directions: ``{"faster": 2, "calmer": 1}``.

    Directions are in standard deviations of the library, scaled into the model's
    weighted space, so one step means the same on every library.
    """
    moved = np.array(query, dtype=np.float32, copy=True)
    for move, presses in moves.items():
        if move not in STEERING:
            raise ValueError(f"unknown move {move!r}; choose from {', '.join(STEERING)}")
        for feature, sign in STEERING[move].items():
            i = FEATURE_NAMES.index(feature)
            moved[i] += presses * STEP * sign * weights[i]
    return moved


def press(moves: Mapping[str, int], move: str) -> dict[str, int]:
    """The moves after pressing ``move``: one more of it, or one fewer of its opposite
    ("calmer" then "more energetic" is unsteered)."""
    if move not in STEERING:
        raise ValueError(f"unknown move {move!r}; choose from {', '.join(STEERING)}")
    out = {m: n for m, n in moves.items() if n > 0}
    opposite = OPPOSITE[move]
    if out.get(opposite):
        out[opposite] -= 1
        if not out[opposite]:
            del out[opposite]
    else:
        out[move] = out.get(move, 0) + 1
    return out


def steer_bias(
    query: np.ndarray, vectors: np.ndarray, weights: np.ndarray, moves: Mapping[str, int]
) -> np.ndarray:
    """Per candidate, the factor its distance is multiplied by when ranking steered
    suggestions: below 1 for songs that differ from ``query`` the asked way."""
    shift = np.zeros(len(vectors))
    for move, presses in moves.items():
        for feature, sign in STEERING[move].items():
            i = FEATURE_NAMES.index(feature)
            shift += presses * sign * (vectors[:, i] - query[i]) / (weights[i] or 1.0)
    return np.exp(-PULL * np.clip(shift, -6.0, 6.0))


def journey(
    index: ClusterIndex, start: int, end: int, steps: int, *, avoid: Iterable[int] = ()
) -> list[int]:
    """``steps`` tracks leading from ``start`` to ``end`` (both excluded), no repeats.

    Each step is the nearest unused track to an evenly spaced point on the straight
    line between the two in the model's space, so consecutive steps stay close and
    the path ends next to the destination.
    """
    if steps < 1:
        return []
    a, b = index.vector(start), index.vector(end)
    used = {int(start), int(end), *(int(t) for t in avoid)}
    path: list[int] = []
    for i in range(1, steps + 1):
        target = a + (b - a) * (i / (steps + 1))
        ids, _ = index.search(target, 1, exclude=used)
        if not len(ids):
            break
        path.append(int(ids[0]))
        used.add(int(ids[0]))
    return path


def neighbours(index: ClusterIndex, track_id: int, n: int = NEIGHBOURS) -> list[int]:
    """The true nearest tracks in the full space (what the 2-D map can misplace)."""
    ids, _ = index.search(index.vector(track_id), n, exclude=[track_id])
    return [int(i) for i in ids]


def clusters(index: ClusterIndex, tracks: Mapping[int, Track]) -> list[Cluster]:
    """Every non-empty cluster, largest first, with a name.

    The name is the dominant genre tag when at least half of the members share one;
    otherwise a description of how the centroid differs from the library average
    ("slow, dark, sparse"), from the model's standardised space.
    """
    out = []
    for c in range(len(index.centroids)):
        lo, hi = index.offsets[c], index.offsets[c + 1]
        members = [int(t) for t in index.ids[lo:hi]]
        if not members:
            continue
        out.append(
            Cluster(c, _name(index, c, [tracks[t] for t in members if t in tracks]), members)
        )
    out.sort(key=lambda cl: (-len(cl.track_ids), cl.number))
    return _unique_names(out)


def _name(index: ClusterIndex, c: int, members: Sequence[Track]) -> str:
    genres = Counter(t.genre.strip() for t in members if t.genre.strip())
    if genres:
        genre, count = genres.most_common(1)[0]
        if count >= len(members) / 2:
            return genre
    centre = index.centroids[c]
    words = []
    # the centroid relative to the average track (the origin of the standardised space)
    scale = np.abs(index.vectors).mean(axis=0) + 1e-9
    for feature, high, low in _DESCRIBE:
        i = FEATURE_NAMES.index(feature)
        z = float(centre[i] / scale[i])
        if abs(z) >= 0.5:
            words.append((abs(z), high if z > 0 else low))
    words.sort(reverse=True)
    return ", ".join(w for _, w in words[:3]) or "middle of the road"


def _unique_names(found: list[Cluster]) -> list[Cluster]:
    seen: Counter[str] = Counter(c.name for c in found)
    counter: Counter[str] = Counter()
    out = []
    for c in found:
        if seen[c.name] > 1:
            counter[c.name] += 1
            c = Cluster(c.number, f"{c.name} {counter[c.name]}", c.track_ids)
        out.append(c)
    return out
