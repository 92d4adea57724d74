"""The browser's collection (artists → albums) and album cover lookup."""

import base64
import os
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from mutagen.flac import Picture
from mutagen.id3 import APIC
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from engine.collection import UNKNOWN_ALBUM, build_collection
from engine.ingest import covers
from engine.ingest.covers import MAX_COVER_BYTES, cover_cache_name, cover_source, find_cover
from engine.tracks import UNKNOWN_ARTIST, Track
from tests.helpers import write_songs


def track(i: int, artist: str, album: str, **tags: object) -> Track:
    return Track(path=f"/m/{artist}/{album}/{i}.ogg", size=1, mtime=0, id=i,
                 title=f"t{i}", artist=artist, album=album, **tags)  # fmt: skip


def test_artists_and_albums_group_count_and_order_like_a_player() -> None:
    tracks = [
        track(1, "Beta", "Second", tracknumber=2, genre="Rock", year=2001),
        track(2, "beta", "second", tracknumber=1, genre="Rock"),  # same artist and album
        track(3, "Beta", "First", genre="Jazz"),
        track(4, "", "Lost"),  # no artist tag: last, as "Unknown artist"
        track(5, "Alpha", ""),  # no album tag
        track(6, "Guest", "Hits", albumartist="Various Artists"),
        track(7, "Other", "Hits", albumartist="Various Artists"),
        track(8, "Beta", "Second", tracknumber=3, genre="Pop"),
    ]
    collection = build_collection(tracks)
    artists = collection.artists
    assert [a.name for a in artists] == ["Alpha", "Beta", "Various Artists", UNKNOWN_ARTIST]
    beta = artists[1]
    assert [a.title for a in beta.albums] == ["First", "Second"]
    second = beta.albums[1]
    assert second.track_ids == [2, 1, 8]  # disc order, not scan order
    assert second.genres == ["Rock", "Pop"]  # most common first
    assert second.year == 2001
    assert second.summary() == "2001 · 3 songs · Rock, Pop"
    assert beta.size == 4 and beta.summary().startswith("2 albums · 4 songs · Rock, ")
    assert beta.genres[0] == "Rock" and sorted(beta.genres[1:]) == ["Jazz", "Pop"]
    assert artists[0].albums[0].title == UNKNOWN_ALBUM
    compilation = artists[2]
    assert len(compilation.albums) == 1 and compilation.albums[0].track_ids == [6, 7]
    assert artists[3].albums[0].summary() == "1 song"
    assert collection.albums[second.key] == (1, 1) and collection.artist_named("BETA") == 1
    assert collection.size == len(tracks)
    assert build_collection([]).artists == []


def test_a_hundred_thousand_tracks_group_into_artists_and_albums() -> None:
    # 1000 artists of 10 albums of 10 songs
    tracks = [track(i, f"Artist {i // 100}", f"Album {i // 10}") for i in range(100_000)]
    start = time.perf_counter()
    artists = build_collection(tracks).artists
    took = time.perf_counter() - start
    assert sum(a.size for a in artists) == 100_000 and len(artists) == 1000
    assert all(len(a.albums) == 10 and a.size == 100 for a in artists)
    print(f"\ncollection of 100k tracks built in {took * 1000:.0f} ms (off the GUI thread)")


def _picture_tag(path: os.PathLike[str], data: bytes) -> None:
    audio = OggVorbis(path)
    picture = Picture()
    picture.type, picture.mime, picture.data = 3, "image/png", data
    audio["metadata_block_picture"] = [base64.b64encode(picture.write()).decode()]
    audio.save()


def test_the_cover_file_beside_the_songs_wins_then_the_tags(tmp_path) -> None:
    songs = [str(p) for p in write_songs(tmp_path / "album", 2, seconds=1.0)]
    assert find_cover(songs) is None and cover_source(songs) == (
        songs[0],
        os.stat(songs[0]).st_mtime,
    )
    _picture_tag(songs[1], b"tagged picture")
    assert find_cover(songs) == b"tagged picture"  # the first song has none: the next
    (tmp_path / "album" / "Folder.JPG").write_bytes(b"folder picture")  # any case
    assert find_cover(songs) == b"folder picture"
    (tmp_path / "album" / "cover.png").write_bytes(b"cover picture")
    assert find_cover(songs) == b"cover picture"  # "cover" is the better name
    assert cover_source(songs)[0] == str(tmp_path / "album" / "cover.png")


