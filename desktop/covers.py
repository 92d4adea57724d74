"""Album cover thumbnails: made off the GUI thread, kept on disk and in memory.

Views ask :meth:`CoverCache.icon` while painting; an album not in memory yet is
queued (newest first, so the rows on screen come before ones scrolled past) and a
worker thread reads its thumbnail from the state folder's ``covers/``, or makes it
from the cover file or tags (QImage is safe off the GUI thread; QPixmap is not).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Generator, Sequence
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QImageReader, QPixmap

from desktop.tasks import TaskRunner
from engine.collection import Album
from engine.library import Library
from engine.progress import CancelToken

#: Thumbnails are made this big (pixels); views show them at this size or less.
THUMBNAIL = 64
#: Albums whose icons stay in memory (64 by 64 thumbnails: about 16 kB each).
MEMORY_ALBUMS = 2000
#: Only this many requests wait: rows scrolled past long ago are not worth making.
WAITING_ALBUMS = 300


def decode_cover(data: bytes, size: int) -> QImage:
    """``data`` decoded to fit ``size`` by ``size`` pixels, keeping its shape (null if it
    is no image). Off the GUI thread: QImage is safe there.

    The reader is told the size first, so a JPEG decodes at a fraction of its full size
    (its DCT scales) and no full-size image is kept, whatever the picture's resolution.
    """
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    full = reader.size()  # from the header, without decoding
    if full.isValid() and not full.isEmpty():
        reader.setScaledSize(full.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio))
        return reader.read()
    image = reader.read()  # a format that cannot tell its size before decoding
    if image.isNull():
        return image
    return image.scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


def cover_image(library: Library, paths: Sequence[str], size: int) -> QImage | None:
    """The cover of the album made of ``paths``, decoded to fit ``size`` pixels; None: no
    cover, or none readable (any OSError on one album's files means no cover)."""
    try:
        data = library.album_cover(paths)
    except OSError:
        return None
    image = decode_cover(data, size) if data else QImage()
    return None if image.isNull() else image


def make_thumbnail(library: Library, album: Album) -> QImage | None:
    """The album's thumbnail from the disk cache, or made and cached; None: no cover (or
    an error looking for it: one album's unreadable cover never stops the others)."""
    try:
        name = library.album_cover_name(album.key, album.paths)
        png, none = name.with_suffix(".png"), name.with_suffix(".none")
        if png.exists():
            image = QImage(str(png))
            if not image.isNull():
                return image
        if none.exists():
            return None
    except OSError:
        return None
    image = cover_image(library, album.paths, THUMBNAIL)
    try:
        name.parent.mkdir(parents=True, exist_ok=True)
        if image is None:
            none.touch()
            return None
        _save_atomically(image, png)
    except OSError:
        pass  # a read-only or full disk: the thumbnail is simply made again next time
    return image


def _save_atomically(image: QImage, path: Path) -> None:
    """Write under a temporary name first: a crash never leaves half a PNG behind."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.png")
    os.close(fd)
    try:
        if not image.save(tmp, "PNG"):
            raise OSError("cannot write the thumbnail")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class CoverCache(QObject):
    """Album key → icon; ``ready(key)`` when a thumbnail asked for is in memory."""

    ready = Signal(str)

    def __init__(self, library: Library, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        self._icons: OrderedDict[str, QIcon | None] = OrderedDict()
        self._waiting: OrderedDict[str, Album] = OrderedDict()
        self._lock = threading.Lock()  # _waiting is read by the worker thread
        self._working = False
        self._closed = False

    def close(self) -> None:
        """Start no more work (the window is closing)."""
        self._closed = True

    def icon(self, album: Album) -> QIcon | None:
        """The album's cover icon if in memory (None while it loads, or with no cover)."""
        key = album.key
        if key in self._icons:
            self._icons.move_to_end(key)
            return self._icons[key]
        with self._lock:
            self._waiting[key] = album
            self._waiting.move_to_end(key)
            while len(self._waiting) > WAITING_ALBUMS:
                self._waiting.popitem(last=False)
        self._work()
        return None

    def known(self, key: str) -> bool:
        return key in self._icons

    def _work(self) -> None:
        if self._working or self._closed:
            return
        self._working = True

        def load(token: CancelToken) -> Generator[tuple[str, QImage | None], None, None]:
            while not token.cancelled:
                with self._lock:
                    if not self._waiting:
                        return
                    key, album = self._waiting.popitem()  # the newest request first
                yield key, make_thumbnail(self.library, album)

        def finished() -> None:
            self._working = False
            with self._lock:
                more = bool(self._waiting)
            if more:
                self._work()

        self.runner.start(load, name="covers", partial=self._loaded, finished=finished)

    def _loaded(self, item: tuple[str, QImage | None]) -> None:
        key, image = item
        self._icons[key] = QIcon(QPixmap.fromImage(image)) if image is not None else None
        while len(self._icons) > MEMORY_ALBUMS:
            self._icons.popitem(last=False)
        self.ready.emit(key)
