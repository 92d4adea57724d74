"""``Player``: QMediaPlayer + QAudioOutput behind a small, track-aware API.

Every call that changes the media (source, play, pause, stop, seek, volume) and the
player's destruction are *posted* to Qt's media objects and run from the event loop,
never called from Python. The reason is a deadlock found at close: a Python call into
Qt holds the Python lock for as long as the call lasts, and Qt's FFmpeg backend stops
its threads inside these calls, waiting on locks that its audio thread holds while it
destroys objects; when that audio thread needs the Python lock (PySide releases
Python references held by Qt objects it destroys), neither moves. Posted calls run in
C++ from the event loop, which does not hold the Python lock, so the audio thread can
always finish. The only Python that runs for the player is our slots on the GUI thread.

The audio thread's need for the Python lock was traced to the QAudioOutput made here:
when Qt's FFmpeg audio renderer (connected to its volume, mute and device signals) is
destroyed on the audio thread, Qt calls the output's ``disconnectNotify``, and PySide
looks up a Python override of it (once per object, taking the Python lock) while Qt
holds a signal-slot mutex that ``stop()`` on the GUI thread also needs. The player
makes that look-up happen on the GUI thread at once (see ``_prime``), so the audio
thread no longer takes the lock at all; posting the calls keeps the GUI thread from
waiting with it held, whatever else may take it.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Q_ARG, QMetaObject, QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtMultimedia import QAudioDevice, QAudioOutput, QMediaDevices, QMediaPlayer

from engine.tracks import Track


def _nothing() -> None:
    """A slot that is connected and disconnected at once (see ``_prime``)."""


def _prime(output: QAudioOutput) -> None:
    """Have PySide look up ``disconnectNotify`` on ``output`` now, on the GUI thread:
    its first look-up takes the Python lock, and must not happen on Qt's audio thread."""
    output.mutedChanged.connect(_nothing)
    output.mutedChanged.disconnect(_nothing)


def _post(target: QObject, slot: str, *args: Any) -> None:
    """Run the C++ slot ``slot`` of ``target`` from the event loop (see the module)."""
    QMetaObject.invokeMethod(target, slot, Qt.ConnectionType.QueuedConnection, *args)


#: A "playing" track whose position has not moved for this long is treated as unplayable.
STALL_SECONDS = 4


