"""How big a file's tags are, found cheaply before mutagen reads them.

mutagen reads every tag frame and picture into memory, and its ID3 reader slows down
with the square of the frame count (each frame is merged with the earlier ones of its
kind): here 40,000 frames took 21 s to read, 3,000 pictures 15 s per cover lookup, in
the scanning process. No real file comes near :data:`MAX_TAG_BYTES` or
:data:`MAX_TAG_FIELDS`, so a file beyond them has its tags left unread (it is still
indexed, by its file name) rather than given a process and a time limit like decoding.

Only block headers and counts are read here: ID3v2 frame headers (at the start of an
MP3, or in the ``id3`` chunk of a WAV or AIFF file), FLAC metadata block headers and
the Vorbis comment count, the Ogg comment packet's pages, and MP4 atom headers. Any
surprise in them means no verdict: mutagen then reads the file as before.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Callable
from typing import BinaryIO

#: Tags larger than this are not read (nor is a cover inside them).
MAX_TAG_BYTES = 32 << 20
#: A cover picture (in the tags or a file beside the songs) over this is no cover.
MAX_COVER_BYTES = 16 << 20
#: Tags with more fields than this are not read (ID3 frames, Vorbis comments, MP4
#: items, FLAC blocks). Real files have tens; mutagen takes ~1 s for 1,000 pictures.
MAX_TAG_FIELDS = 1000
#: Covers are looked for among this many embedded pictures at most.
PICTURES_TRIED = 4

_FRAME_ID = re.compile(rb"[A-Z0-9]{3,4}")
_OGG_PAGE = struct.Struct("<4sBBqIIIB")
#: Codec magic at the start of an Ogg comment packet, before the vendor string.
_OGG_COMMENT_MAGIC = (b"\x03vorbis", b"OpusTags")
_FLAC_PADDING, _FLAC_COMMENTS = 1, 4

ReadAt = Callable[[int, int], bytes]


def too_large(size: int) -> str:
    """The reason given for tags of ``size`` bytes."""
    return f"tags unreadable: too large ({size / (1 << 20):.0f} MB)"


def too_many() -> str:
    """The reason given for tags of more than :data:`MAX_TAG_FIELDS` fields."""
    return f"tags unreadable: too many fields (over {MAX_TAG_FIELDS:,})"


def tag_problem(path: str) -> str:
    """Why the tags of ``path`` are not to be read (``""`` when they may be)."""
    try:
        with open(path, "rb") as f:
            return _problem(f)
    except Exception:  # unreadable or malformed: no verdict, mutagen says what is wrong
        return ""


def id3_pictures(
    path: str, count: int = PICTURES_TRIED, *, max_bytes: int = MAX_TAG_BYTES
) -> list[tuple[int, bytes]]:
    """``(picture type, image bytes)`` of the first ``count`` pictures of the ID3 tag of
    ``path`` (MP3, WAV, AIFF), read without reading the others; ``[]`` when it has none,
    or no ID3 tag within :data:`MAX_TAG_BYTES`. A picture frame over ``max_bytes`` is
    skipped unread."""
    from mutagen.id3 import ID3

    try:
        with open(path, "rb") as f:
            offset = _id3_offset(f)
            header = _id3_header(f, offset) if offset is not None else None
            if offset is None or header is None or header[2] > MAX_TAG_BYTES:
                return []
            version = header[0]
            read_at, frames = _id3_tag(f, offset, header)
            names = (b"PIC",) if version == 2 else (b"APIC",)
            wanted = [(s, e) for name, s, e in frames if name in names and e - s <= max_bytes]
            wanted = wanted[:count]
            if not wanted:
                return []
            # A tag of those frames alone, for mutagen to decode (text encodings, v2.2
            # picture frames, per-frame flags) without the rest.
            body = b"".join(read_at(s, e - s) for s, e in wanted)
            tag = b"ID3" + bytes((version, 0, 0)) + _syncsafe_bytes(len(body)) + body
            pictures = ID3(io.BytesIO(tag), load_v1=False).getall("APIC")
    except Exception:  # a cover is optional: any problem means "no cover"
        return []
    return [(int(p.type), p.data) for p in pictures]


def untagged_length(path: str) -> float | None:
    """The length of a file whose tags are left unread, where the header that gives it
    can be read without them: MP3 (its ID3 tag is skipped by its size), FLAC and WAV."""
    from mutagen.flac import StreamInfo
    from mutagen.mp3 import MPEGInfo
    from mutagen.wave import WaveStreamInfo

    try:
        with open(path, "rb") as f:
            head, start = f.read(10), 0
            if head[:4] == b"RIFF":
                f.seek(0)
                return round(WaveStreamInfo(f).length, 3)
            if head[:3] == b"ID3":  # MP3, or (rarely) FLAC behind an ID3 tag
                start = 10 + _syncsafe(head[6:10])
                f.seek(start)
                if f.read(4) != b"fLaC":
                    f.seek(0)  # mutagen skips the tag by its size
                    return round(MPEGInfo(f).length, 3)
                head = b"fLaC"
            if head[:4] == b"fLaC":
                f.seek(start + 8)  # past the STREAMINFO block's header: it always comes first
                return round(StreamInfo(f.read(34)).length, 3)
    except Exception:  # no length until the file is analysed
        return None
    return None


def _problem(f: BinaryIO) -> str:
    offset = _id3_offset(f)
    header = _id3_header(f, offset) if offset is not None else None
    if offset is not None and header is not None:
        if header[2] > MAX_TAG_BYTES:
            return too_large(header[2])
        if len(_id3_tag(f, offset, header)[1]) > MAX_TAG_FIELDS:
            return too_many()
        f.seek(offset + 10 + header[2])  # some taggers put an ID3 tag before FLAC's header
        return _flac_problem(f) if offset == 0 and f.read(4) == b"fLaC" else ""
    f.seek(0)
    head = f.read(8)
    if head[:4] == b"fLaC":
        f.seek(4)
        return _flac_problem(f)
    if head[:4] == b"OggS":
        return _ogg_problem(f)
    if head[4:8] == b"ftyp":
        return _mp4_problem(f)
    return ""


# -- ID3v2 --------------------------------------------------------------------------------


def _syncsafe(data: bytes) -> int:
    return (data[0] & 0x7F) << 21 | (data[1] & 0x7F) << 14 | (data[2] & 0x7F) << 7 | data[3] & 0x7F


def _syncsafe_bytes(n: int) -> bytes:
    return bytes(((n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F))


def _id3_header(f: BinaryIO, offset: int) -> tuple[int, int, int] | None:
    """``(major version, flags, size after the header)`` of the ID3v2 tag at ``offset``."""
    f.seek(offset)
    head = f.read(10)
    if len(head) < 10 or head[:3] != b"ID3" or head[3] not in (2, 3, 4):
        return None
    return head[3], head[5], _syncsafe(head[6:10])


def _id3_offset(f: BinaryIO) -> int | None:
    """Where mutagen reads an ID3v2 tag: at the start of the file, or in the ``id3``
    chunk of a WAV or AIFF file. None when there is none."""
    f.seek(0)
    head = f.read(12)
    if head[:3] == b"ID3":
        return 0
    if head[:4] in (b"RIFF", b"FORM") and head[8:12] in (b"WAVE", b"AIFF", b"AIFC"):
        return _id3_chunk(f, big_endian=head[:4] == b"FORM")
    return None


def _id3_tag(
    f: BinaryIO, offset: int, header: tuple[int, int, int]
) -> tuple[ReadAt, list[tuple[bytes, int, int]]]:
    """How to read the body of the ID3v2 tag at ``offset``, and its frames as ``(name,
    start, end)`` in that body, at most :data:`MAX_TAG_FIELDS` + 1 of them."""
    version, flags, size = header
    start = offset + 10
    if version < 4 and flags & 0x80:  # unsynchronised as a whole: frame sizes are of
        f.seek(start)  # the data with the inserted zero bytes taken out again
        data = f.read(size).replace(b"\xff\x00", b"\xff")

        def read_at(pos: int, n: int) -> bytes:
            return data[pos : pos + n]

        size = len(data)
    else:

        def read_at(pos: int, n: int) -> bytes:
            f.seek(start + pos)  # frame by frame: pictures are skipped, never read
            return f.read(n)

    return read_at, _id3_frames(read_at, size, version, flags)


def _id3_frames(
    read_at: ReadAt, size: int, version: int, flags: int
) -> list[tuple[bytes, int, int]]:
    """The frames of an ID3v2 tag body of ``size`` bytes, up to one past the limit;
    the walk ends at padding or at anything that is not a frame header."""
    pos = 0
    if flags & 0x40 and version >= 3:  # an extended header comes first
        ext = read_at(0, 4)
        # (some taggers set the flag and write none: a frame follows at once)
        if len(ext) == 4 and _FRAME_ID.fullmatch(ext) is None:
            pos = _syncsafe(ext) if version == 4 else 4 + int.from_bytes(ext, "big")
    name_size, head_size = (3, 6) if version == 2 else (4, 10)
    frames: list[tuple[bytes, int, int]] = []
    while pos + head_size <= size and len(frames) <= MAX_TAG_FIELDS:
        head = read_at(pos, head_size)
        name, raw = head[:name_size], head[name_size : 2 * name_size]
        if len(head) < head_size or _FRAME_ID.fullmatch(name) is None:
            break
        length = _syncsafe(raw) if version == 4 else int.from_bytes(raw, "big")
        end = pos + head_size + length
        if end > size:
            break
        frames.append((name, pos, end))
        pos = end
    return frames


def _id3_chunk(f: BinaryIO, *, big_endian: bool) -> int | None:
    """Where the ID3 tag in the ``id3``/``ID3`` chunk of a RIFF (WAV) or IFF (AIFF)
    file starts, as mutagen finds it; None when it has none."""
    order = "big" if big_endian else "little"
    pos = 12
    for _ in range(MAX_TAG_FIELDS):  # a few chunks in a real file
        f.seek(pos)
        head = f.read(8)
        if len(head) < 8:
            return None
        if head[:4] in (b"id3 ", b"ID3 "):
            return pos + 8
        pos += 8 + int.from_bytes(head[4:8], order)
        pos += pos % 2  # chunks are padded to an even length
    return None


# -- FLAC ---------------------------------------------------------------------------------


def _flac_problem(f: BinaryIO) -> str:
    """Metadata blocks follow ``fLaC`` (where ``f`` stands): their total size, their
    number and the Vorbis comment count."""
    pos, total = f.tell(), 0
    for _ in range(MAX_TAG_FIELDS):
        f.seek(pos)
        head = f.read(4)
        if len(head) < 4:
            return ""
        kind, length = head[0] & 0x7F, int.from_bytes(head[1:4], "big")
        if kind != _FLAC_PADDING:  # padding is skipped, never kept
            total += length
        if total > MAX_TAG_BYTES:
            return too_large(total)
        if kind == _FLAC_COMMENTS:
            vendor = int.from_bytes(f.read(4), "little")
            if vendor < length:
                f.seek(vendor, io.SEEK_CUR)
                if int.from_bytes(f.read(4), "little") > MAX_TAG_FIELDS:
                    return too_many()
        if head[0] & 0x80:  # the last block
            return ""
        pos += 4 + length
    return too_many()


# -- Ogg ----------------------------------------------------------------------------------


def _ogg_problem(f: BinaryIO) -> str:
    """The comment packet is the stream's second: it starts on the second page and
    runs over as many pages as it needs (each lacing value of 255 says "more")."""
    f.seek(0)
    first = _ogg_page(f)
    if first is None:
        return ""
    serial, lacing, body_at = first
    f.seek(body_at + sum(lacing))  # the identification header: one packet, one page
    packet, started, walked = 0, False, 0
    while walked < 2 * MAX_TAG_BYTES:  # other streams' pages may be interleaved
        page = _ogg_page(f)
        if page is None:
            return ""
        page_serial, lacing, body_at = page
        walked += len(lacing) + sum(lacing)
        if page_serial != serial:
            f.seek(body_at + sum(lacing))
            continue
        if not started:  # the packet's first bytes: magic, vendor string, comment count
            started = True
            if _ogg_comment_count(f.read(sum(lacing))) > MAX_TAG_FIELDS:
                return too_many()
        for value in lacing:
            packet += value
            if value < 255:  # the comment packet ends on this page
                return too_large(packet) if packet > MAX_TAG_BYTES else ""
        if packet > MAX_TAG_BYTES:
            return too_large(packet)
        f.seek(body_at + sum(lacing))
    return ""


def _ogg_page(f: BinaryIO) -> tuple[int, bytes, int] | None:
    """``(serial, lacing values, where the body starts)`` of the page at ``f``."""
    head = f.read(_OGG_PAGE.size)
    if len(head) < _OGG_PAGE.size:
        return None
    magic, version, _, _, serial, _, _, segments = _OGG_PAGE.unpack(head)
    lacing = f.read(segments)
    if magic != b"OggS" or version != 0 or len(lacing) < segments:
        return None
    return serial, lacing, f.tell()


def _ogg_comment_count(data: bytes) -> int:
    """The comment count at the start of a Vorbis or Opus comment packet (0 when it
    is another codec's, or not within ``data``)."""
    for magic in _OGG_COMMENT_MAGIC:
        if data.startswith(magic):
            at = len(magic)
            vendor = int.from_bytes(data[at : at + 4], "little")
            count = data[at + 4 + vendor : at + 8 + vendor]
            return int.from_bytes(count, "little") if len(count) == 4 else 0
    return 0


# -- MP4 ----------------------------------------------------------------------------------


def _mp4_problem(f: BinaryIO) -> str:
    """mutagen reads the items under ``moov/udta/meta/ilst`` whole."""
    end = f.seek(0, io.SEEK_END)
    span: tuple[int, int] | None = (0, end)
    for name, skip in ((b"moov", 0), (b"udta", 0), (b"meta", 4), (b"ilst", 0)):
        span = _mp4_child(f, span[0], span[1], name)
        if span is None:
            return ""
        span = (span[0] + skip, span[1])  # "meta" holds a version and flags first
    start, stop = span
    if stop - start > MAX_TAG_BYTES:
        return too_large(stop - start)
    items, pos = 0, start
    while pos + 8 <= stop:
        items += 1
        if items > MAX_TAG_FIELDS:
            return too_many()
        found = _mp4_atom(f, pos, stop)
        if found is None:
            return ""
        pos = found[2]
    return ""


def _mp4_child(f: BinaryIO, start: int, stop: int, name: bytes) -> tuple[int, int] | None:
    """``(body start, end)`` of the first atom called ``name`` in ``[start, stop)``."""
    pos = start
    for _ in range(MAX_TAG_FIELDS):
        found = _mp4_atom(f, pos, stop)
        if found is None:
            return None
        kind, body, end = found
        if kind == name:
            return body, end
        pos = end
    return None


def _mp4_atom(f: BinaryIO, pos: int, stop: int) -> tuple[bytes, int, int] | None:
    """``(name, body start, end)`` of the atom at ``pos``, None when there is none."""
    f.seek(pos)
    head = f.read(8)
    if len(head) < 8:
        return None
    size, name = int.from_bytes(head[:4], "big"), head[4:8]
    body = pos + 8
    if size == 1:  # a 64-bit size follows the name
        size, body = int.from_bytes(f.read(8), "big"), pos + 16
    elif size == 0:  # up to the end
        size = stop - pos
    if size < body - pos or pos + size > stop:
        return None
    return name, body, pos + size
