"""Ranking songs around a query in a trained model's space: up next, steering, journeys.

A :class:`Recommender` works on one model's index; the library hands it the tracks,
rules and listening history it needs, so this module never touches a store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.analysis.features import N_FEATURES
from engine.similarity import atlas
from engine.similarity.explain import closeness_many, differences_many, family_closeness, reason
from engine.similarity.index import ClusterIndex
from engine.similarity.radio import RadioRules, choose, normalised, objection, skip_factor
from engine.tracks import Recommendation, Track

#: Above this many tracks a query stops after scoring this many (approximate but fast);
#: below it every answer is exact. See benchmarks/run.py for latency and recall.
SEARCH_BUDGET = 3_000
#: The radio chooses from this many nearest songs (rules and skips remove some).
RADIO_POOL = 60


@dataclass(frozen=True)
class Listening:
    """What the radio needs besides the seeds: its rules, the songs played before
    (oldest first), the listener's early skips after this seed and over all seeds, and
    the library (for the artist and genre fallback)."""

    rules: RadioRules
    history: Sequence[Track] = ()
    seed_skips: Mapping[int, int] = field(default_factory=dict)
    skip_totals: Mapping[int, int] = field(default_factory=dict)
    library: Callable[[], Iterable[Track]] = tuple


class Recommender:
    """Songs near a point of ``index``'s space, with distances and reasons.

    ``tracks(ids)`` returns the tracks of those ids; ``weights`` are the model's
    per-dimension weights (for the reasons and for steering).
    """

    def __init__(
        self,
        index: ClusterIndex,
        weights: np.ndarray,
        tracks: Callable[[Sequence[int]], Mapping[int, Track]],
    ) -> None:
        self.index = index
        self.weights = weights
        self.tracks = tracks

    def recommendations(
        self, q: np.ndarray, ids: Sequence[int], dists: Sequence[float]
    ) -> list[Recommendation]:
        """``ids`` as recommendations for the point ``q``, each with its reason."""
        if not len(ids):
            return []
        found = self.tracks(list(ids))
        vectors = np.stack([self.index.vector(t) for t in ids])
        closeness = closeness_many(q, vectors, self.weights)  # all at once: ~50x faster
        words = differences_many(q, vectors, self.weights)
        return [
            Recommendation(found[tid], float(dist), reason(c, w), c)
            for tid, dist, c, w in zip(ids, dists, closeness, words, strict=True)
        ]

    def similar(
        self,
        seeds: Sequence[Track],
        n: int,
        *,
        exclude: Iterable[int] = (),
        moves: Mapping[str, int] | None = None,
        listening: Listening | None = None,
    ) -> list[Recommendation]:
        """The ``n`` songs to follow ``seeds`` (analysed; several: from their mean).

        ``moves`` steers the query first (see :data:`atlas.STEERING`). With
        ``listening`` the nearest :data:`RADIO_POOL` songs are filtered by its radio rules
        and ranked with the listener's skips, falling back to songs of the seeds' artists
        and genres; without, the answer is the ``n`` nearest, nearest first.
        """
        index = self.index
        q = np.mean([index.vector(seed.id) for seed in seeds], axis=0)
        skip = [*(s.id for s in seeds), *exclude]
        pool = max(RADIO_POOL, 4 * n) if listening or moves else n
        query = q
        if moves:
            query = atlas.steer(q, self.weights, moves)
            # The neural columns know nothing of "calmer": searched from the centre of
            # their sphere they are the same distance from every song, so the steered
            # search goes by the hand-made features, which the buttons speak of.
            query[N_FEATURES:] = 0.0
        ids, dists = index.search(query, pool, exclude=skip, budget=SEARCH_BUDGET)
        bias: dict[int, float] = {}
        if moves and len(ids):
            # Searched around the steered point, but distances and reasons are from the
            # seed, and songs that differ from it the asked way rank first. Only those
            # stay: after "calmer" every suggestion is calmer than the playing song, and
            # no reason says the opposite ("louder").
            vectors = np.stack([index.vector(t) for t in ids])
            factors, ranking = self._steering(q, vectors, moves)
            against = frozenset().union(*(atlas.CONTRADICTS[m] for m in moves))
            words = differences_many(q, vectors, self.weights)
            keep = np.array(
                [
                    f < 1.0 and not against.intersection(w)
                    for f, w in zip(factors, words, strict=True)
                ],
                dtype=bool,
            )
            ids, vectors, ranking = ids[keep], vectors[keep], ranking[keep]
            dists = np.linalg.norm(vectors - q, axis=1)
            bias = dict(zip(ids.tolist(), ranking.tolist(), strict=True))
        candidates = self.recommendations(q, ids.tolist(), dists.tolist())
        if bias:
            candidates.sort(key=lambda r: r.distance * bias[r.track.id])
        if listening is None:
            return candidates[:n]

        def fallback() -> list[Recommendation]:
            if moves:  # steered: only songs that differ the asked way
                return []
            artists = {normalised(s.artist) for s in seeds if s.artist}
            genres = {normalised(s.genre) for s in seeds if s.genre}
            near = [
                t.id
                for t in listening.library()
                if t.id in index
                and (normalised(t.artist) in artists or normalised(t.genre) in genres)
            ]
            d = [float(np.linalg.norm(index.vector(t) - q)) for t in near]
            return self.recommendations(q, near, d)

        return choose(
            list(seeds),
            candidates,
            n,
            rules=listening.rules,
            typical=index.typical_distance(),
            history=list(listening.history),
            fallback=fallback,
            seed_skips=dict(listening.seed_skips),
            skip_totals=dict(listening.skip_totals),
            bias=bias,
        )

    def _steering(
        self, q: np.ndarray, vectors: np.ndarray, moves: Mapping[str, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per candidate: the steering bias (below 1: differs the asked way) and the
        factor on its distance that ranks it as steering asks.

        Steering speaks of the hand-made features (energy, tempo, brightness): the
        steered order is by their distance alone, so the neural columns, which know
        nothing of "calmer", do not pull the list back towards the seed.
        """
        factors = atlas.steer_bias(q, vectors, self.weights, moves)
        full = np.linalg.norm(vectors - q, axis=1)
        hand = np.linalg.norm(vectors[:, :N_FEATURES] - q[:N_FEATURES], axis=1)
        return factors, factors * hand / np.maximum(full, 1e-9)

    def why_not(
        self,
        seeds: Sequence[Track],
        target: Track,
        n: int,
        *,
        exclude: Iterable[int] = (),
        moves: Mapping[str, int] | None = None,
        listening: Listening | None = None,
    ) -> str:
        """Why ``target`` is not among the ``n`` songs :meth:`similar` gives (same
        arguments): the rule that left it out, or how many songs sound nearer."""
        picks = self.similar(seeds, n, exclude=exclude, moves=moves, listening=listening)
        name = f"“{target.title}”"
        place = next((i for i, r in enumerate(picks, 1) if r.track.id == target.id), None)
        if place is not None:
            return f"{name} is number {place} in up next."
        if any(s.id == target.id for s in seeds):
            return f"{name} is the song playing."
        if target.id not in self.index:
            return f"{name} is not analysed, so Encore cannot tell what it sounds like."
        if target.id in set(exclude):
            return f"{name} played within the last hour: it is not suggested again so soon."
        index = self.index
        q = np.mean([index.vector(seed.id) for seed in seeds], axis=0)
        v = index.vector(target.id)
        distance = float(np.linalg.norm(v - q))
        found = self.recommendations(q, [target.id], [distance])[0]
        others = ~np.isin(index.ids, [target.id, *(s.id for s in seeds)])
        nearer = int(np.sum(np.linalg.norm(index.vectors[others] - q, axis=1) < distance))
        how = f"{nearer} songs sound nearer ({found.reason})"

        def bias(track_id: int) -> float:
            """How steering moves a song in the ranking (as :meth:`similar` ranks)."""
            if not moves:
                return 1.0
            return float(self._steering(q, index.vector(track_id)[None, :], moves)[1][0])

        if moves:
            against = frozenset().union(*(atlas.CONTRADICTS[m] for m in moves))
            said = set(differences_many(q, v[None, :], self.weights)[0])
            factor = self._steering(q, v[None, :], moves)[0][0]
            if factor >= 1.0 or against & said:
                asked = " and ".join(moves)
                return f"{name} is not {asked} than the playing song, as the steering asks."
        if listening is None:
            return f"{name} is not among the {n} nearest: {how}."
        radio, history = listening.rules, listening.history
        seed_skips, skip_totals = listening.seed_skips, listening.skip_totals
        typical = index.typical_distance()
        if distance > radio.near_enough * typical:
            return f"{name} is not near enough to follow it on the radio: {how}."

        def rank(track_id: int, d: float) -> float:
            return d * skip_factor(track_id, seed_skips, skip_totals) * bias(track_id)

        # choose() takes, step by step, the best-ranked song the rules allow: find the
        # step that would have taken this one, and ask the rules about that moment.
        mine = rank(target.id, distance)
        step = next((i for i, r in enumerate(picks) if mine < rank(r.track.id, r.distance)), None)
        if step is not None:
            recent = list(history)[-radio.repeat_window :] if radio.repeat_window else []
            before = [*recent, *seeds]
            why = objection(target, distance, radio, typical, before, picks[:step])
            if why:
                hard = objection(
                    target, distance, radio, typical, before, picks[:step], variety=False
                )
                tolerance = radio.variety_tolerance
                if hard is None and tolerance is not None:  # a variety rule, which gave way
                    why += (
                        f", and “{picks[step].track.title}” is almost as near "
                        f"(within {tolerance:.0%})"
                    )
                return f"{name} is left out because {why}."
        skips = seed_skips.get(target.id, 0)
        skipped = f"; you skipped it {skips}× after this song" if skips else ""
        return f"{name} ranks below the {len(picks)} in up next: {how}{skipped}."

    def journey(self, start: Track, end: Track, steps: int) -> list[Recommendation]:
        """A path of ``steps`` songs from ``start`` towards ``end``, then ``end`` itself,
        each with its distance and reason from the song before."""
        index = self.index
        path = [*atlas.journey(index, start.id, end.id, steps), end.id]
        found = self.tracks(path)
        previous = index.vector(start.id)
        out = []
        for i, tid in enumerate(path, 1):
            v = index.vector(tid)
            closeness = family_closeness(previous, v, self.weights)
            where = (
                "the destination" if tid == end.id else f"step {i} of {len(path)} to “{end.title}”"
            )
            distance = float(np.linalg.norm(previous - v))  # from the song before
            out.append(
                Recommendation(found[tid], distance, f"{where}; {reason(closeness)}", closeness)
            )
            previous = v
        return out
