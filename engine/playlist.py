"""M3U8 playlists: what other players read."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from engine.tracks import Track


def write_m3u8(path: str | os.PathLike[str], tracks: Sequence[Track], *, relative: bool) -> None:
    """Write ``tracks`` as an extended M3U playlist in UTF-8.

    ``relative`` writes paths relative to the playlist's folder (portable with the
    music, e.g. on a USB stick); otherwise absolute paths. The file is replaced
    atomically, so a failed write never leaves half a playlist.
    """
    target = Path(path)
    base = target.resolve().parent
    lines = ["#EXTM3U"]
    for track in tracks:
        seconds = round(track.duration) if track.duration else -1
        name = " - ".join(part for part in (track.artist, track.title) if part)
        lines.append(f"#EXTINF:{seconds},{name or Path(track.path).stem}")
        file = os.path.abspath(track.path)
        if relative:
            with contextlib.suppress(ValueError):  # another drive (Windows): keep absolute
                file = os.path.relpath(file, base)
        lines.append(file)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogateescape")
    os.replace(tmp, target)


def read_m3u8(path: str | os.PathLike[str]) -> list[str]:
    """The file entries of a playlist, resolved against its folder."""
    base = Path(path).resolve().parent
    text = Path(path).read_text(encoding="utf-8", errors="surrogateescape")
    entries = [line.strip() for line in text.splitlines()]
    return [os.path.normpath(os.path.join(base, e)) for e in entries if e and not e.startswith("#")]
