"""Album cover art: an image file beside the songs, or the picture in their tags."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from engine.ingest.tags import open_regular_file, read_cover
from engine.ingest.tagsize import MAX_COVER_BYTES

#: Image files players put beside an album's songs, best first (matched ignoring case).
COVER_NAMES: tuple[str, ...] = ("cover", "folder", "front", "album", "albumart")
COVER_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")
#: A picture larger than this is not a cover, and no more than this is read to find one
#: (a cover file, or a song's tags: all of them together). Covers are rarely over 5 MB.
#: Songs whose tags are searched for a picture when no cover file is found.
TAGGED_SONGS_TRIED = 3


def _cover_file(folder: Path) -> Path | None:
    """The best-named regular file among the folder's cover names; one that cannot be
    looked at (a link loop, no permission) is passed over."""
    try:
        names = {entry.name.casefold(): entry for entry in os.scandir(folder)}
    except OSError:
        return None
    for stem in COVER_NAMES:
        for ext in COVER_EXTENSIONS:
            entry = names.get(stem + ext)
            try:
                if entry is not None and entry.is_file():
                    return Path(entry.path)
            except OSError:  # is_file() raises all but "not found" (ELOOP, EACCES…)
                continue
    return None


def _read_cover_file(path: Path) -> bytes | None:
    """The file's bytes if it is a regular file of at most ``MAX_COVER_BYTES`` (read no
    further even if it grew since it was looked at); None otherwise or on any error."""
    try:
        with open_regular_file(path) as file:
            if os.fstat(file.fileno()).st_size > MAX_COVER_BYTES:
                return None
            data = file.read(MAX_COVER_BYTES + 1)
    except OSError:
        return None
    return data if len(data) <= MAX_COVER_BYTES else None


def cover_source(paths: Sequence[str]) -> tuple[str, float] | None:
    """Where an album's cover comes from and when it last changed, without reading it:
    the first cover file in the songs' folders, else the first song (its tags)."""
    for folder in dict.fromkeys(Path(p).parent for p in paths):
        found = _cover_file(folder)
        if found is not None:
            try:
                return str(found), found.stat().st_mtime
            except OSError:
                continue
    for path in paths[:TAGGED_SONGS_TRIED]:
        try:
            return path, os.stat(path).st_mtime
        except OSError:
            continue
    return None


def find_cover(paths: Sequence[str]) -> bytes | None:
    """The cover image of the album made of ``paths``: a ``cover.jpg``/``folder.jpg``
    (and the like) beside the songs, else the first picture found in their tags."""
    for folder in dict.fromkeys(Path(p).parent for p in paths):
        found = _cover_file(folder)
        data = _read_cover_file(found) if found is not None else None
        if data:
            return data
    for path in paths[:TAGGED_SONGS_TRIED]:
        picture = read_cover(path, max_bytes=MAX_COVER_BYTES)
        if picture:
            return picture
    return None


def cover_cache_name(album_key: str, source: tuple[str, float] | None) -> str:
    """A file name for an album's thumbnail that changes when its cover source does."""
    stamp = f"{album_key}\x00{source[0]}\x00{source[1]}" if source else f"{album_key}\x00-"
    return hashlib.sha1(stamp.encode("utf-8", "surrogatepass")).hexdigest()
