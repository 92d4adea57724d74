"""Nearest-neighbour search that uses the KMeans clusters as an index.

Tracks are grouped by their nearest centroid (tracks analysed after training
simply join the nearest one). A query visits clusters from the nearest centroid
outwards and stops as soon as no unvisited cluster can hold anything closer
than the n-th best found: by the triangle inequality a member of cluster c is
at least ``|q - c| - radius(c)`` away. The answer therefore always equals exact
search, while a typical query only scores a few clusters.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class ClusterIndex:
    """Exact k-nearest-neighbour search over embedded vectors, pruned by clusters.

    Parameters
    ----------
    ids : numpy.ndarray, shape (n,)
        Track ids.
    vectors : numpy.ndarray, shape (n, d)
        Embedded (standardised, weighted) feature vectors.
    centroids : numpy.ndarray, shape (k, d)
        Cluster centres in the same space.
    """

    def __init__(self, ids: np.ndarray, vectors: np.ndarray, centroids: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.centroids = np.ascontiguousarray(centroids, dtype=np.float32)
        labels = self.assign(vectors) if len(vectors) else np.zeros(0, dtype=np.int64)
        order = np.argsort(labels, kind="stable")
        self.ids = np.asarray(ids, dtype=np.int64)[order]
        self.vectors = vectors[order]
        self.labels = labels[order]
        k = len(self.centroids)
        self.offsets = np.searchsorted(self.labels, np.arange(k + 1))
        self.radii = np.zeros(k, dtype=np.float32)
        for c in range(k):
            members = self.vectors[self.offsets[c] : self.offsets[c + 1]]
            if len(members):
                self.radii[c] = np.sqrt(((members - self.centroids[c]) ** 2).sum(1).max())
        self._row = {int(t): i for i, t in enumerate(self.ids)}
        #: How many vectors the last :meth:`search` scored (for tests and benchmarks).
        self.last_scored = 0
        self._typical: float | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, track_id: int) -> bool:
        return int(track_id) in self._row

    def assign(self, vectors: np.ndarray) -> np.ndarray:
        """Index of the nearest centroid for each row of ``vectors``."""
        d = (
            (vectors**2).sum(1)[:, None]
            - 2 * vectors @ self.centroids.T
            + (self.centroids**2).sum(1)[None, :]
        )
        return np.argmin(d, axis=1)

    def typical_distance(self) -> float:
        """Median distance between random pairs of tracks: the library's scale."""
        if self._typical is None:
            n = len(self.ids)
            if n < 2:
                self._typical = 1.0
            else:
                rng = np.random.default_rng(0)
                a, b = rng.integers(0, n, 2000), rng.integers(0, n, 2000)
                keep = a != b
                d = np.sqrt(((self.vectors[a[keep]] - self.vectors[b[keep]]) ** 2).sum(1))
                self._typical = float(np.median(d)) or 1.0
        return self._typical

    def vector(self, track_id: int) -> np.ndarray:
        return self.vectors[self._row[int(track_id)]]

    def search(
        self,
        query: np.ndarray,
        n: int = 5,
        *,
        exclude: Iterable[int] = (),
        budget: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` nearest tracks to ``query``, nearest first.

        Without ``budget`` the answer is exact. With it, the search also stops once it
        has scored at least ``budget`` tracks and holds ``n`` results: approximate,
        but bounded in time on very large libraries (recall is measured by the
        benchmarks).

        Returns
        -------
        ids : numpy.ndarray, shape (m,)
        distances : numpy.ndarray, shape (m,)
            Euclidean distances; ``m = min(n, tracks not excluded)``.
        """
        q = np.asarray(query, dtype=np.float32)
        excluded = np.fromiter((int(e) for e in exclude), dtype=np.int64)
        to_centroid = np.sqrt(((self.centroids - q) ** 2).sum(1))
        order = np.argsort(to_centroid)
        lower = np.maximum(to_centroid[order] - self.radii[order], 0.0)
        # best lower bound among the clusters not yet visited, for the stop test
        rest = np.minimum.accumulate(lower[::-1])[::-1]
        best_ids = np.zeros(0, dtype=np.int64)
        best_d = np.zeros(0, dtype=np.float32)
        self.last_scored = 0
        for step, c in enumerate(order):
            if len(best_d) >= n and (
                best_d[n - 1] <= rest[step] or (budget is not None and self.last_scored >= budget)
            ):
                break
            lo, hi = self.offsets[c], self.offsets[c + 1]
            if lo == hi:
                continue
            self.last_scored += hi - lo
            ids = self.ids[lo:hi]
            d = np.sqrt(((self.vectors[lo:hi] - q) ** 2).sum(1))
            if len(excluded):
                keep = ~np.isin(ids, excluded)
                ids, d = ids[keep], d[keep]
            best_ids = np.concatenate([best_ids, ids])
            best_d = np.concatenate([best_d, d])
            if len(best_d) > n:
                top = np.argpartition(best_d, n - 1)[:n]
                best_ids, best_d = best_ids[top], best_d[top]
            ranked = np.argsort(best_d, kind="stable")
            best_ids, best_d = best_ids[ranked], best_d[ranked]
        return best_ids[:n], best_d[:n]

    def exact(
        self, query: np.ndarray, n: int = 5, *, exclude: Iterable[int] = ()
    ) -> tuple[np.ndarray, np.ndarray]:
        """Brute-force reference search (for tests and evaluation)."""
        d = np.sqrt(((self.vectors - np.asarray(query, dtype=np.float32)) ** 2).sum(1))
        excluded = np.fromiter((int(e) for e in exclude), dtype=np.int64)
        if len(excluded):
            d = np.where(np.isin(self.ids, excluded), np.inf, d)
        order = np.argsort(d, kind="stable")[:n]
        order = order[np.isfinite(d[order])]
        return self.ids[order], d[order]
