"""A cut Ogg file (Vorbis, Opus) is listed as damaged, like a cut MP3, FLAC or WAV.

Ogg headers give no length: the length is read from the last page there is, so a cut
file used to look whole. An intact one must never be flagged (a false alarm on a good
song is worse than a missed cut).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.analysis.damage import ogg_cut_short
from engine.datasets.synth import render, write_audio
from engine.library import Library, run

CUT = re.compile(r"^damaged or incomplete: cut off after \d:\d\d(\.\d)? \(its end is missing\)$")


def _write(path: Path, seconds: float, seed: int = 1) -> Path:
    """A song of ``seconds`` at the codec's rate (Opus takes 48 kHz only)."""
    sr = 48000 if path.suffix == ".opus" else 22050
    write_audio(path, render("Noise Rock", seed, seconds=seconds, sr=sr), sr)
    return path


def _cut(source: Path, target: Path, keep: int) -> Path:
    target.write_bytes(source.read_bytes()[:keep])
    return target


@pytest.mark.parametrize("ext", ["ogg", "opus"])
def test_every_cut_is_seen_and_no_whole_file_is_flagged(tmp_path: Path, ext: str) -> None:
    """Cut anywhere (mid-page or between pages): cut short; whole, or with a tag
    appended after the last page: not."""
    whole = _write(tmp_path / f"whole.{ext}", 8)
    data = whole.read_bytes()
    assert not ogg_cut_short(whole)
    appended = tmp_path / f"id3v1.{ext}"
    appended.write_bytes(data + b"TAG" + bytes(125))  # some taggers append an ID3v1 tag
    assert not ogg_cut_short(appended)
    last_page = data.rfind(b"OggS")
    for keep in [*range(len(data) // 20, len(data) - 1, len(data) // 20), len(data) - 1]:
        assert ogg_cut_short(_cut(whole, tmp_path / f"cut.{ext}", keep)), keep
    assert ogg_cut_short(_cut(whole, tmp_path / f"page.{ext}", last_page)), "no end-of-stream"


def test_other_formats_get_no_verdict(tmp_path: Path) -> None:
    """The check is for Ogg only: other files (and unreadable ones) are never flagged."""
    for ext in ("flac", "mp3", "wav"):
        path = _write(tmp_path / f"song.{ext}", 3)
        assert not ogg_cut_short(_cut(path, path, path.stat().st_size // 3))
    assert not ogg_cut_short(tmp_path / "gone.ogg")


def test_cut_vorbis_and_opus_are_listed_as_damaged(tmp_path: Path) -> None:
    """Through scan and analysis, as the user sees it: the cut files (short ones decoded
    whole, a long one from its excerpts) are listed as damaged; whole ones are not."""
    music, spare = tmp_path / "music", tmp_path / "spare"
    music.mkdir()
    spare.mkdir()
    cut: list[Path] = []
    for ext in ("ogg", "opus"):
        source = _write(spare / f"song.{ext}", 20)
        cut.append(_cut(source, music / f"cut.{ext}", source.stat().st_size // 3))
        _write(music / f"whole.{ext}", 20, seed=2)
    long = _write(spare / "long.ogg", 150)  # cut to ~2:15: still analysed from excerpts
    cut.append(_cut(long, music / "cut-long.ogg", long.stat().st_size * 9 // 10))
    library = Library(tmp_path / "home")
    try:
        run(library.scan([str(music)]))
        report = run(library.analyze(workers=1))
        tracks = {t.path: t for t in library.tracks()}
        assert len(tracks) == 5 and all(t.analysed and not t.error for t in tracks.values())
        damaged = {f.path: f.reason for f in library.failures() if f.stage == "damaged"}
        assert sorted(damaged) == sorted(map(str, cut)), damaged
        assert all(CUT.match(reason) for reason in damaged.values()), damaged
        assert report.damaged == 3 and len(library.failures()) == 3
        assert tracks[str(music / "cut-long.ogg")].duration == pytest.approx(135, abs=5)
    finally:
        library.close()
