"""Read tags with mutagen, falling back to file and folder names.

Tags beyond the caps of :mod:`engine.ingest.tagsize` are left unread (mutagen would
take tens of seconds or more over them): such a file is indexed by its names, and the
reason is reported.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any, BinaryIO

import mutagen
from mutagen.id3 import ID3

from engine.ingest.tagsize import (
    MAX_COVER_BYTES,
    PICTURES_TRIED,
    id3_pictures,
    tag_problem,
    untagged_length,
)
from engine.tracks import TrackInfo


class TagError(Exception):
    """The file is not readable audio; the message is meant for the user."""


# easy-tag key -> ID3 frame, for files whose ID3 tags mutagen has no "easy" view of (WAV, AIFF)
_ID3_FRAMES = {
    "title": "TIT2",
    "artist": "TPE1",
    "album": "TALB",
    "albumartist": "TPE2",
    "genre": "TCON",
    "tracknumber": "TRCK",
    "date": "TDRC",
}
#: The picture type of a front cover (ID3 APIC, FLAC and Ogg pictures).
_FRONT_COVER = 3
_LEADING_NUMBER = re.compile(r"^\s*(\d{1,3})(?:\s*[-._)]\s*|\s+)(.+)$")


def read_info(path: str, *, root: str | None = None) -> TrackInfo:
    """Tags, duration, size and mtime of the audio file at ``path``.

    Missing tags are filled from names: ``root/Artist/Album/01 - Title.ext``
    gives artist, album, track number and title (only folders inside ``root``
    are used, so the library folder's own name never becomes an album).

    Raises
    ------
    TagError
        When the file is empty, unreadable or not a recognised audio format.
    """
    return read_track(path, root=root)[0]


def read_track(path: str, *, root: str | None = None) -> tuple[TrackInfo, str]:
    """:func:`read_info`, and why the file's tags were left unread (``""`` when they
    were read): tags too large or of too many fields (:mod:`engine.ingest.tagsize`).
    Such a file still gets its names, size, mtime and, where cheap, its duration.

    Raises
    ------
    TagError
        As :func:`read_info`.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise TagError("file not found (moved or deleted)") from exc
    except OSError as exc:
        raise TagError(f"cannot read file: {exc.strerror or exc}") from exc
    if st.st_size == 0:
        raise TagError("empty file (0 bytes)")
    if not os.access(path, os.R_OK):
        raise TagError("permission denied")
    problem = tag_problem(path)
    if problem:
        info = TrackInfo(path=path, size=st.st_size, mtime=st.st_mtime)
        info.duration = untagged_length(path)
        _fill_from_names(info, root)
        return info, problem
    try:
        audio = mutagen.File(path, easy=True)
    except PermissionError as exc:
        raise TagError("permission denied") from exc
    except FileNotFoundError as exc:
        raise TagError("file not found (moved or deleted)") from exc
    except Exception as exc:  # mutagen raises many types for malformed files
        reason = _first_line(exc).replace(repr(path), "the file").replace(path, "the file")
        raise TagError(f"unreadable or corrupt audio file: {reason}") from exc
    if audio is None:
        raise TagError("not a recognised audio file")

    tags = _tag_dict(audio)
    info = TrackInfo(path=path, size=st.st_size, mtime=st.st_mtime)
    info.title = tags.get("title", "")
    info.artist = tags.get("artist", "")
    info.album = tags.get("album", "")
    info.albumartist = tags.get("albumartist", "")
    info.genre = tags.get("genre", "")
    info.tracknumber = _leading_int(tags.get("tracknumber", ""))
    info.year = _leading_int(tags.get("date", ""), digits=4)
    length = getattr(getattr(audio, "info", None), "length", None)
    info.duration = round(float(length), 3) if length else None
    _fill_from_names(info, root)
    return info, ""


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _tag_dict(audio: Any) -> dict[str, str]:
    tags = audio.tags
    if tags is None:
        return {}
    out: dict[str, str] = {}
    if isinstance(tags, ID3):
        for key, frame in _ID3_FRAMES.items():
            if frame in tags and tags[frame].text:
                out[key] = str(tags[frame].text[0]).strip()
        return out
    for key in ("title", "artist", "album", "albumartist", "genre", "tracknumber", "date"):
        try:
            value = tags.get(key)
        except (KeyError, ValueError):
            value = None
        if value:
            first = value[0] if isinstance(value, list | tuple) else value
            out[key] = str(first).strip()
    return out


