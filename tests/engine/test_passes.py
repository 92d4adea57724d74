"""Passes as a seam: one decode feeds every pass, kept inputs spare a second decode, the
vectors are the networks' on independently decoded audio, and passes are a setting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import engine.analysis.feed as feed_module
from engine.analysis.features import analyze_track
from engine.datasets.synth import render
from engine.library import Library, run
from engine.neural.embedding import PATCH_SAMPLES
from engine.neural.musicnn import Musicnn, mel_patches
from engine.passes import FIRST_PASS, SECOND_PASS, by_name, passes
from engine.passes.inputs import KeptInputs
from engine.passes.worker import Job, analyse_file
from engine.pipeline import pipeline
from tests.helpers import write_songs

THIRD_PASS = "musicnn-mtt"


@pytest.fixture(scope="module")
def long_song(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """130 s of music at 16 kHz, long enough to be read as excerpts."""
    folder = tmp_path_factory.mktemp("long")
    parts = [
        render(style, i, seconds=26.0, sr=16_000)
        for i, style in enumerate(
            ["Ambient Pads", "Pulse Techno", "Bright Plucks", "Noise Rock", "Bell Minimal"]
        )
    ]
    path = folder / "long.wav"
    sf.write(path, np.concatenate(parts), 16_000, subtype="FLOAT")
    return path


def test_the_passes_are_found_in_their_modules_in_order() -> None:
    names = [p.name for p in passes()]
    assert names[:2] == [FIRST_PASS, SECOND_PASS] and THIRD_PASS in names
    assert passes()[0].first and not any(p.first for p in passes()[1:])
    assert by_name(SECOND_PASS).key == f"{SECOND_PASS}-{by_name(SECOND_PASS).version}"


def test_one_decode_feeds_every_pass(long_song: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    real = feed_module.read_excerpts_native

    def counted(path: object, **options: object) -> object:
        opened.append(str(path))
        return real(path, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(feed_module, "read_excerpts_native", counted)
    result = analyse_file(str(long_song), Job(compute=(FIRST_PASS, SECOND_PASS, THIRD_PASS)))
    assert opened == [str(long_song)]  # one decode for three passes
    assert set(result.vectors) == {FIRST_PASS, SECOND_PASS, THIRD_PASS} and not result.errors
    opened.clear()
    alone = analyze_track(long_song).vector
    assert len(opened) == 1
    np.testing.assert_array_equal(result.vectors[FIRST_PASS], alone)


def test_the_second_pass_is_the_network_on_independently_decoded_audio(long_song: Path) -> None:
    """The oracle: read the file with libsndfile at the network's own rate (16 kHz), cut
    the eight patches where the excerpts are, and run the network on them."""
    audio, rate = sf.read(long_song, dtype="float32")
    assert rate == 16_000
    length, seconds, count = len(audio) / rate, 10.0, 8
    patches = []
    for i in range(count):
        start = round((length - seconds) * i / (count - 1) * rate)
        offset = round((int(seconds * rate) - PATCH_SAMPLES) * i / (count - 1))
        patches.append(mel_patches(audio[start + offset : start + offset + PATCH_SAMPLES])[:1])
    embeddings, tags = Musicnn().embed(np.concatenate(patches))
    expected = np.concatenate([embeddings.mean(axis=0), tags.mean(axis=0)])
    found = analyse_file(str(long_song), Job(compute=(SECOND_PASS,))).vectors[SECOND_PASS]
    np.testing.assert_allclose(found, expected, rtol=1e-4, atol=1e-4)


def test_a_kept_input_spares_the_decode(long_song: Path, tmp_path: Path) -> None:
    first = analyse_file(str(long_song), Job(compute=(FIRST_PASS,), prepare=(SECOND_PASS,)))
    kept = KeptInputs(tmp_path / "kept")
    assert kept.put(SECOND_PASS, 7, first.prepared[SECOND_PASS])
    gone = str(tmp_path / "moved away.wav")  # no file: only the kept input can serve
    job = Job(compute=(SECOND_PASS,), inputs=((SECOND_PASS, kept.get(SECOND_PASS, 7)),))
    later = analyse_file(gone, job).vectors[SECOND_PASS]
    whole = analyse_file(str(long_song), Job(compute=(SECOND_PASS,))).vectors[SECOND_PASS]
    np.testing.assert_array_equal(later, whole)
    assert not KeptInputs(tmp_path / "small", budget=100).put(
        SECOND_PASS, 7, first.prepared[SECOND_PASS]
    )


@pytest.mark.slow
def test_the_first_run_keeps_inputs_for_the_later_passes_and_then_drops_them(
    tmp_path: Path,
) -> None:
    music = tmp_path / "music"
    write_songs(music, 6, seconds=5.0)
    library = Library(tmp_path / "home")
    report = run(pipeline(library, folders=[str(music)], workers=2))
    assert report.kept == 6 * len(library.later_passes())  # every file decoded once
    assert report.listen is not None and report.listen.embedded == 6 * len(library.later_passes())
    assert not list(library.kept_inputs().folder.rglob("*.npy"))  # nothing left behind


@pytest.mark.slow
def test_a_pass_is_a_setting_and_its_tags_join_the_description_words(tmp_path: Path) -> None:
    music = tmp_path / "music"
    write_songs(music, 6, seconds=4.0)
    library = Library(tmp_path / "home")
    library.set_pass(THIRD_PASS, on=False, ranks=False)
    run(pipeline(library, folders=[str(music)], workers=2))
    assert "piano" not in library.tag_names()  # MSD has no piano
    assert library.describe("calm piano")[1].read_as(library.tag_names()).startswith("calm (")
    off = {p["name"]: p for p in library.pass_status()}[THIRD_PASS]
    assert (off["on"], off["embedded"]) == (False, 0)
    width = library.index().vectors.shape[1]

    library.set_pass(THIRD_PASS, on=True)
    run(pipeline(library, scan=False, workers=2))
    on = {p["name"]: p for p in library.pass_status()}[THIRD_PASS]
    assert (on["on"], on["embedded"], on["pending"]) == (True, 6, 0)
    names = library.tag_names()
    assert "piano" in names and "harpsichord" in names
    read = library.describe("calm piano")[1].read_as(names)
    assert read.endswith("piano (piano)"), read
    assert library.index().vectors.shape[1] == width  # tags only: it does not rank
    library.set_pass(THIRD_PASS, ranks=True)
    assert library.index().vectors.shape[1] == width + 200
    assert len(library.similar([library.tracks()[0].id], 3)) == 3