class Player(QObject):
    """Plays one track at a time and reports what happens in track terms.

    Signals
    -------
    track_changed(Track)
        A new track started loading.
    playing_changed(bool)
    position_changed(int), duration_changed(int)
        Milliseconds.
    volume_changed(int)
        The volume (0-100) was set to a new value.
    ended(Track)
        The track played to its end (not emitted for a skip or a stop).
    failed(Track, str)
        The track cannot be played; the message is for the user.
    releasing()
        :meth:`release` began: nothing plays any more (``released`` follows).
    """

    track_changed = Signal(object)
    playing_changed = Signal(bool)
    position_changed = Signal("qlonglong")
    duration_changed = Signal("qlonglong")
    volume_changed = Signal(int)
    ended = Signal(object)
    failed = Signal(object, str)
    output_changed = Signal(bool)  # whether there is an audio output device
    releasing = Signal()  # release() began: the player takes no more requests
    released = Signal()  # the media is let go and Qt's player destroyed (see release)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._player = QMediaPlayer(self)
        self._audio = QAudioOutput(self)
        _prime(self._audio)
        self._player.setAudioOutput(self._audio)
        self._track: Track | None = None
        self._pending_seek = -1  # where a cued track starts, once its media is loaded
        self._reported = False  # one failure report per track, whichever signal comes first
        self._player.positionChanged.connect(self.position_changed)
        self._player.durationChanged.connect(self.duration_changed)
        self._player.playbackStateChanged.connect(self._on_state)
        self._player.mediaStatusChanged.connect(self._on_status)
        self._player.errorOccurred.connect(self._on_error)
        # A damaged file can "play" without ever advancing: watch for that.
        self._watchdog = QTimer(self)
        self._watchdog.setInterval(1000)
        self._watchdog.timeout.connect(self._check_progress)
        self._last_position = -1
        self._stuck_seconds = 0
        # Follow the system's default output when devices come and go.
        self._devices = QMediaDevices(self)
        self._devices.audioOutputsChanged.connect(self._on_outputs_changed)
        # what was asked, so reads right after a posted change see it
        self._volume, self._muted = 1.0, False
        self._released = self._player_gone = False

    @property
    def track(self) -> Track | None:
        return self._track

    @property
    def playing(self) -> bool:
        return (
            not self._released
            and self._player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
        )

    def play(self, track: Track) -> None:
        """Start ``track`` from the beginning."""
        self._pending_seek = -1
        self._track = track
        self._reported = False
        self.track_changed.emit(track)
        if not os.path.exists(track.path):
            self._fail(track, "the file is gone from disk")
            return
        self._set_source(QUrl.fromLocalFile(track.path))
        self._post(self._player, "play")

    def cue(self, track: Track, position_ms: int = 0) -> None:
        """Load ``track`` at ``position_ms``, not playing (what the last session played)."""
        self._track = track
        self._reported = False
        self.track_changed.emit(track)
        if not os.path.exists(track.path):
            self._track = None
            return
        self._pending_seek = max(0, position_ms)
        # Loaded, not paused: a stopped player takes a position and starts there on play,
        # and stopping a paused FFmpeg pipeline at exit could hang.
        self._set_source(QUrl.fromLocalFile(track.path))

    def _set_source(self, url: QUrl) -> None:
        self._post(self._player, "setSource", Q_ARG(QUrl, url))

    def _post(self, target: QObject, slot: str, *args: Any) -> None:
        if not self._released:  # Qt's objects are gone, or going
            _post(target, slot, *args)

    def toggle(self) -> None:
        if self._track is None:
            return
        self._post(self._player, "pause" if self.playing else "play")

    def stop(self) -> None:
        self._post(self._player, "stop")
        self._track = None

    def seek(self, ms: int) -> None:
        self._post(self._player, "setPosition", Q_ARG("qlonglong", max(0, ms)))

    def position(self) -> int:
        return 0 if self._released else int(self._player.position())

    def duration(self) -> int:
        return 0 if self._released else int(self._player.duration())

    def volume(self) -> int:
        return round(self._volume * 100)

    def set_volume(self, percent: int) -> None:
        before = self.volume()
        self._volume = max(0, min(100, int(percent))) / 100
        self._post(self._audio, "setVolume", Q_ARG("float", self._volume))
        if self.volume() != before:
            self.volume_changed.emit(self.volume())

    def muted(self) -> bool:
        return self._muted

    def set_muted(self, muted: bool) -> None:
        self._muted = bool(muted)
        self._post(self._audio, "setMuted", Q_ARG(bool, self._muted))

    def _on_state(self, state: QMediaPlayer.PlaybackState) -> None:
        playing = state == QMediaPlayer.PlaybackState.PlayingState
        self._stuck_seconds = 0
        self._last_position = -1
        if playing:
            self._watchdog.start()
        else:
            self._watchdog.stop()
        self.playing_changed.emit(playing)

    def _check_progress(self) -> None:
        position = self._player.position()
        self._stuck_seconds = self._stuck_seconds + 1 if position == self._last_position else 0
        self._last_position = position
        if self._stuck_seconds >= STALL_SECONDS and self._track is not None:
            self._fail(self._track, "playback does not advance (the file may be damaged)")

    def _on_status(self, status: QMediaPlayer.MediaStatus) -> None:
        track = self._track
        if status == QMediaPlayer.MediaStatus.EndOfMedia and track is not None:
            # Never start the next source from inside the player's own signal.
            QTimer.singleShot(0, lambda: self._track is track and self.ended.emit(track))
        elif status == QMediaPlayer.MediaStatus.LoadedMedia and track is not None:
            # FFmpeg may "open" a damaged file as some video stream and buffer forever.
            if not self._player.hasAudio():
                self._fail(track, "the file has no playable audio")
            elif self._pending_seek >= 0:
                self._post(self._player, "setPosition", Q_ARG("qlonglong", self._pending_seek))
                self._pending_seek = -1
        elif status == QMediaPlayer.MediaStatus.InvalidMedia and self._track is not None:
            self._fail(self._track, "the file cannot be played")

    def _on_error(self, error: QMediaPlayer.Error, message: str) -> None:
        if error != QMediaPlayer.Error.NoError and self._track is not None:
            self._fail(self._track, message or "playback error")

    def _fail(self, track: Track, message: str) -> None:
        """Report once per track, from the event loop rather than inside Qt's signal."""
        if track is not self._track or self._reported:
            return
        self._reported = True
        self._watchdog.stop()

        def report() -> None:
            if track is self._track:
                self._post(self._player, "stop")
                self.failed.emit(track, message)

        QTimer.singleShot(0, report)

    def has_output(self) -> bool:
        """False when the system offers no audio output: songs then play in silence."""
        return bool(QMediaDevices.audioOutputs())

    def _on_outputs_changed(self) -> None:
        device = QMediaDevices.defaultAudioOutput()
        self._post(self._audio, "setDevice", Q_ARG(QAudioDevice, device))
        self.output_changed.emit(self.has_output())

    @property
    def is_released(self) -> bool:
        """Whether :meth:`release` finished: Qt's media player no longer exists."""
        return self._released and self._player_gone

    def release(self) -> None:
        """Let go of the media before the window goes away: ``releasing`` at once,
        ``released`` once it is done.

        The stop, the empty source and the destruction of Qt's player and audio output
        are posted (see the module), so they run once the caller returns to the event
        loop. Call it once; later calls do nothing.
        """
        if self._released:
            return
        self._released = True
        self.releasing.emit()
        self._watchdog.stop()
        # none of our slots runs while the pipeline tears down
        for obj in (self._player, self._audio, self._devices):
            obj.blockSignals(True)
        _post(self._player, "stop")
        _post(self._player, "setSource", Q_ARG(QUrl, QUrl()))
        # destroyed() is emitted after QMediaPlayer's own destructor joined its threads
        self._player.destroyed.connect(self._on_player_gone)
        self._audio.deleteLater()
        self._player.deleteLater()

    def _on_player_gone(self) -> None:
        self._player_gone = True
        self.released.emit()