def test_an_oversized_or_vanished_cover_is_no_cover(tmp_path) -> None:
    songs = [str(p) for p in write_songs(tmp_path / "album", 1, seconds=1.0)]
    with open(tmp_path / "album" / "cover.jpg", "wb") as big:
        big.truncate(MAX_COVER_BYTES + 1)  # sparse: no real disk used
    assert find_cover(songs) is None
    gone = [str(tmp_path / "nowhere" / "song.ogg")]
    assert find_cover(gone) is None and cover_source(gone) is None


def _id3_picture(path: os.PathLike[str], data: bytes) -> None:
    audio = WAVE(path)
    audio.add_tags()
    audio.tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="", data=data))
    audio.save()


#: Formats whose tags carry a picture: how it is written, the extension, the cap tried
#: (mutagen takes ~10 s to write a 16 MB Ogg tag: there, the cap is made 1 MB).
PICTURE_TAGS: dict[str, tuple[Callable[[os.PathLike[str], bytes], None], str, int]] = {
    "ogg (Vorbis comment)": (_picture_tag, "ogg", 1024 * 1024),
    "wav (ID3)": (_id3_picture, "wav", covers.MAX_COVER_BYTES),
}


@pytest.mark.parametrize("kind", list(PICTURE_TAGS))
def test_a_picture_in_the_tags_over_the_cap_is_no_cover_and_never_read_whole(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A huge embedded picture (a 100 MB one peaked at ~500 MB) is skipped, costing no
    more memory than the cap; one well under the cap is still the cover."""
    tag, ext, cap = PICTURE_TAGS[kind]
    monkeypatch.setattr(covers, "MAX_COVER_BYTES", cap)
    small, big = write_songs(tmp_path / "album", 2, seconds=1.0, ext=ext)
    tag(small, b"small picture")
    assert find_cover([str(small)]) == b"small picture"
    tag(big, b"\xff" * (cap + 1))
    tracemalloc.start()
    try:
        found = find_cover([str(big)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(found or b"") == 0  # (a length: the repr of a picture takes minutes)
    print(f"\n{kind}: peak {peak / 1e6:.1f} MB for a picture over a {cap / 1e6:.0f} MB cap")
    assert peak < 2 * cap  # never the picture, its copies and its encoding


def test_a_cover_file_that_is_a_link_loop_is_no_cover(tmp_path: Path) -> None:
    """An unreadable cover file (here a link to itself: ELOOP) is passed over, not raised."""
    songs = [str(p) for p in write_songs(tmp_path / "album", 1, seconds=1.0)]
    loop = tmp_path / "album" / "cover.jpg"
    loop.symlink_to(loop)
    assert find_cover(songs) is None
    assert cover_source(songs) == (songs[0], os.stat(songs[0]).st_mtime)
    (tmp_path / "album" / "folder.jpg").write_bytes(b"folder picture")  # the next name
    assert find_cover(songs) == b"folder picture"
    assert cover_source(songs)[0] == str(tmp_path / "album" / "folder.jpg")


def test_the_thumbnail_name_changes_when_the_cover_does(tmp_path) -> None:
    songs = [str(p) for p in write_songs(tmp_path / "album", 1, seconds=1.0)]
    before = cover_cache_name("a\x00b", cover_source(songs))
    assert before == cover_cache_name("a\x00b", cover_source(songs))  # stable
    (tmp_path / "album" / "cover.jpg").write_bytes(b"new")
    after = cover_cache_name("a\x00b", cover_source(songs))
    assert after != before
    os.utime(tmp_path / "album" / "cover.jpg", (1, 1))  # replaced by another picture
    assert cover_cache_name("a\x00b", cover_source(songs)) != after
    assert cover_cache_name("other\x00b", cover_source(songs)) != before
