"""M3U8 playlists: what other players read.

Every entry must read back as exactly the file it names. A playlist is one entry per
line and ``#`` starts a comment, so titles lose their line breaks and control
characters, a relative path that starts with ``#`` or a space gets a ``./``, and a
path that no line can hold (a line break in the name, bytes that are not UTF-8) is
left out and reported.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from engine.errors import cause
from engine.tracks import Track

#: Characters that would break a playlist line (line breaks, other control characters).
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


class PlaylistError(Exception):
    """The playlist cannot be written; the message is meant for the user."""


def write_m3u8(
    path: str | os.PathLike[str], tracks: Sequence[Track], *, relative: bool
) -> list[str]:
    """Write ``tracks`` as an extended M3U playlist in UTF-8; return the paths left out.

    ``relative`` writes paths relative to the playlist's folder (portable with the
    music, e.g. on a USB stick); otherwise absolute paths. The playlist is written to
    a new temporary file of its own (created exclusively, so never through a planted
    link) and then renamed over the target: a failed write leaves no half playlist
    and no temporary file.

    Raises
    ------
    PlaylistError
        When the target is a folder, its folder is missing, or it cannot be written
        (a full disk, no permission, a read-only file system).
    """
    target = Path(path)
    if target.is_dir():
        raise PlaylistError(f"{target} is a folder: give a file name, e.g. {target}/mix.m3u8")
    folder = target.parent.resolve()
    if not folder.is_dir():
        raise PlaylistError(f"cannot write {target}: the folder {folder} does not exist")
    lines = ["#EXTM3U"]
    skipped: list[str] = []
    for track in tracks:
        entry = _entry(track.path, folder if relative else None)
        if entry is None:
            skipped.append(track.path)
            continue
        seconds = round(track.duration) if track.duration else -1
        name = " - ".join(part for part in (track.artist, track.title) if part)
        title = _CONTROL.sub(" ", name or Path(track.path).stem).strip()
        lines.append(f"#EXTINF:{seconds},{title.encode('utf-8', 'replace').decode('utf-8')}")
        lines.append(entry)
    data = ("\n".join(lines) + "\n").encode("utf-8")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise PlaylistError(f"{cause(exc)}: cannot write the playlist {target}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            if exc.errno == errno.EISDIR:
                raise PlaylistError(f"{target} is a folder") from exc
            raise PlaylistError(f"{cause(exc)}: cannot write the playlist {target}") from exc
        raise
    return skipped


def _entry(file: str, base: Path | None) -> str | None:
    """The playlist line for ``file`` (relative to ``base`` when given), or None."""
    file = os.path.abspath(file)
    if base is not None:
        with contextlib.suppress(ValueError):  # another drive (Windows): keep absolute
            file = os.path.relpath(file, base)
            if file.startswith(("#", " ", "\t")) or file != file.strip():
                file = os.path.join(".", file)
    if _CONTROL.search(file) or file != file.rstrip():
        return None  # no line can hold it (and readers strip trailing blanks)
    try:
        file.encode("utf-8")
    except UnicodeEncodeError:  # a name that is not UTF-8: an M3U8 line cannot hold it
        return None
    return file


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_m3u8(path: str | os.PathLike[str]) -> list[str]:
    """The file entries of a playlist, resolved against its folder."""
    base = Path(path).resolve().parent
    text = Path(path).read_text(encoding="utf-8", errors="surrogateescape")
    entries = [line.rstrip("\r").lstrip("\ufeff") for line in text.split("\n")]
    return [os.path.normpath(os.path.join(base, e)) for e in entries if e and not e.startswith("#")]
