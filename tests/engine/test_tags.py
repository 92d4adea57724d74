import os

import pytest
import soundfile as sf

from engine.datasets.synth import render, write_audio, write_tags
from engine.ingest.tags import TagError, read_info

TAGS = {
    "title": "Señorita ☂",
    "artist": "Ünïcode Band",
    "album": "Wet Weather",
    "genre": "Dream Pop",
    "tracknumber": "7/12",
    "date": "2019-05-01",
}


@pytest.mark.parametrize("ext", ["mp3", "ogg", "flac", "wav", "opus", "m4a"])
def test_tags_are_read_from_every_format(tmp_path, ext):
    sr = 48000 if ext == "opus" else 22050
    path = tmp_path / f"song.{ext}"
    write_audio(path, render("Bell Minimal", 0, seconds=1.5, sr=sr), sr)
    write_tags(path, TAGS)
    info = read_info(str(path), root=str(tmp_path))
    assert (info.title, info.artist, info.album, info.genre) == (
        TAGS["title"],
        TAGS["artist"],
        TAGS["album"],
        TAGS["genre"],
    )
    assert info.tracknumber == 7 and info.year == 2019
    assert info.duration == pytest.approx(1.5, abs=0.1)
    assert info.size == os.path.getsize(path)


def test_names_fill_in_missing_tags(tmp_path):
    folder = tmp_path / "The Artist" / "The Album"
    folder.mkdir(parents=True)
    path = folder / "03 - Song_Name.wav"
    sf.write(path, render("Ambient Pads", 0, seconds=1.0), 22050)
    info = read_info(str(path), root=str(tmp_path))
    assert (info.artist, info.album, info.title, info.tracknumber) == (
        "The Artist",
        "The Album",
        "Song Name",
        3,
    )


def test_artist_dash_title_file_name_and_library_root_is_not_an_album(tmp_path):
    path = tmp_path / "Some Band - Hit Single.flac"
    sf.write(path, render("Ambient Pads", 0, seconds=1.0), 22050)
    info = read_info(str(path), root=str(tmp_path))
    assert (info.artist, info.title, info.album) == ("Some Band", "Hit Single", "")


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "empty file"),
        (b"hello, I am a text file\n" * 20, "not a recognised audio file"),
    ],
)
def test_unreadable_files_raise_tag_errors(tmp_path, content, reason):
    path = tmp_path / "x.ogg"
    path.write_bytes(content)
    with pytest.raises(TagError, match=reason):
        read_info(str(path))


def test_missing_file_raises(tmp_path):
    with pytest.raises(TagError, match="not found"):
        read_info(str(tmp_path / "nope.mp3"))
