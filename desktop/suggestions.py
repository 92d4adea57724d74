"""Keeps the up-next panel in step with the playing track."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from desktop.playback import PlaybackController
from desktop.tasks import TaskRunner
from desktop.up_next import UpNextPanel
from engine.library import Library
from engine.progress import CancelToken
from engine.similarity.atlas import press
from engine.tracks import Track

N_SUGGESTIONS = 5
#: Songs between the playing one and a journey's destination.
JOURNEY_STEPS = 8


class SuggestionsController(QObject):
    """Asks the engine for the five nearest songs whenever the playing track changes.

    The query runs on a worker thread (it may load the model or analyse the
    track first); an answer for a track that is no longer playing is dropped.
    """

    track_updated = Signal(object)  # Track, e.g. now analysed
    up_next_changed = Signal(object, list, bool)  # playing Track, [Track], is a journey

    def __init__(
        self,
        library: Library,
        panel: UpNextPanel,
        playback: PlaybackController,
        runner: TaskRunner,
        training: Callable[[], bool] = bool,
    ) -> None:
        super().__init__(panel)
        self.library = library
        self.training = training  # whether a library job (which may train) is under way
        self._seeds: list[int] = []  # what up next was asked for last
        self.panel = panel
        self.playback = playback
        self.runner = runner
        self._generation = 0
        #: Steering presses for the playing song ({"faster": 2}); cleared by a new song.
        self.moves: Counter[str] = Counter()
        #: The journey under way: its destination and the path still ahead.
        self.journey_to_track: Track | None = None
        self._path: list[Track] = []
        playback.played.connect(self._played)
        playback.skipped_early.connect(self._skipped_early)
        panel.play_requested.connect(playback.play)
        panel.radio_toggled.connect(self._set_radio)
        panel.steer_requested.connect(self.steer)
        panel.steer_reset.connect(self.reset_steering)

    def _set_radio(self, on: bool) -> None:
        self.playback.set_radio(on)

    def _skipped_early(self, seed: int, track: int) -> None:
        self.runner.start(lambda token: self.library.record_skip(seed, track), name="skip")

    def _played(self, track: Track) -> None:
        self.moves.clear()
        if self.journey_to_track is not None:
            if track.id == self.journey_to_track.id:
                self.panel.show_waiting(f"Journey complete: “{track.title}”.")
                self.journey_to_track, self._path = None, []
            else:
                ahead = [t.id for t in self._path]
                steps = len(ahead) - ahead.index(track.id) - 2 if track.id in ahead else len(ahead)
                self.journey(self.journey_to_track, max(0, steps))  # on course, or re-routed
                return
        self.refresh(track)

    def refresh(self, track: Track | None = None) -> None:
        track = track or self.playback.current
        if track is None:
            return
        self._ask([track])

    def refresh_if_waiting(self) -> None:
        """Ask again when up next is empty (e.g. a job ended without a new model)."""
        if not self._seeds and self.journey_to_track is None:
            self.refresh()

    def more_like(self, tracks: list[Track]) -> None:
        """Up next from several songs at once (a selection in the library or the map)."""
        if tracks:
            self.journey_to_track = None
            self._ask(tracks)

    def steer(self, move: str) -> None:
        """Move up next one step ("faster", "calmer", …) from the playing song."""
        if self.playback.current is None:
            self.panel.show_waiting("Play a song first, then steer its suggestions.")
            return
        self.journey_to_track = None
        self.moves = Counter(press(self.moves, move))  # an opposite press takes one back
        self._ask([self.playback.current])

    def reset_steering(self) -> None:
        self.moves.clear()
        self.refresh()

    def journey(self, destination: Track, steps: int = JOURNEY_STEPS) -> None:
        """Up next becomes a path from the playing song to ``destination``."""
        current = self.playback.current
        if current is None:
            self.panel.show_waiting("Play a song first: a journey starts from it.")
            return
        if current.id == destination.id:
            self.panel.show_waiting("That song is playing already: pick another destination.")
            return
        self.journey_to_track = destination
        self.moves.clear()
        self._generation += 1
        generation = self._generation
        self.panel.show_waiting(f"Planning a journey to “{destination.title}”…")

        def query(token: CancelToken) -> tuple:
            self.library.analyze_now([current.id, destination.id])  # an explicit step
            recs = self.library.journey(current.id, destination.id, steps)
            return recs, self.library.typical_distance()

        def done(result: tuple) -> None:
            if generation != self._generation:
                return
            recs, scale = result
            self._path = [r.track for r in recs]
            self.playback.set_up_next(self._path)  # no seed: skips on a journey teach nothing
            self.panel.show_recommendations([current], recs, scale)
            self.panel.set_caption(
                f"Journey to “{destination.title}”: {len(recs)} songs, each close to the last"
            )
            self.up_next_changed.emit(current, list(self._path), True)

        def failed(message: str) -> None:
            if generation == self._generation:
                self.journey_to_track = None
                self.panel.show_waiting(f"No journey: {message}")

        self.runner.start(query, name="journey", succeeded=done, failed=failed)

    def why_not(self, track: Track) -> None:
        """Say why ``track`` is not in up next (a radio rule, steering, or distance)."""
        if self.journey_to_track is not None:
            self.panel.show_why_not("Up next is a journey: each song is the next step on it.")
            return
        if not self._seeds:
            self.panel.show_why_not("Play a song first: up next is made from it.")
            return
        if not track.analysed:
            self.panel.show_why_not(f"“{track.title}” is not analysed yet.")
            return
        seeds, moves = list(self._seeds), dict(self.moves)
        exclude, history = self.playback.recent_ids(), self.playback.played_ids()

        def query(token: CancelToken) -> str:
            return self.library.why_not(
                seeds, track.id, N_SUGGESTIONS, exclude=exclude, history=history, moves=moves
            )

        self.runner.start(
            query, name="why-not", succeeded=self.panel.show_why_not, failed=self.panel.show_why_not
        )

    def _ask(self, seeds: list[Track]) -> None:
        self._generation += 1
        generation = self._generation
        self.playback.set_up_next([])
        self._seeds = []
        ready = self.library.model_is_current()
        if not ready and self.training():  # no advice to start what is under way
            self.panel.show_waiting(
                "Encore is still listening to your library: suggestions appear as soon "
                "as it has learnt how your songs sound."
            )
            return
        if self.library.model_card() is None:
            self.panel.show_waiting(
                "Encore needs a similarity model before it can suggest songs: "
                "use Library → Rescan and retrain."
            )
            return
        if not ready:
            self.panel.show_waiting(
                "This version of Encore listens more closely: your library is being "
                "analysed again, and suggestions return when the model is rebuilt "
                "(Library → Rescan and retrain)."
            )
            return
        pending = [s for s in seeds if not s.analysed]
        if not pending:
            self.panel.show_waiting("Finding similar songs…")
        else:
            self.panel.show_waiting(f"Analysing “{pending[0].title}” so similar songs can follow…")
        exclude = self.playback.recent_ids()
        history = self.playback.played_ids()
        ids = [s.id for s in seeds]
        moves = dict(self.moves)

        def query(token: CancelToken) -> tuple:
            fresh = self.library.analyze_now(ids)  # an explicit step: similar() only reads
            recs = self.library.similar(
                ids, N_SUGGESTIONS, exclude=exclude, history=history, moves=moves
            )
            return recs, self.library.typical_distance(), fresh

        def done(result: tuple) -> None:
            recs, scale, fresh = result
            for old, new in zip(seeds, fresh, strict=True):
                if new.analysed != old.analysed:
                    self.track_updated.emit(new)
            if generation != self._generation:
                return
            self._seeds = ids
            seed = ids[0] if len(ids) == 1 and not moves else None  # steered: no lesson
            self.playback.set_up_next([r.track for r in recs], seed)
            self.panel.show_recommendations(fresh, recs, scale)
            if moves:
                steered = ", ".join(f"{m} ×{n}" if n > 1 else m for m, n in moves.items())
                self.panel.set_caption(f"Like “{fresh[0].title}”, steered: {steered}")
            self.up_next_changed.emit(self.playback.current, [r.track for r in recs], False)

        def failed(message: str) -> None:
            if generation == self._generation:
                self.panel.show_waiting(f"No suggestions for this song: {message}")

        self.runner.start(query, name="up-next", succeeded=done, failed=failed)
