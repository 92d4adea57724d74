import numpy as np
import pytest
import soundfile as sf

from engine.analysis.decode import DecodeError, load_mono
from engine.datasets.synth import render, write_audio


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3", "opus", "m4a"])
def test_every_format_decodes_to_mono_at_the_analysis_rate(tmp_path, ext):
    sr = 48000 if ext == "opus" else 44100
    path = tmp_path / f"clip.{ext}"
    write_audio(path, render("Bright Plucks", 3, seconds=2.0, sr=sr), sr)
    y = load_mono(path, sr=22050)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - 2 * 22050) < 0.06 * 22050  # codecs pad a few frames
    assert 0.05 < np.abs(y).max() <= 1.05


def test_stereo_is_down_mixed(tmp_path):
    t = np.arange(22050) / 22050
    left = np.sin(2 * np.pi * 440 * t)
    stereo = np.stack([left, -left], axis=1) * 0.5  # cancels in the mix
    sf.write(tmp_path / "s.wav", stereo, 22050)
    assert np.abs(load_mono(tmp_path / "s.wav")).max() < 1e-3


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "empty file"),
        (b"this is not music\n" * 50, "not decodable audio"),
        (np.random.default_rng(1).bytes(50_000), "not decodable audio"),
    ],
)
def test_bad_files_raise_readable_errors(tmp_path, content, reason):
    path = tmp_path / "bad.mp3"
    path.write_bytes(content)
    with pytest.raises(DecodeError, match=reason):
        load_mono(path)


def test_missing_file(tmp_path):
    with pytest.raises(DecodeError, match="not found"):
        load_mono(tmp_path / "gone.flac")


@pytest.mark.parametrize("ext", ["flac", "ogg", "mp3"])
def test_truncated_files_decode_partially_or_fail_cleanly(tmp_path, ext):
    path = tmp_path / f"cut.{ext}"
    write_audio(path, render("Noise Rock", 2, seconds=4.0), 22050)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    try:
        y = load_mono(path)
    except DecodeError as exc:
        assert str(exc)
    else:
        assert 0 < len(y) < 4 * 22050


def test_wrong_extension_is_decoded_by_content(tmp_path):
    path = tmp_path / "really-flac.mp3"
    sf.write(path, render("Ambient Pads", 1, seconds=1.0), 22050, format="FLAC")
    assert len(load_mono(path)) == 22050


@pytest.mark.parametrize("ext", ["flac", "ogg", "mp3"])
def test_excerpts_of_a_long_track_are_decoded_by_seeking(tmp_path, ext):
    from engine.analysis.decode import read_excerpts

    sr = 22050
    t = np.arange(sr * 120) / sr
    ramp = (t / t[-1]).astype(np.float32)  # the level tells where an excerpt came from
    path = tmp_path / f"long.{ext}"
    write_audio(path, (0.5 * ramp * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr)
    parts = read_excerpts(path, sr=sr, count=4, seconds=10)
    assert [len(p) for p in parts] == [10 * sr] * 4
    levels = [float(np.percentile(np.abs(p), 99)) for p in parts]
    # excerpts start at 0, 36.7, 73.3 and 110 s: the first and last hold the edges
    expected = [0.5 * (start + 5) / 120 for start in (0, 110 / 3, 220 / 3, 110)]
    np.testing.assert_allclose(levels, expected, atol=0.03)
    assert read_excerpts(path, sr=sr, count=4, seconds=40) is None  # too short: whole


def test_an_undecodable_file_is_decoded_whole_and_says_why(tmp_path):
    from engine.analysis.decode import read_excerpts
    from engine.analysis.features import analyze_track

    path = tmp_path / "bad.ogg"
    path.write_bytes(b"this is not music\n" * 50)
    assert read_excerpts(path) is None
    with pytest.raises(DecodeError, match="not decodable audio"):
        analyze_track(path)


@pytest.mark.parametrize("ext", ["mp3", "flac"])
def test_a_half_download_decodes_what_arrived_without_reading_the_zeros(tmp_path, ext):
    """Audio, then zeros to the size the download would have had: the decoder reads at
    most GAP_BYTES past the last audio, not the whole file."""
    from engine.analysis import decode
    from engine.analysis.features import analyze_track

    sr = 22050
    t = np.arange(sr * 130) / sr
    path = tmp_path / f"download.{ext}"
    write_audio(path, (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), sr)
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size // 2)
        fh.truncate(64 * decode.GAP_BYTES)  # a gigabyte: far more than a decoder may read
    reads = []
    real = decode._BoundedFile.readinto

    def counting(self, buffer):
        n = real(self, buffer)
        reads.append(n)
        return n

    decode._BoundedFile.readinto = counting
    try:
        analysis = analyze_track(path)
    finally:
        decode._BoundedFile.readinto = real
    assert 55 < analysis.seconds < 75  # about half of the 130 s decodes
    assert sum(reads) < 6 * decode.GAP_BYTES  # not the gigabyte
