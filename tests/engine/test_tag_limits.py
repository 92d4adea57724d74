"""Tags and covers are read within bounds, in the scanning process.

mutagen merges each ID3 frame with the earlier ones of its kind: 40,000 frames took
~11 s here (40 s on the reporter's machine) and 1,000 pictures seconds per cover
lookup. A file whose tags pass the caps of ``engine.ingest.tagsize`` is indexed by
its file name with the reason reported; a cover is looked for in its first pictures.
"""

from __future__ import annotations

import base64
import re
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import mutagen
import pytest
from mutagen.flac import Picture
from mutagen.id3 import APIC, ID3

from engine.datasets.synth import render, write_audio, write_tags
from engine.ingest.covers import find_cover
from engine.ingest.tags import read_cover, read_info, read_track
from engine.ingest.tagsize import MAX_TAG_BYTES, MAX_TAG_FIELDS
from engine.library import Library, run

MANY = r"too many fields \(over 1,000\)"
TAGS = {"title": "Real Title", "artist": "Real Artist", "album": "Real Album"}


def _syncsafe(n: int) -> bytes:
    return bytes(((n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F))


def _id3v24(frames: list[tuple[bytes, bytes]]) -> bytes:
    """An ID3v2.4 tag of raw ``(frame id, body)`` frames, written by hand: mutagen
    would merge frames of one kind before writing them."""
    body = b"".join(name + _syncsafe(len(data)) + b"\0\0" + data for name, data in frames)
    return b"ID3\x04\x00\x00" + _syncsafe(len(body)) + body


def _titles(count: int) -> list[tuple[bytes, bytes]]:
    return [(b"TIT2", b"\x03" + f"title {i}".encode()) for i in range(count)]


def _picture(i: int, size: int = 2000, kind: int = 3) -> tuple[bytes, bytes]:
    """An APIC frame (UTF-8, no description) whose image bytes say which one it is."""
    image = b"\xff\xd8" + i.to_bytes(4, "big") + bytes(size)
    return b"APIC", b"\x03image/jpeg\x00" + bytes((kind,)) + b"\x00" + image


def _song(path: Path, seconds: float = 3.0) -> Path:
    sr = 48000 if path.suffix == ".opus" else 22050
    write_audio(path, render("Noise Rock", 1, seconds=seconds, sr=sr), sr)
    return path


def _prepend(path: Path, tag: bytes) -> Path:
    path.write_bytes(tag + path.read_bytes())
    return path


def _many_frames_mp3(path: Path) -> Path:
    return _prepend(_song(path), _id3v24(_titles(40_000)))


def _huge_tag_mp3(path: Path) -> Path:
    return _prepend(_song(path), _id3v24([(b"PRIV", b"owner\x00" + bytes(MAX_TAG_BYTES))]))


def _many_frames_wav(path: Path) -> Path:
    _song(path)
    tag = _id3v24(_titles(5000))
    data = bytearray(path.read_bytes()) + b"id3 " + len(tag).to_bytes(4, "little") + tag
    data[4:8] = (len(data) - 8).to_bytes(4, "little")  # the RIFF size covers the new chunk
    path.write_bytes(bytes(data))
    return path


def _many_comments(path: Path) -> Path:
    _song(path)
    audio = mutagen.File(path)
    audio["comment"] = [f"comment {i}" for i in range(5000)]
    audio.save()
    return path


def _many_mp4_items(path: Path) -> Path:
    _song(path)
    audio = mutagen.File(path)
    for i in range(MAX_TAG_FIELDS + 10):
        audio[f"----:com.example:item{i}"] = [b"x"]
    audio.save()
    return path


CRAFTED: dict[str, tuple[str, Callable[[Path], Path], str]] = {
    "mp3, 40,000 ID3 frames": ("mp3", _many_frames_mp3, MANY),
    "mp3, a 32 MB ID3 tag": ("mp3", _huge_tag_mp3, r"too large \(32 MB\)"),
    "wav, 5,000 frames in its ID3 chunk": ("wav", _many_frames_wav, MANY),
    "flac, 5,000 comments": ("flac", _many_comments, MANY),
    "ogg, 5,000 comments": ("ogg", _many_comments, MANY),
    "opus, 5,000 comments": ("opus", _many_comments, MANY),
    "m4a, 1,010 items": ("m4a", _many_mp4_items, MANY),
}


@pytest.mark.parametrize("kind", list(CRAFTED))
def test_tags_past_the_caps_are_left_unread(tmp_path: Path, kind: str) -> None:
    """The file is indexed by its name (and its length where that is cheap to read);
    the reason says why its tags were not read."""
    ext, make, reason = CRAFTED[kind]
    path = make(tmp_path / f"07 - Named Song.{ext}")
    start = time.perf_counter()
    info, problem = read_track(str(path), root=str(tmp_path))
    took = time.perf_counter() - start
    assert re.fullmatch(rf"tags unreadable: {reason}", problem), problem
    assert (info.title, info.tracknumber, info.artist) == ("Named Song", 7, "")
    if ext in ("mp3", "wav", "flac"):  # their length is read past the tags
        assert info.duration == pytest.approx(3.0, abs=0.1)
    assert took < 2.0, f"{took:.1f} s"  # ~5 ms here; 11 s for 40,000 frames before
    assert read_info(str(path), root=str(tmp_path)) == info


def test_a_scan_indexes_the_file_reports_why_and_goes_on(tmp_path: Path) -> None:
    music = tmp_path / "music"
    music.mkdir()
    crafted = _many_frames_mp3(music / "01 - Many Frames.mp3")
    for ext in ("mp3", "flac", "ogg"):  # ordinary files beside it keep their tags
        write_tags(_song(music / f"tagged.{ext}"), TAGS)
    library = Library(tmp_path / "home")
    try:
        start = time.perf_counter()
        report = run(library.scan([str(music)]))
        took = time.perf_counter() - start
        assert (report.added, report.failed) == (4, 0)
        assert report.problems == [
            f"{crafted}: tags unreadable: too many fields (over 1,000) (listed by its file name)"
        ]
        tracks = {Path(t.path).name: t for t in library.tracks()}
        assert tracks[crafted.name].title == "Many Frames"
        assert tracks[crafted.name].duration == pytest.approx(3.0, abs=0.1)
        assert all(tracks[f"tagged.{e}"].title == "Real Title" for e in ("mp3", "flac", "ogg"))
        assert took < 5.0, f"the scan took {took:.1f} s"  # 11 s for this one file before
    finally:
        library.close()


def test_a_cover_is_found_among_the_first_pictures_without_loading_the_rest(
    tmp_path: Path,
) -> None:
    """3,000 pictures (24 MB): the cover is the first, and the others are not read."""
    path = _prepend(
        _song(tmp_path / "pictures.mp3"), _id3v24([_picture(i, 8000) for i in range(3000)])
    )
    tracemalloc.start()
    try:
        start = time.perf_counter()
        cover = find_cover([str(path)])
        took = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert cover is not None and cover[:6] == b"\xff\xd8\x00\x00\x00\x00"
    assert peak < 2 << 20, f"{peak / (1 << 20):.0f} MB held while looking for a cover"
    assert took < 5.0, f"{took:.1f} s"  # ~7 s before, without tracemalloc's overhead


@pytest.mark.parametrize("ext", ["mp3", "flac", "ogg", "wav"])
def test_the_front_cover_is_preferred_among_a_few_pictures(tmp_path: Path, ext: str) -> None:
    """A back cover first, then the front: the front is the album's cover."""
    path = _song(tmp_path / f"song.{ext}")
    audio = mutagen.File(path)
    if ext in ("mp3", "wav"):
        if audio.tags is None:
            audio.add_tags()
        assert isinstance(audio.tags, ID3)
        for kind, data, desc in ((4, b"back", "b"), (3, b"front", "f")):
            audio.tags.add(APIC(encoding=3, mime="image/png", type=kind, desc=desc, data=data))
    else:
        pictures = []
        for kind, data in ((4, b"back"), (3, b"front")):
            picture = Picture()
            picture.type, picture.mime, picture.data = kind, "image/png", data
            pictures.append(picture)
        if ext == "flac":
            for picture in pictures:
                audio.add_picture(picture)
        else:
            audio["metadata_block_picture"] = [
                base64.b64encode(p.write()).decode() for p in pictures
            ]
    audio.save()
    assert read_cover(str(path)) == b"front"


def test_tags_within_the_caps_are_read_as_before(tmp_path: Path) -> None:
    """Just under the frame cap, hand-written (ID3v2.4, syncsafe sizes): tags read."""
    path = _prepend(_song(tmp_path / "fine.mp3"), _id3v24(_titles(MAX_TAG_FIELDS)))
    info, problem = read_track(str(path))
    assert problem == "" and info.title == "title 0"
