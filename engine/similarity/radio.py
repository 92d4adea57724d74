"""Radio rules: which of the nearest songs may follow, and in what order.

Nearest-by-sound alone makes a poor radio: the same artist over and over, the same
album back to back, a song heard ten minutes ago, or the same recording from a
compilation. :func:`choose` walks the candidates nearest first and keeps those the
rules allow, demotes songs the listener skipped, and says honestly when nothing is
near enough (then it falls back to the same artist or genre).
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace

from engine.tracks import Recommendation, Track

#: A suggestion skipped early for a seed ranks as if this much farther, per skip.
SEED_SKIP_PENALTY = 1.5
#: A track skipped this many times (over all seeds) is demoted everywhere …
OFTEN_SKIPPED = 3
#: … ranking as if this much farther per skip from then on.
GLOBAL_SKIP_PENALTY = 1.2


@dataclass(frozen=True)
class RadioRules:
    """What the radio avoids. Stored as a library setting (``radio_rules``)."""

    #: No artist twice within this many consecutive songs (0: no rule).
    artist_window: int = 3
    #: Never two songs of the same album in a row.
    no_album_back_to_back: bool = True
    #: No song among the last this many played.
    repeat_window: int = 50
    #: Same recording: identical normalised title and artist, or closer than this
    #: share of the library's typical distance between two songs.
    duplicate_distance: float = 0.03
    #: A suggestion farther than this share of the typical distance is not "near".
    near_enough: float = 0.9
    #: Variety gives way to similarity: a song the artist or album rule keeps out
    #: still plays when every song the rules allow is more than this share farther
    #: (0: variety only among equals; None: variety always wins).
    variety_tolerance: float | None = 0.1
    min_duration: float | None = None
    max_duration: float | None = None
    excluded_genres: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> RadioRules:
        """Rules from :meth:`to_json`; unknown keys are ignored, bad text gives defaults."""
        try:
            data = json.loads(text or "{}")
        except ValueError:
            return cls()
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "excluded_genres" in known:
            known["excluded_genres"] = tuple(known["excluded_genres"])
        return replace(cls(), **known)


@functools.lru_cache(maxsize=65536)  # the same few tags are compared again and again
def normalised(text: str) -> str:
    """Casefolded text without accents, bracketed parts ("(Remastered)"), "feat." or
    punctuation: how duplicate recordings are recognised."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = re.sub(r"[\(\[\{].*?[\)\]\}]", " ", text)
    text = re.sub(r"\s(feat\.?|ft\.?|featuring)\s.*$", " ", text)
    text = re.sub(r"\s-\s.*(remaster|live|version|edit|mix).*$", " ", text)
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def same_recording(a: Track, b: Track) -> bool:
    """Two tracks with the same normalised title and artist, or the same title where one
    has no artist tag (the same song converted to another format often lost its tags)."""
    title = normalised(a.title)
    artists = normalised(a.artist), normalised(b.artist)
    return (
        bool(title)
        and title == normalised(b.title)
        and (artists[0] == artists[1] or not all(artists))
    )


def skip_factor(track_id: int, seed_skips: Mapping[int, int], totals: Mapping[int, int]) -> float:
    """How much farther a track ranks because the listener skipped it."""
    factor = SEED_SKIP_PENALTY ** seed_skips.get(track_id, 0)
    often = totals.get(track_id, 0) - OFTEN_SKIPPED + 1
    return factor * GLOBAL_SKIP_PENALTY ** max(0, often)


