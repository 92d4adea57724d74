"""Fuzzing the tag reader, the decoder and the analysis with hypothesis.

Inputs are random bytes and small valid files (written with engine.datasets.synth) with bytes
flipped and cut off. Each entry point may only answer in its documented way: a
TrackInfo or TagError; finite float32 samples or DecodeError; a finite 98-value
vector or DecodeError. Anything else (another exception, NaN, a crash) is a bug.

Runs in this process, so a decoder that crashes the interpreter fails the run.
Bounded for CI (about 12 s in all, the same examples every run);
``ENCORE_FUZZ_SCALE=20`` explores 20 times more, with fresh random examples.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.analysis.decode import DecodeError, load_mono
from engine.analysis.features import N_FEATURES, analyze_file
from engine.datasets.synth import render, write_audio
from engine.ingest.tags import TagError, read_info
from engine.tracks import TrackInfo

SCALE = float(os.environ.get("ENCORE_FUZZ_SCALE", "1"))
FORMATS = ("wav", "flac", "ogg", "mp3")
EXTENSIONS = (".mp3", ".flac", ".ogg", ".wav", ".opus", ".m4a")


def fuzz_settings(examples: int) -> settings:
    """Bounded and repeatable in CI: the same examples on every run, nothing stored."""
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        derandomize=SCALE == 1,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """One small valid file per format (1.5 s, 22 050 Hz), as bytes."""
    folder = tmp_path_factory.mktemp("fuzz-seeds")
    out = {}
    for ext in FORMATS:
        path = folder / f"seed.{ext}"
        write_audio(path, render("Bright Plucks", 3, seconds=1.5), 22050)
        out[ext] = path.read_bytes()
    return out


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the file each example writes."""
    return tmp_path_factory.mktemp("fuzz")


@st.composite
def damaged(draw: st.DrawFn, seeds: dict[str, bytes]) -> tuple[str, bytes]:
    """A valid file with some bytes changed and maybe its end cut off, or random bytes.

    Flips favour the first 256 bytes, where the headers and stream descriptions are.
    """
    if draw(st.integers(0, 4)) == 0:
        return draw(st.sampled_from(EXTENSIONS)), draw(st.binary(max_size=4096))
    ext = draw(st.sampled_from(FORMATS))
    data = bytearray(seeds[ext])
    flips = draw(
        st.lists(st.tuples(st.booleans(), st.integers(0, 2**31), st.integers(0, 255)), max_size=12)
    )
    for in_header, position, value in flips:
        data[position % (256 if in_header else len(data))] = value
    cut = draw(st.none() | st.integers(0, len(data)))
    if cut is not None:
        data = data[:cut]
    # the name may lie about the content, as files in the wild do
    name = draw(st.sampled_from((f".{ext}", *EXTENSIONS)))
    return name, bytes(data)


def write(scratch: Path, name: str, data: bytes) -> Path:
    """``data`` as a file named ``fuzz<name>`` (one file, rewritten per example)."""
    path = scratch / f"fuzz{name}"
    path.write_bytes(data)
    return path


def check_tags(path: Path) -> None:
    try:
        info = read_info(str(path))
    except TagError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(info, TrackInfo)
    assert info.duration is None or (np.isfinite(info.duration) and info.duration >= 0)


def check_decode(path: Path) -> None:
    try:
        y = load_mono(path)
    except DecodeError as exc:
        assert str(exc)
        return
    assert y.dtype == np.float32 and y.ndim == 1 and y.size > 0
    assert np.isfinite(y).all()


def check_analysis(path: Path) -> None:
    try:
        v = analyze_file(path)
    except DecodeError as exc:
        assert str(exc)
        return
    assert v.dtype == np.float32 and v.shape == (N_FEATURES,)
    assert np.isfinite(v).all()


def test_tag_reader_answers_trackinfo_or_tagerror(seeds: dict[str, bytes], scratch: Path) -> None:
    @fuzz_settings(1000)
    @given(damaged(seeds))
    def run(case: tuple[str, bytes]) -> None:
        check_tags(write(scratch, *case))

    run()


def test_decoder_answers_finite_samples_or_decodeerror(
    seeds: dict[str, bytes], scratch: Path
) -> None:
    @fuzz_settings(600)
    @given(damaged(seeds))
    def run(case: tuple[str, bytes]) -> None:
        check_decode(write(scratch, *case))

    run()


def test_analysis_answers_a_finite_vector_or_decodeerror(
    seeds: dict[str, bytes], scratch: Path
) -> None:
    analyze_file(write(scratch, ".wav", seeds["wav"]))  # librosa's imports are not per-file

    @fuzz_settings(250)
    @given(damaged(seeds))
    def run(case: tuple[str, bytes]) -> None:
        check_analysis(write(scratch, *case))

    run()


@pytest.mark.parametrize("ext", FORMATS)
def test_the_seeds_themselves_are_good(seeds: dict[str, bytes], scratch: Path, ext: str) -> None:
    """The fuzzing starts from files that work: otherwise it tests nothing."""
    path = write(scratch, f".{ext}", seeds[ext])
    assert read_info(str(path)).duration == pytest.approx(1.5, abs=0.1)
    assert abs(load_mono(path).size - 1.5 * 22050) < 0.1 * 22050
    assert np.isfinite(analyze_file(path)).all()


def test_a_stream_ffmpeg_has_no_decoder_for_fails_cleanly(
    seeds: dict[str, bytes], scratch: Path
) -> None:
    """Found by this fuzzing: a WAV header with 0 bits per sample gave FFmpeg a stream
    without a codec, and decoding raised AttributeError instead of DecodeError."""
    data = bytearray(seeds["wav"])
    assert data[34:36] == b"\x10\x00"  # bits per sample: 16
    data[34:36] = b"\x00\x00"
    path = write(scratch, ".wav", bytes(data))
    for check in (check_decode, check_analysis):
        check(path)
    with pytest.raises(DecodeError, match=r"^not decodable audio: "):
        load_mono(path)