def _leading_int(text: str, digits: int = 3) -> int | None:
    match = re.match(rf"\s*(\d{{1,{digits}}})", text or "")
    return int(match.group(1)) if match else None


def _readable(name: str) -> str:
    """A file or folder name as text: undecodable bytes become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _fill_from_names(info: TrackInfo, root: str | None) -> None:
    path = Path(info.path)
    stem = _readable(path.stem).replace("_", " ").strip()
    match = _LEADING_NUMBER.match(stem)
    if match:
        if info.tracknumber is None:
            info.tracknumber = int(match.group(1))
        stem = match.group(2).strip()
    if not info.artist and " - " in stem:
        artist, _, rest = stem.partition(" - ")
        info.artist, stem = artist.strip(), rest.strip()
    if not info.title:
        info.title = stem or _readable(path.name)
    folders: list[str] = []
    if root is not None:
        try:
            folders = [_readable(p) for p in path.parent.relative_to(root).parts]
        except ValueError:
            folders = []
    if not info.album and folders:
        info.album = folders[-1]
    if not info.artist:
        info.artist = info.albumartist or (folders[-2] if len(folders) >= 2 else "")


class _OverBudget(Exception):
    """Reading a file's tags would go past its budget (not an OSError: mutagen must not
    take it for a short file and try another way)."""


class _Budgeted:
    """A read-only file that refuses to read more than ``budget`` bytes in all.

    mutagen reads a tag whole (and a picture with it), then copies and decodes it: a
    100 MB picture cost 500 MB. A read that would pass the budget raises before any byte
    of it is read, so a picture too big costs nothing.
    """

    def __init__(self, file: BinaryIO, budget: int) -> None:
        self._file = file
        self._left = budget
        self.name = file.name  # mutagen guesses the format from the extension too

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = max(0, os.fstat(self._file.fileno()).st_size - self._file.tell())
        if size > self._left:
            raise _OverBudget(f"tags larger than {self._left} bytes")
        data = self._file.read(size)
        self._left -= len(data)
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()


def read_cover(path: str, *, max_bytes: int = MAX_COVER_BYTES) -> bytes | None:
    """The embedded front cover (else the first picture) of ``path``, as image bytes;
    None when there is none no larger than ``max_bytes``.

    Only the first :data:`~engine.ingest.tagsize.PICTURES_TRIED` pictures are looked
    at, and an ID3 tag's other frames are not read at all: a file may hold a thousand.
    Other tags are read through a budget of ``max_bytes``: a tag that large is skipped.
    """
    found = id3_pictures(path, max_bytes=max_bytes)
    if not found and not tag_problem(path):  # tags too large to read: no cover either
        found = _pictures(path, max_bytes)
    found = [(kind, data) for kind, data in found if len(data) <= max_bytes]
    fronts = [data for kind, data in found if kind == _FRONT_COVER]
    if fronts:
        return fronts[0]
    return found[0][1] if found else None


def _pictures(path: str, max_bytes: int) -> list[tuple[int, bytes]]:
    """``(picture type, image bytes)`` of the first pictures in the (not ID3) tags."""
    import base64

    from mutagen.flac import Picture

    try:
        with open_regular_file(path) as file:
            audio = mutagen.File(_Budgeted(file, max_bytes))
    except Exception:  # a cover is optional: any problem means "no cover"
        return []
    if audio is None:
        return []
    found = [(p.type, p.data) for p in getattr(audio, "pictures", [])[:PICTURES_TRIED]]  # FLAC
    tags = audio.tags
    if tags is None or isinstance(tags, ID3):  # ID3 pictures are read by id3_pictures
        return found
    if "covr" in tags:  # MP4: no picture types; the first is the cover
        found += [(_FRONT_COVER, bytes(c)) for c in tags["covr"][:PICTURES_TRIED]]
    elif "metadata_block_picture" in tags:  # Ogg Vorbis / Opus: base64 FLAC pictures
        for value in tags["metadata_block_picture"][:PICTURES_TRIED]:
            try:
                picture = Picture(base64.b64decode(value))
            except Exception:
                continue
            found.append((picture.type, picture.data))
    return found[:PICTURES_TRIED]


def open_regular_file(path: str | os.PathLike[str]) -> BinaryIO:
    """``path`` opened for reading if it is a regular file; OSError if it is not (a FIFO
    or a device named like a song or a cover would block or never end). A FIFO is
    opened without waiting for a writer, then refused."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"not a regular file: {os.fspath(path)!r}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
