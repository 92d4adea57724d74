"""What to say about a file that decodes to less audio than it should.

Two signs: less audio decodes than the header claims (MP3's Xing frame count, FLAC's
STREAMINFO, WAV's data size), or, for Ogg, whose headers give no length at all, the
stream stops before its end-of-stream page.
"""

from __future__ import annotations

import os
import struct
import zlib

from engine.tracks import clock

#: A file is damaged or incomplete when less than this share of its length decodes …
DAMAGED_SHARE = 0.75
#: … and at least this many seconds are missing.
DAMAGED_SECONDS = 2.0

#: An Ogg page: "OggS", version, flags, granule, serial, sequence, CRC, segment count.
_OGG_HEADER = struct.Struct("<4sBBqIIIB")
#: The end-of-stream flag of an Ogg page's header type.
_OGG_EOS = 0x04
#: The largest Ogg page: its header, 255 lacing values and 255 segments of 255 bytes.
_OGG_MAX_PAGE = _OGG_HEADER.size + 255 + 255 * 255
#: zlib's CRC-32 is bit-reversed; Ogg's is not: reverse each byte's bits around it.
_BITSWAP = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def damage_note(decoded: float, claimed: float | None) -> str:
    """What to tell the user when ``decoded`` seconds of a file said to last ``claimed``
    seconds decode; ``""`` when that is (about) all of it."""
    if not claimed or decoded >= DAMAGED_SHARE * claimed or claimed - decoded < DAMAGED_SECONDS:
        return ""
    decodes, of = clock(decoded, tenths=True), clock(claimed, tenths=True)
    return f"damaged or incomplete: only {decodes} of {of} decodes"


def assess(
    path: str | os.PathLike[str], decoded: float | None, claimed: float | None
) -> tuple[float | None, str]:
    """How long the analysed file at ``path`` plays, and what is wrong with it (``""``
    when nothing is).

    ``decoded`` is the audio that decoded when the file was decoded whole (None when
    only excerpts were), ``claimed`` the length its headers gave at the scan. The
    length is None when neither is known for sure.
    """
    note = damage_note(decoded, claimed) if decoded is not None else ""
    # Ogg headers claim no length to fall short of: a cut file shows by its last page.
    if not note and ogg_cut_short(path):
        if decoded is None:  # excerpts only: they play to the length the scan read
            decoded = claimed
        note = cut_note(decoded) if decoded is not None else ""
    return decoded, note


def cut_note(decoded: float) -> str:
    """What to tell the user about a file whose end is missing (:func:`ogg_cut_short`),
    of which ``decoded`` seconds play."""
    plays = clock(decoded, tenths=True)
    return f"damaged or incomplete: cut off after {plays} (its end is missing)"


def ogg_cut_short(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is an Ogg file (Vorbis, Opus, FLAC…) whose end is missing.

    Ogg headers say nothing of the length: what plays is read from the last page, so a
    cut file looks whole to every header-based check. But a complete stream ends with
    a page flagged end-of-stream, and a cut one with a page cut in two or with no
    such flag. Reads only the file's first bytes and its last page (at most 64 kB).
    False when the file is not Ogg, or when its end cannot be made out (no verdict
    rather than a wrong one).
    """
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"OggS":
                return False
            size = f.seek(0, os.SEEK_END)
            for window in (8 << 10, 2 * _OGG_MAX_PAGE):  # pages are 4-8 kB; a few reach 64 kB
                start = max(0, size - window)
                f.seek(start)
                verdict = _ogg_tail_cut(f.read())
                if verdict is not None or start == 0:
                    return bool(verdict)
    except OSError:
        return False
    return False


def _ogg_tail_cut(tail: bytes) -> bool | None:
    """Whether the file ending in ``tail`` is cut short: the last page in it whose
    checksum is right must be flagged end-of-stream and be followed by no partial
    page. None when ``tail`` holds no whole page."""
    at = len(tail)
    while (at := tail.rfind(b"OggS", 0, at)) >= 0:
        end = _ogg_page_end(tail, at)
        if end is None:  # a page cut in two, or "OggS" inside a page's data
            continue
        if tail.startswith(b"OggS", end):  # a partial page follows the last whole one
            return True
        # Trailing bytes that are not a page (an appended ID3v1 or APE tag) are no cut.
        return not tail[at + 5] & _OGG_EOS
    return None


def _ogg_page_end(data: bytes, at: int) -> int | None:
    """Where the Ogg page at ``data[at:]`` ends, or None unless it is whole and its
    checksum right (so bytes that merely look like a page header never count)."""
    if at + _OGG_HEADER.size > len(data):
        return None
    _, version, _, _, _, _, crc, segments = _OGG_HEADER.unpack_from(data, at)
    lacing = data[at + _OGG_HEADER.size : at + _OGG_HEADER.size + segments]
    end = at + _OGG_HEADER.size + segments + sum(lacing)
    if version != 0 or len(lacing) < segments or end > len(data):
        return None
    page = bytearray(data[at:end])
    page[22:26] = b"\0\0\0\0"  # the checksum is computed with its own field zeroed
    return end if _ogg_crc(bytes(page)) == crc else None


def _ogg_crc(page: bytes) -> int:
    """Ogg's CRC-32 (polynomial 0x04C11DB7, not reflected, no initial or final XOR)."""
    reflected = ~zlib.crc32(page.translate(_BITSWAP), 0xFFFFFFFF) & 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2)
