"""The transport bar: cover, title/artist/album, controls, seek and volume."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.tracks import Track, clock

COVER_SIZE = 64


class NowPlayingBar(QWidget):
    """Emits user intentions; the controller decides what they mean."""

    play_pause = Signal()
    previous = Signal()
    next = Signal()
    seek = Signal(int)  # ms
    volume_changed = Signal(int)  # 0-100
    mute_toggled = Signal(bool)
    repeat_clicked = Signal()  # off → all → one → off

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("now-playing")
        style = self.style()
        self.cover = QLabel()
        self.cover.setFixedSize(COVER_SIZE, COVER_SIZE)
        self.cover.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.cover.setStyleSheet("background: palette(mid); border-radius: 4px;")
        self.title = QLabel("Nothing playing")
        self.title.setStyleSheet("font-weight: bold; font-size: 14px;")
        self.details = QLabel("")
        self.details.setStyleSheet("color: palette(dark);")

        def button(icon: QStyle.StandardPixmap, tip: str) -> QToolButton:
            b = QToolButton()
            b.setIcon(style.standardIcon(icon))
            b.setToolTip(tip)
            b.setAutoRaise(True)
            return b

        self.prev_button = button(QStyle.StandardPixmap.SP_MediaSkipBackward, "Previous (Ctrl+←)")
        self.play_button = button(QStyle.StandardPixmap.SP_MediaPlay, "Play/pause (Space)")
        self.next_button = button(QStyle.StandardPixmap.SP_MediaSkipForward, "Next (Ctrl+→)")
        self.elapsed = QLabel(clock(0))
        self.remaining = QLabel(clock(0))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("seek")
        self.slider.setEnabled(False)
        self.shuffle_button = QToolButton()
        self.shuffle_button.setText("⤮")
        self.shuffle_button.setObjectName("shuffle")
        self.shuffle_button.setCheckable(True)
        self.shuffle_button.setAutoRaise(True)
        self.shuffle_button.setToolTip("Shuffle: with the radio off, random order")
        self.repeat_button = QToolButton()
        self.repeat_button.setObjectName("repeat")
        self.repeat_button.setAutoRaise(True)
        self.show_repeat("off")
        self.mute_button = button(QStyle.StandardPixmap.SP_MediaVolume, "Mute")
        self.mute_button.setCheckable(True)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setFixedWidth(100)
        self.volume.setToolTip("Volume")

        text = QVBoxLayout()
        text.addWidget(self.title)
        text.addWidget(self.details)
        seek_row = QHBoxLayout()
        for w in (self.prev_button, self.play_button, self.next_button, self.elapsed):
            seek_row.addWidget(w)
        seek_row.addWidget(self.slider, 1)
        seek_row.addWidget(self.remaining)
        seek_row.addSpacing(12)
        seek_row.addWidget(self.shuffle_button)
        seek_row.addWidget(self.repeat_button)
        seek_row.addWidget(self.mute_button)
        seek_row.addWidget(self.volume)
        text.addLayout(seek_row)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(8, 6, 8, 6)
        outer.addWidget(self.cover)
        outer.addLayout(text, 1)

        self._duration = 0
        self._dragging = False
        self.play_button.clicked.connect(self.play_pause)
        self.prev_button.clicked.connect(self.previous)
        self.next_button.clicked.connect(self.next)
        self.slider.sliderPressed.connect(lambda: setattr(self, "_dragging", True))
        self.slider.sliderReleased.connect(self._release)
        self.slider.actionTriggered.connect(self._slider_action)
        self.volume.valueChanged.connect(self.volume_changed)
        self.mute_button.toggled.connect(self._mute)
        self.repeat_button.clicked.connect(self.repeat_clicked)

    def show_repeat(self, mode: str) -> None:
        """Show the repeat mode: ``off``, ``all`` or ``one``."""
        self.repeat_button.setText({"off": "↻", "all": "↻ all", "one": "↻ 1"}[mode])
        self.repeat_button.setToolTip(
            {
                "off": "Repeat: off (click: repeat all)",
                "all": "Repeat: all, the library starts over (click: repeat one)",
                "one": "Repeat: this song (click: off)",
            }[mode]
        )

    def show_track(self, track: Track | None) -> None:
        """Show ``track`` (None: nothing playing), with a plain disc until its cover
        arrives through :meth:`show_cover`."""
        if track is None:
            self.title.setText("Nothing playing")
            self.details.setText("")
            self.cover.clear()
            self.slider.setEnabled(False)
            return
        self.title.setText(track.title)
        self.details.setText(" — ".join(x for x in (track.shown_artist, track.album) if x))
        self.show_cover(None)
        self.slider.setEnabled(True)

    def cover_pixels(self) -> int:
        """How many device pixels a cover needs to fill the bar's square (high-DPI too)."""
        return round(COVER_SIZE * self.devicePixelRatioF())

    def show_cover(self, image: QImage | None) -> None:
        """Show a cover already decoded to :meth:`cover_pixels` (off the GUI thread:
        decoding a full-size picture here froze the window); None: a plain disc."""
        if image is None or image.isNull():
            self.cover.setPixmap(
                self.style().standardIcon(QStyle.StandardPixmap.SP_DriveCDIcon).pixmap(40, 40)
            )
            return
        pixmap = QPixmap.fromImage(image)  # small already: no decoding, no scaling
        pixmap.setDevicePixelRatio(self.devicePixelRatioF())
        self.cover.setPixmap(pixmap)

    def set_playing(self, playing: bool) -> None:
        icon = (
            QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        )
        self.play_button.setIcon(self.style().standardIcon(icon))

    def set_duration(self, ms: int) -> None:
        self._duration = ms
        self.slider.setRange(0, max(0, ms))

    def set_position(self, ms: int) -> None:
        if not self._dragging:
            self.slider.setValue(ms)
        self.elapsed.setText(clock(ms / 1000))
        self.remaining.setText("-" + clock(max(0, self._duration - ms) / 1000))

    def set_volume(self, percent: int, muted: bool) -> None:
        self.volume.setValue(percent)
        self.mute_button.setChecked(muted)

    def _release(self) -> None:
        self._dragging = False
        self.seek.emit(self.slider.value())

    def _slider_action(self, action: int) -> None:
        if not self._dragging:  # clicks and keys on the bar seek at once
            self.seek.emit(self.slider.sliderPosition())

    def _mute(self, muted: bool) -> None:
        icon = (
            QStyle.StandardPixmap.SP_MediaVolumeMuted
            if muted
            else QStyle.StandardPixmap.SP_MediaVolume
        )
        self.mute_button.setIcon(self.style().standardIcon(icon))
        self.mute_toggled.emit(muted)
