"""Keeps the up-next panel in step with the playing track."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from desktop.playback import PlaybackController
from desktop.tasks import TaskRunner
from desktop.up_next import UpNextPanel
from engine.features import FEATURE_VERSION
from engine.library import Library
from engine.progress import CancelToken
from engine.tracks import Track

N_SUGGESTIONS = 5


class SuggestionsController(QObject):
    """Asks the engine for the five nearest songs whenever the playing track changes.

    The query runs on a worker thread (it may load the model or analyse the
    track first); an answer for a track that is no longer playing is dropped.
    """

    track_updated = Signal(object)  # Track, e.g. now analysed

    def __init__(
        self,
        library: Library,
        panel: UpNextPanel,
        playback: PlaybackController,
        runner: TaskRunner,
    ) -> None:
        super().__init__(panel)
        self.library = library
        self.panel = panel
        self.playback = playback
        self.runner = runner
        self._generation = 0
        playback.played.connect(self.refresh)
        playback.skipped_early.connect(self._skipped_early)
        panel.play_requested.connect(playback.play)
        panel.radio_toggled.connect(self._set_radio)

    def _set_radio(self, on: bool) -> None:
        self.playback.radio = on

    def _skipped_early(self, seed: int, track: int) -> None:
        # one small write: done here rather than queued behind a long analysis
        self.library.record_skip(seed, track)

    def refresh(self, track: Track | None = None) -> None:
        track = track or self.playback.current
        if track is None:
            return
        self._ask([track])

    def more_like(self, tracks: list[Track]) -> None:
        """Up next from several songs at once (a selection in the library)."""
        if tracks:
            self._ask(tracks)

    def _ask(self, seeds: list[Track]) -> None:
        self._generation += 1
        generation = self._generation
        self.playback.up_next = []
        self.playback.up_next_seed = None
        card = self.library.model_card()
        if card is None:
            self.panel.show_waiting(
                "Encore needs a similarity model before it can suggest songs: "
                "use Library → Rescan and retrain."
            )
            return
        if card.get("feature_version") != FEATURE_VERSION:
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

        def query(token: CancelToken) -> tuple:
            recs = self.library.similar(ids, N_SUGGESTIONS, exclude=exclude, history=history)
            scale = self.library.index().typical_distance()
            fresh = [self.library.resolve(i) for i in ids]
            return recs, scale, fresh

        def done(result: tuple) -> None:
            recs, scale, fresh = result
            for old, new in zip(seeds, fresh, strict=True):
                if new.analysed != old.analysed:
                    self.track_updated.emit(new)
            if generation != self._generation:
                return
            self.playback.up_next = [r.track for r in recs]
            self.playback.up_next_seed = ids[0] if len(ids) == 1 else None
            self.panel.show_recommendations(fresh, recs, scale)

        def failed(message: str) -> None:
            if generation == self._generation:
                self.panel.show_waiting(f"No suggestions for this song: {message}")

        self.runner.start(query, name="up-next", succeeded=done, failed=failed)
