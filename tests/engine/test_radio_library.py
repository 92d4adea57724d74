"""The radio on a real (generated) library: rules, duplicate recordings, skips, mixes."""

import itertools
import shutil
from pathlib import Path

import pytest

from engine.datasets.synth import make_library, write_tags
from engine.library import Library, run
from engine.similarity.radio import RadioRules, normalised
from tests.helpers import style_of

pytestmark = pytest.mark.slow


def in_compilation(path: str) -> bool:
    """The duplicates live in a folder that is not a style."""
    return Path(path).parent.name == "Compilation"


@pytest.fixture(scope="module")
def radio_library(tmp_path_factory: pytest.TempPathFactory):
    """5 styles x 8 tracks (4 artists and 2 albums per style) plus duplicate recordings:
    a byte copy on a compilation and a re-tagged "remaster" of the first track."""
    music = tmp_path_factory.mktemp("radio-music")
    files = make_library(music, per_style=8, seconds=6.0, formats=("flac", "wav"))
    original = files[0]
    compilation = music / "Compilation"
    compilation.mkdir()
    copy = compilation / f"copy{original.suffix}"
    shutil.copy(original, copy)
    write_tags(copy, {"title": "Other Name", "artist": "Various", "album": "Hits"})
    remaster = compilation / f"remaster{files[1].suffix}"
    shutil.copy(files[1], remaster)  # a different sound, but the same song by its tags
    library = Library(tmp_path_factory.mktemp("radio-home"))
    run(library.scan([str(music)]))
    run(library.analyze())
    run(library.train())
    tagged = {t.path: t for t in library.tracks()}
    write_tags(
        remaster,
        {
            "title": f"{tagged[str(original)].title} (2011 Remaster)",
            "artist": tagged[str(original)].artist,
            "album": "Hits",
        },
    )
    run(library.scan([str(music)]))  # re-reads the changed tags
    run(library.analyze())
    # the rules themselves, with variety always winning (the default lets it give way
    # to a much nearer song: tests/engine/test_radio.py)
    library.set_radio_rules(RadioRules(variety_tolerance=None))
    yield library, str(original), str(copy), str(remaster)
    library.close()


def test_up_next_obeys_the_rules_and_stays_in_style(radio_library):
    library, *_ = radio_library
    in_style = total = 0
    for seed in library.tracks():
        recs = library.similar(seed, 5)
        assert len(recs) == 5
        heard = [seed, *(r.track for r in recs)]
        for a, b, c in zip(heard, heard[1:], heard[2:], strict=False):
            artists = {normalised(t.artist) for t in (a, b, c)}
            assert len(artists) == 3, [t.artist for t in (a, b, c)]
        for a, b in itertools.pairwise(heard):
            assert normalised(a.album) != normalised(b.album)
        if not in_compilation(seed.path):
            styled = [r for r in recs if not in_compilation(r.track.path)]
            in_style += sum(style_of(r.track.path) == style_of(seed.path) for r in styled)
            total += len(styled)
    assert in_style / total >= 0.8  # rules cost a little similarity, not much


def test_duplicate_recordings_never_follow_their_original(radio_library):
    library, original, copy, remaster = radio_library
    seed = library.resolve(original)
    plain = [r.track.path for r in library.similar(seed, 5, radio=False)]
    assert copy in plain  # the byte copy is the nearest song of all ...
    radio = [r.track.path for r in library.similar(seed, 5)]
    assert copy not in radio and remaster not in radio  # ... and never suggested


def test_history_is_not_repeated(radio_library):
    library, original, *_ = radio_library
    first = [r.track.id for r in library.similar(original, 5)]
    again = [r.track.id for r in library.similar(original, 5, history=first)]
    assert not set(first) & set(again)


def test_an_early_skip_demotes_the_song_for_that_seed_and_can_be_reset(radio_library):
    library, original, *_ = radio_library
    seed = library.resolve(original)
    before = [r.track.id for r in library.similar(seed, 5)]
    for _ in range(3):
        library.record_skip(seed.id, before[0])
    after = library.similar(seed, 5)
    assert after[0].track.id != before[0]
    demoted = [r for r in after if r.track.id == before[0]]
    assert not demoted or "skipped 3×" in demoted[0].reason
    assert [(t.id, n) for t, n in library.skips()] == [(before[0], 3)]
    # skipped three times in all: now demoted for other seeds too
    assert library._store.skip_totals() == {before[0]: 3}
    assert library.reset_skips() == 1
    assert [r.track.id for r in library.similar(seed, 5)] == before


def test_more_like_these_mixes_several_seeds(radio_library):
    library, *_ = radio_library
    tracks = [t for t in library.tracks() if not in_compilation(t.path)]
    a = tracks[0]
    b = next(t for t in tracks if style_of(t.path) != style_of(a.path))
    mix = library.similar([a, b], 6)
    assert {a.id, b.id}.isdisjoint(r.track.id for r in mix)
    styles = {style_of(r.track.path) for r in mix if not in_compilation(r.track.path)}
    assert styles <= {style_of(a.path), style_of(b.path)} and len(mix) == 6


def test_rules_are_a_stored_setting(radio_library):
    library, original, copy, remaster = radio_library
    library.set_radio_rules(RadioRules(artist_window=0, no_album_back_to_back=False))
    try:
        assert library.radio_rules().artist_window == 0
        loose = [r.track.path for r in library.similar(original, 5)]
        # without artist and album rules: the nearest songs, less the duplicates
        nearest = [r.track.path for r in library.similar(original, 8, radio=False)]
        assert loose == [p for p in nearest if p not in (copy, remaster)][:5]
    finally:
        library.set_radio_rules(RadioRules())
    assert library.radio_rules() == RadioRules()
