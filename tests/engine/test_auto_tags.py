"""Auto-tags and searching by description ("calm piano")."""

import numpy as np
import pytest

from engine.library import Library, run
from engine.neural.tags import SHOWN, describe, shown_tags
from tests.helpers import encore, write_songs

NAMES = ["rock", "Mellow", "chill", "instrumental", "acoustic", "beautiful", "80s",
         "female vocalists", "female vocalist", "sad", "Hip-Hop", "easy listening", "chillout",
         "ambient"]  # fmt: skip


def test_a_description_is_read_word_by_word_into_tag_groups() -> None:
    wanted = describe("Calm, piano and hip hop xyzzy", NAMES)
    assert wanted.words == ("calm", "piano", "hip hop")
    assert wanted.unknown == ("xyzzy",)  # said, not silently dropped ("and" is filler)
    assert {NAMES[i] for i in wanted.groups[2]} == {"Hip-Hop"}
    assert "calm (mellow/chill/" in wanted.read_as(NAMES)
    assert describe("rock", NAMES).groups == ((0,),)  # a tag is its own word
    assert describe("", NAMES).groups == ()


def test_every_word_counts_in_the_score() -> None:
    wanted = describe("sad rock", NAMES)
    p = np.zeros((3, len(NAMES)), dtype=np.float32)
    p[0, [NAMES.index("sad"), 0]] = 0.8  # both
    p[1, NAMES.index("sad")] = 0.9  # only sad
    p[2, 0] = 0.9  # only rock
    scores = wanted.scores(p)
    assert scores[0] == pytest.approx(0.8, rel=1e-5)
    assert scores[0] > 10 * max(scores[1], scores[2])


def test_auto_tags_are_the_likely_ones_without_eras_or_repeats() -> None:
    p = np.zeros(len(NAMES), dtype=np.float32)
    p[NAMES.index("80s")] = 0.9  # an era says when, not how
    p[NAMES.index("female vocalists")] = 0.8
    p[NAMES.index("female vocalist")] = 0.7  # the same thing twice in the vocabulary
    p[NAMES.index("Mellow")] = 0.5
    p[NAMES.index("rock")] = 0.05  # too unlikely
    assert shown_tags(p, NAMES) == ["female vocals", "mellow"]
    p[[NAMES.index(n) for n in ("sad", "chill", "acoustic", "ambient")]] = 0.4
    assert len(shown_tags(p, NAMES)) == SHOWN


def test_the_library_tags_tracks_and_finds_them_by_description(tmp_path) -> None:
    write_songs(tmp_path / "music", 5, seconds=5.0)
    home = tmp_path / "home"
    encore(home, "scan", str(tmp_path / "music"), "--workers", "1")
    library = Library(home)
    tracks = library.tracks()
    assert len(tracks) == 5 and all(t.autotags for t in tracks)
    assert any(t.guessed_genre for t in tracks)
    found, wanted = library.describe("calm ambient", 5)
    assert wanted.groups and len(found) == 5
    scores = [s for _, s in found]
    assert scores == sorted(scores, reverse=True) and 0 <= scores[-1] <= scores[0] <= 1
    assert found[0][0].autotags
    out = encore(home, "find", "calm", "ambient", "-n", "2").stdout
    assert out.startswith("Read as: calm (") and out.count("%") == 2
    assert encore(home, "find", "xyzzy", check=False).returncode == 1
    library.close()


def test_find_says_when_nothing_has_been_heard_yet(tmp_path) -> None:
    write_songs(tmp_path / "music", 2, seconds=3.0)
    home = tmp_path / "home"
    encore(home, "scan", str(tmp_path / "music"), "--fast-only")
    result = encore(home, "find", "calm", check=False)
    assert result.returncode == 1 and "second pass" in result.stderr
    library = Library(home)
    assert library.describe("calm")[0] == [] and not any(t.autotags for t in library.tracks())
    run(library.listen(workers=1))
    assert len(library.describe("calm")[0]) == 2
    library.close()


def test_an_untagged_song_gets_a_guessed_genre_and_a_tagged_one_keeps_its_own() -> None:
    from engine.neural.tags import guessed_genre

    p = np.zeros(len(NAMES), dtype=np.float32)
    p[NAMES.index("instrumental")] = 0.9  # not a genre
    p[NAMES.index("ambient")] = 0.4
    p[NAMES.index("rock")] = 0.2
    assert guessed_genre(p, NAMES) == "ambient"
    assert guessed_genre(np.full(len(NAMES), 0.01, np.float32), NAMES) == ""


def test_after_the_likeliest_tag_come_the_ones_that_set_a_song_apart() -> None:
    p = np.zeros(len(NAMES), dtype=np.float32)
    p[[NAMES.index(n) for n in ("ambient", "chill", "sad", "acoustic")]] = (0.9, 0.8, 0.3, 0.2)
    library = np.full(len(NAMES), 0.05, np.float32)
    library[NAMES.index("chill")] = 0.8  # every song of this library is "chill"
    assert shown_tags(p, NAMES) == ["ambient", "chill", "sad"]
    assert shown_tags(p, NAMES, library) == ["ambient", "sad", "acoustic"]
