"""Playback in the window: drives the player with :class:`engine.playback.queue.PlayQueue`
(what plays next, history, skips) and skips unplayable files."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Signal

from desktop.player import Player
from engine.playback.queue import PlayQueue, Repeat
from engine.tracks import Track

#: Give up after this many unplayable files in a row instead of spinning through a library.
MAX_FAILURES_IN_A_ROW = 5


class PlaybackController(QObject):
    """Plays what the queue says comes next; the up-next list feeds it when radio is on.

    ``track_after(track)`` gives the next track in the order the library view
    shows (whatever the user sorted and filtered to), or the first for ``None``.
    """

    message = Signal(str)
    played = Signal(object)  # Track, when it starts
    queue_changed = Signal()  # the listener's queue (see upcoming())
    skipped_early = Signal(int, int)  # seed id, id of the suggestion skipped early

    def __init__(
        self,
        player: Player,
        track_after: Callable[[Track | None], Track | None],
        shown: Callable[[], Sequence[Track]] = tuple,
    ) -> None:
        super().__init__(player)
        self.player = player
        self.rules = PlayQueue(track_after, shown)
        self._failures = 0
        player.ended.connect(self._on_ended)
        player.failed.connect(self._on_failed)
        player.playing_changed.connect(self._on_playing)

    @property
    def current(self) -> Track | None:
        return self.player.track

    @property
    def queue(self) -> list[Track]:
        """Songs the listener queued, to play before up next."""
        return self.rules.queued

    def set_radio(self, on: bool) -> None:
        self.rules.radio = on

    def set_shuffle(self, on: bool) -> None:
        self.rules.shuffle = on

    def set_repeat(self, mode: Repeat) -> None:
        self.rules.repeat = mode

    def play_next(self, tracks: Sequence[Track]) -> None:
        self.rules.play_next(tracks)
        self.queue_changed.emit()

    def enqueue(self, tracks: Sequence[Track]) -> None:
        self.rules.enqueue(tracks)
        self.queue_changed.emit()

    def move_queued(self, source: int, target: int) -> None:
        self.rules.move(source, target)
        self.queue_changed.emit()

    def remove_queued(self, positions: Sequence[int]) -> None:
        self.rules.remove(positions)
        self.queue_changed.emit()

    def set_up_next(self, tracks: Sequence[Track], seed: int | None = None) -> None:
        """What the radio plays next, for the song ``seed`` (None: skips teach nothing)."""
        self.rules.set_up_next(tracks, seed)

    def recent_ids(self) -> set[int]:
        return self.rules.recent_ids()

    def played_ids(self) -> list[int]:
        return self.rules.played_ids()

    def play(self, track: Track) -> None:
        """Play ``track`` now (user choice or automatic)."""
        queued = len(self.rules.queued)
        self.rules.started(track, self.current)
        self.player.play(track)
        self.played.emit(track)
        if len(self.rules.queued) != queued:
            self.queue_changed.emit()

    def toggle(self) -> None:
        if self.current is None:
            first = self.rules.track_after(None)
            if first is not None:
                self.play(first)
            return
        self.player.toggle()

    def next(self) -> None:
        """An explicit skip; a suggestion skipped in its first seconds is reported."""
        feedback = self.rules.skipped(self.current, self.player.position())
        if feedback is not None:
            self.skipped_early.emit(*feedback)
        self._advance()

    def previous(self) -> None:
        if self.current is None:
            return
        track = self.rules.back(self.player.position())
        if track is None:
            self.player.seek(0)
            return
        self.player.play(track)
        self.played.emit(track)

    def play_all(self, tracks: list[Track]) -> None:
        """Play ``tracks`` in order, then carry on as usual."""
        first = self.rules.play_all(tracks)
        if first is not None:
            self.play(first)
            self.queue_changed.emit()

    def following(self, *, ended: bool = False) -> Track | None:
        """The track that plays next: when the current one ends, or on a skip."""
        return self.rules.following(self.current, ended=ended)

    def _advance(self, *, ended: bool = False) -> None:
        track = self.following(ended=ended)
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
        self._advance(ended=True)

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
