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
        panel.play_requested.connect(playback.play)
        panel.radio_toggled.connect(self._set_radio)

    def _set_radio(self, on: bool) -> None:
        self.playback.radio = on

    def refresh(self, track: Track | None = None) -> None:
        track = track or self.playback.current
        if track is None:
            return
        self._generation += 1
        generation = self._generation
        self.playback.up_next = []
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
        if track.analysed:
            self.panel.show_waiting("Finding similar songs…")
        else:
            self.panel.show_waiting(f"Analysing “{track.title}” so similar songs can follow…")
        exclude = self.playback.recent_ids()

        def query(token: CancelToken) -> tuple:
            recs = self.library.similar(track.id, N_SUGGESTIONS, exclude=exclude)
            scale = self.library.index().typical_distance()
            fresh = self.library.resolve(track.id)
            return recs, scale, fresh

        def done(result: tuple) -> None:
            recs, scale, fresh = result
            if fresh.analysed != track.analysed:
                self.track_updated.emit(fresh)
            if generation != self._generation:
                return
            self.playback.up_next = [r.track for r in recs]
            self.panel.show_recommendations(fresh, recs, scale)

        def failed(message: str) -> None:
            if generation == self._generation:
                self.panel.show_waiting(f"No suggestions for this song: {message}")

        self.runner.start(query, name="up-next", succeeded=done, failed=failed)
