"""The play queue's rules, Qt-free: a front end asks it what plays next and tells it
what started; the player itself (QMediaPlayer in the window) stays outside.

What plays after the current song, in order: the songs the listener queued ("play
next", "add to queue", "play these", a cluster), then with the radio on the first up-next
suggestion that is not the current song, then the next song in the order the library is
shown, or a random one with shuffle on. Repeat *one* plays a song again when it ends (a
skip still moves on); repeat *all* starts the library over at its end. An explicit skip
of a suggestion in its first seconds is feedback for the radio; a song ending is not.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from enum import Enum

from engine.tracks import Track

#: Songs played within this many seconds are not suggested again.
RECENT_SECONDS = 3600
#: "Previous" restarts the current song when it has played longer than this (ms).
RESTART_AFTER_MS = 3000
#: Skipping a suggestion within this many ms tells the radio it was a poor choice.
EARLY_SKIP_MS = 15_000


class Repeat(Enum):
    OFF = "off"
    ALL = "all"
    ONE = "one"


class PlayQueue:
    """Queued songs, up next, the history and the way back.

    ``track_after(track)`` gives the song after ``track`` in the library's shown order
    (the first for None), or None at the end; ``library()`` the songs shown, for shuffle.
    """

    def __init__(
        self,
        track_after: Callable[[Track | None], Track | None],
        library: Callable[[], Sequence[Track]] = tuple,
        *,
        seed: int | None = None,
    ) -> None:
        self.track_after = track_after
        self.library = library
        self.radio = True
        self.shuffle = False
        self.repeat = Repeat.OFF
        self._random = random.Random(seed)
        #: Songs the listener queued ("play these", a cluster): before up next.
        self.queued: list[Track] = []
        self.up_next: list[Track] = []
        #: The song ``up_next`` was suggested for (None for a mix of several songs, a
        #: journey or steered suggestions: skipping those teaches nothing).
        self.up_next_seed: int | None = None
        self.history: list[tuple[int, float]] = []  # (track id, when it started)
        self._back: list[Track] = []
        self._suggestion: tuple[int, int] | None = None  # (seed, track) now playing

    def set_up_next(self, tracks: Sequence[Track], seed: int | None = None) -> None:
        """The radio's suggestions, in play order, for the song ``seed`` (or None)."""
        self.up_next, self.up_next_seed = list(tracks), seed

    def started(self, track: Track, current: Track | None, now: float | None = None) -> None:
        """``track`` starts playing in place of ``current``."""
        if current is not None and current.id != track.id:
            self._back.append(current)
        if self.queued and self.queued[0].id == track.id:
            self.queued.pop(0)
        suggested = self.up_next_seed is not None and any(t.id == track.id for t in self.up_next)
        self._suggestion = (self.up_next_seed, track.id) if suggested else None
        self.history.append((track.id, time.time() if now is None else now))

    def following(self, current: Track | None, *, ended: bool = False) -> Track | None:
        """The song after ``current``: when it ``ended`` on its own, or on a skip (None:
        the end of the library)."""
        if ended and self.repeat is Repeat.ONE and current is not None:
            return current
        if self.queued:
            return self.queued[0]
        if self.radio:
            for track in self.up_next:
                if current is None or track.id != current.id:
                    return track
        if self.shuffle:
            return self._random_song(current)
        after = self.track_after(current)
        if after is None and self.repeat is Repeat.ALL:
            return self.track_after(None)
        return after

    def _random_song(self, current: Track | None) -> Track | None:
        """A random shown song, avoiding the recently played while others are left."""
        songs = [t for t in self.library() if current is None or t.id != current.id]
        fresh = [t for t in songs if t.id not in self.recent_ids()]
        pool = fresh or (songs if self.repeat is Repeat.ALL else [])
        return self._random.choice(pool) if pool else None

    # -- the listener's own queue ---------------------------------------------------------
    def play_next(self, tracks: Sequence[Track]) -> None:
        """Put ``tracks`` first in the queue, in order."""
        self.queued[:0] = list(tracks)

    def enqueue(self, tracks: Sequence[Track]) -> None:
        """Add ``tracks`` at the end of the queue."""
        self.queued.extend(tracks)

    def move(self, source: int, target: int) -> None:
        """Move the queued song at ``source`` to position ``target``."""
        if 0 <= source < len(self.queued):
            track = self.queued.pop(source)
            self.queued.insert(max(0, min(target, len(self.queued))), track)

    def remove(self, positions: Sequence[int]) -> None:
        """Take the queued songs at ``positions`` out of the queue."""
        drop = set(positions)
        self.queued = [t for i, t in enumerate(self.queued) if i not in drop]

    def upcoming(self, current: Track | None) -> list[tuple[Track, str]]:
        """What plays after ``current``, in order, each marked ``queued`` or ``radio``."""
        out = [(t, "queued") for t in self.queued]
        if self.radio:
            out += [(t, "radio") for t in self.up_next if current is None or t.id != current.id]
        return out

    def skipped(self, current: Track | None, position_ms: int) -> tuple[int, int] | None:
        """The listener skipped ``current`` at ``position_ms``: ``(seed, track)`` when that
        was a suggestion skipped in its first seconds (feedback for the radio)."""
        early = (
            self._suggestion is not None
            and current is not None
            and self._suggestion[1] == current.id
            and position_ms < EARLY_SKIP_MS
        )
        feedback = self._suggestion if early else None
        self._suggestion = None
        return feedback

    def back(self, position_ms: int, now: float | None = None) -> Track | None:
        """The song "previous" goes back to, or None to restart the current one."""
        if position_ms > RESTART_AFTER_MS or not self._back:
            return None
        track = self._back.pop()
        self.history.append((track.id, time.time() if now is None else now))
        return track

    def play_all(self, tracks: Sequence[Track]) -> Track | None:
        """Queue ``tracks``; return the first, to play now."""
        if not tracks:
            return None
        self.queued = list(tracks[1:])
        return tracks[0]

    def recent_ids(self, now: float | None = None) -> set[int]:
        """Songs played within the last hour (never suggested again meanwhile)."""
        now = time.time() if now is None else now
        return {tid for tid, at in self.history if now - at < RECENT_SECONDS}

    def played_ids(self) -> list[int]:
        """Every song played this session, oldest first (what the radio rules look at)."""
        return [tid for tid, _ in self.history]