def choose(
    seeds: Sequence[Track],
    candidates: Sequence[Recommendation],
    n: int,
    *,
    rules: RadioRules,
    typical: float,
    history: Sequence[Track] = (),
    fallback: Callable[[], Sequence[Recommendation]] | None = None,
    seed_skips: Mapping[int, int] | None = None,
    skip_totals: Mapping[int, int] | None = None,
    bias: Mapping[int, float] | None = None,
) -> list[Recommendation]:
    """Up to ``n`` suggestions to follow ``seeds`` that obey ``rules``.

    Parameters
    ----------
    seeds
        The playing song (or the songs a mix starts from); the sequence continues
        from the last one.
    candidates
        Nearest songs, any order; distances are in the model's space.
    typical
        The library's typical distance between two songs (the scale of "near").
    history
        Songs played before, oldest first.
    fallback
        Gives songs by the same artist or of the same genre, offered (and only
        looked up) when too few candidates are near.
    seed_skips, skip_totals
        Early skips after this seed and over all seeds (see :func:`skip_factor`).
    bias
        Track id -> factor on its distance when ranking (steering, see
        :func:`engine.similarity.atlas.steer_bias`).
    """
    seed_skips = seed_skips or {}
    skip_totals = skip_totals or {}
    recent = list(history)[-rules.repeat_window :] if rules.repeat_window else []
    blocked = {t.id for t in seeds} | {t.id for t in recent}
    before = [*recent, *seeds]  # what the listener heard, in order
    picked: list[Recommendation] = []

    def allowed(track: Track, distance: float | None, variety: bool = True) -> bool:
        if track.id in blocked:
            return False
        why = objection(track, distance, rules, typical, before, picked, variety=variety)
        return why is None

    def take(rec: Recommendation) -> None:
        picked.append(rec)
        blocked.add(rec.track.id)

    bias = bias or {}

    def rank(r: Recommendation) -> float:
        return (
            r.distance
            * skip_factor(r.track.id, seed_skips, skip_totals)
            * bias.get(r.track.id, 1.0)
        )

    ranked = sorted(candidates, key=rank)
    near = [r for r in ranked if r.distance <= rules.near_enough * typical]
    far = [r for r in ranked if r.distance > rules.near_enough * typical]
    tolerance = rules.variety_tolerance
    while len(picked) < n:  # each step: the nearest song the rules allow after the last
        rec = next((r for r in near if allowed(r.track, r.distance)), None)
        if tolerance is not None:
            # the nearest song that only the artist or album rule keeps out
            close = next((r for r in near if allowed(r.track, r.distance, False)), None)
            if close is not None and (rec is None or rank(rec) > rank(close) * (1 + tolerance)):
                rec = close
        if rec is None:
            break
        skipped = seed_skips.get(rec.track.id, 0)
        if skipped:
            rec = replace(rec, reason=f"{rec.reason} (skipped {skipped}× after this song)")
        take(rec)
    seed_artists = {normalised(s.artist) for s in seeds if s.artist}
    extra = fallback() if fallback is not None and len(picked) < n else ()
    for rec in sorted(extra, key=lambda r: r.distance):
        if len(picked) >= n:
            break
        if allowed(rec.track, None):
            same_artist = normalised(rec.track.artist) in seed_artists
            why = "same artist" if same_artist else f"same genre ({rec.track.genre})"
            take(replace(rec, reason=f"nothing near enough: {why}"))
    for rec in far:
        if len(picked) >= n:
            break
        if allowed(rec.track, rec.distance):
            take(replace(rec, reason=f"nothing nearer: {rec.reason}"))
    return picked


def objection(
    track: Track,
    distance: float | None,
    rules: RadioRules,
    typical: float,
    before: Sequence[Track],
    picked: Sequence[Recommendation],
    *,
    variety: bool = True,
) -> str | None:
    """Why the rules keep ``track`` out of up next here, or None when they let it in.

    ``before`` is what was heard up to the playing song (the recent history, then the
    seeds), ``picked`` the suggestions already chosen; ``distance`` is from the seeds
    (None: not compared, as for the artist and genre fallback).
    """
    if any(track.id == t.id for t in before) or any(track.id == r.track.id for r in picked):
        return "it plays already, or did in the last songs"
    if not _fits(track, rules):
        return "its genre or length is left out by the radio settings"
    if distance is not None and distance < rules.duplicate_distance * typical:
        return "it sounds identical to the playing song: the same recording, another copy"
    sequence = [*before, *(r.track for r in picked)]  # what the listener hears, in order
    twin = next((t for t in sequence if same_recording(track, t)), None)
    if twin is not None:
        return f"it is the same recording as “{twin.title}”"
    previous = sequence[-1] if sequence else None
    if not variety:  # the artist and album rules are asked separately
        return None
    if (
        rules.no_album_back_to_back
        and previous is not None
        and track.album
        and normalised(track.album) == normalised(previous.album)
    ):
        return f"it is from the same album as “{previous.title}”, which would play just before"
    if rules.artist_window > 1 and track.artist:
        window = sequence[-(rules.artist_window - 1) :]
        if any(normalised(track.artist) == normalised(t.artist) for t in window):
            return (
                f"{track.artist} would play again within {rules.artist_window} songs "
                "(the radio spaces out artists)"
            )
    return None


def _fits(track: Track, rules: RadioRules) -> bool:
    if rules.excluded_genres and track.genre:
        excluded = {normalised(g) for g in rules.excluded_genres}
        if normalised(track.genre) in excluded:
            return False
    if track.duration is not None:
        if rules.min_duration is not None and track.duration < rules.min_duration:
            return False
        if rules.max_duration is not None and track.duration > rules.max_duration:
            return False
    return True
