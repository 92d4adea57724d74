"""What plays next: radio, library order, history and skipping unplayable files."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from desktop.player import Player
from engine.tracks import Track

#: Songs played within this many seconds are not suggested again.
RECENT_SECONDS = 3600
#: Give up after this many unplayable files in a row instead of spinning through a library.
MAX_FAILURES_IN_A_ROW = 5
#: "Previous" restarts the current song when it has played longer than this (ms).
RESTART_AFTER_MS = 3000
#: Skipping a suggestion within this many ms tells the radio it was a poor choice.
EARLY_SKIP_MS = 15_000


class PlaybackController(QObject):
    """Decides what plays next; the up-next list feeds it when radio is on.

    ``track_after(track)`` gives the next track in the order the library view
    shows (whatever the user sorted and filtered to), or the first for ``None``.
    """

    message = Signal(str)
    played = Signal(object)  # Track, when it starts
    skipped_early = Signal(int, int)  # seed id, id of the suggestion skipped early

    def __init__(self, player: Player, track_after: Callable[[Track | None], Track | None]) -> None:
        super().__init__(player)
        self.player = player
        self.track_after = track_after
        self.radio = True
        self.up_next: list[Track] = []
        #: Songs the listener queued ("play these", a cluster): before up next.
        self.queue: list[Track] = []
        #: The song ``up_next`` was suggested for (None for a mix of several songs).
        self.up_next_seed: int | None = None
        self.history: list[tuple[int, float]] = []
        self._suggestion: tuple[int, int] | None = None  # (seed, track) now playing
        self._back: list[Track] = []
        self._failures = 0
        player.ended.connect(self._on_ended)
        player.failed.connect(self._on_failed)
        player.playing_changed.connect(self._on_playing)

    @property
    def current(self) -> Track | None:
        return self.player.track

    def play(self, track: Track) -> None:
        """Play ``track`` now (user choice or automatic)."""
        if self.current is not None and self.current.id != track.id:
            self._back.append(self.current)
        if self.queue and self.queue[0].id == track.id:
            self.queue.pop(0)
        suggested = self.up_next_seed is not None and any(t.id == track.id for t in self.up_next)
        self._suggestion = (self.up_next_seed, track.id) if suggested else None
        self.history.append((track.id, time.time()))
        self.player.play(track)
        self.played.emit(track)

    def recent_ids(self, now: float | None = None) -> set[int]:
        """Tracks played within the last hour (never suggested again meanwhile)."""
        now = time.time() if now is None else now
        return {tid for tid, at in self.history if now - at < RECENT_SECONDS}

    def toggle(self) -> None:
        if self.current is None:
            first = self.track_after(None)
            if first is not None:
                self.play(first)
            return
        self.player.toggle()

    def played_ids(self) -> list[int]:
        """Every song played this session, oldest first (what the radio rules look at)."""
        return [tid for tid, _ in self.history]

    def next(self) -> None:
        """An explicit skip; a suggestion skipped in its first seconds is reported."""
        current = self.current
        if (
            self._suggestion is not None
            and current is not None
            and self._suggestion[1] == current.id
            and self.player.position() < EARLY_SKIP_MS
        ):
            self.skipped_early.emit(*self._suggestion)
        self._suggestion = None
        self._advance()

    def previous(self) -> None:
        if self.current is not None and self.player.position() > RESTART_AFTER_MS:
            self.player.seek(0)
            return
        if self._back:
            track = self._back.pop()
            self.history.append((track.id, time.time()))
            self.player.play(track)
            self.played.emit(track)

    def play_all(self, tracks: list[Track]) -> None:
        """Play ``tracks`` in order, then carry on as usual."""
        if tracks:
            self.queue = list(tracks[1:])
            self.play(tracks[0])

    def following(self) -> Track | None:
        """The track that plays when the current one ends."""
        if self.queue:
            return self.queue[0]
        current = self.current
        if self.radio:
            for track in self.up_next:
                if current is None or track.id != current.id:
                    return track
        return self.track_after(current)

    def _advance(self) -> None:
        track = self.following()
        if track is None:
            self.player.stop()
            self.message.emit("End of the library.")
            return
        self.play(track)

    def _on_playing(self, playing: bool) -> None:
        if playing:
            self._failures = 0

    def _on_ended(self, track: Track) -> None:
        self._failures = 0
        self._advance()

    def _on_failed(self, track: Track, reason: str) -> None:
        self._failures += 1
        if self._failures >= MAX_FAILURES_IN_A_ROW:
            self.player.stop()
            self.message.emit(
                f"Cannot play “{track.title}”: {reason}. Stopped after "
                f"{self._failures} unplayable files in a row."
            )
            self._failures = 0
            return
        self.message.emit(f"Cannot play “{track.title}”: {reason}. Skipping to the next song.")
        self._advance()
