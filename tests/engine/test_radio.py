"""Radio rules on a made-up library: artists, albums, repeats, duplicates, skips, fallback."""

import itertools

import pytest

from engine.similarity.radio import RadioRules, choose, normalised, same_recording, skip_factor
from engine.tracks import Recommendation, Track


def track(tid: int, artist: str, album: str, title: str | None = None, **kw: object) -> Track:
    return Track(
        path=f"/music/{tid}.flac",
        size=1,
        mtime=0,
        id=tid,
        title=title or f"Song {tid}",
        artist=artist,
        album=album,
        **kw,
    )


def recs(*pairs: tuple[Track, float]) -> list[Recommendation]:
    return [Recommendation(t, d, "similar timbre") for t, d in pairs]


SEED = track(1, "Ada", "First")


#: The rules with variety always winning: what the rule tests below check.
STRICT = RadioRules(variety_tolerance=None)


def pick(candidates: list[Recommendation], n: int = 5, **kw: object) -> list[int]:
    rules = kw.pop("rules", STRICT)
    chosen = choose([SEED], candidates, n, rules=rules, typical=10.0, **kw)
    return [r.track.id for r in chosen]


def test_no_artist_twice_within_the_window_and_no_album_back_to_back():
    candidates = recs(
        (track(2, "Ada", "Second"), 1.0),
        (track(3, "Bo", "First"), 1.1),
        (track(4, "Bo", "Other"), 1.2),
        (track(5, "Cy", "First"), 1.3),
        (track(6, "Di", "Third"), 1.4),
        (track(7, "Ada", "Fourth"), 1.5),
    )
    order = pick(candidates)
    # Each step takes the nearest song allowed after the last one heard:
    # 2 is the seed's artist and 3 the seed's album -> 4 (Bo); 2 is still too soon
    # (Ada, Bo are the last two) and 3 is Bo -> 5 (Cy); Ada may return -> 2; then
    # 3 (Bo, First after Second) -> 3; then 6.
    assert order == [4, 5, 2, 3, 6]
    by_id = {c.track.id: c.track for c in candidates}
    heard = [SEED] + [by_id[i] for i in order]
    for a, b, c in zip(heard, heard[1:], heard[2:], strict=False):
        assert len({a.artist, b.artist, c.artist}) == 3
    for a, b in itertools.pairwise(heard):
        assert a.album != b.album


def test_the_artist_window_is_a_setting():
    candidates = recs((track(2, "Ada", "Second"), 1.0), (track(3, "Ada", "Third"), 1.1))
    assert pick(candidates, rules=RadioRules(artist_window=0, no_album_back_to_back=False)) == [
        2,
        3,
    ]
    assert pick(candidates, rules=RadioRules(artist_window=2, variety_tolerance=None)) == []


def test_variety_gives_way_when_every_other_song_is_much_farther():
    same = track(2, "Ada", "Second")  # the seed's artist: the artist rule keeps it out
    near_other, far_other = track(3, "Bo", "Other"), track(4, "Cy", "Third")
    tolerant = RadioRules(variety_tolerance=0.1)
    # another artist within 10 % as near: variety wins
    assert pick(recs((same, 1.0), (near_other, 1.05)), 1, rules=tolerant) == [3]
    # every other artist more than 10 % farther: the nearer song plays
    assert pick(recs((same, 1.0), (far_other, 1.3)), 1, rules=tolerant) == [2]
    assert pick(recs((same, 1.0), (far_other, 1.3)), 1) == [4]  # strict: variety wins
    assert RadioRules().variety_tolerance == 0.1  # the default, chosen by measurement


def test_recently_played_songs_do_not_come_back():
    a, b = track(2, "Bo", "X"), track(3, "Cy", "Y")
    assert pick(recs((a, 1.0), (b, 2.0)), history=[a]) == [3]
    assert pick(recs((a, 1.0), (b, 2.0)), history=[a], rules=RadioRules(repeat_window=0)) == [
        2,
        3,
    ]


def test_duplicate_recordings_are_suppressed():
    remaster = track(2, "ADA", "Best Of", title="Song 1 (2011 Remaster)")
    same_sound = track(3, "Bo", "X")  # a different tag, but practically zero distance
    other = track(4, "Cy", "Y")
    assert same_recording(SEED, remaster)
    assert pick(recs((remaster, 1.0), (same_sound, 0.1), (other, 2.0))) == [4]
    # the same song converted to another format, its artist tag lost on the way
    untagged = track(5, "", "X", title=SEED.title)
    assert same_recording(SEED, untagged) and same_recording(untagged, SEED)
    assert not same_recording(track(6, "Bo", "X", title=SEED.title), SEED)  # a cover
    assert pick(recs((untagged, 0.5), (other, 2.0))) == [4]


def test_duration_and_genre_filters():
    short = track(2, "Bo", "X", duration=20.0)
    spoken = track(3, "Cy", "Y", genre="Audiobook", duration=200.0)
    fine = track(4, "Di", "Z", genre="Jazz", duration=200.0)
    rules = RadioRules(min_duration=60, excluded_genres=("audiobook",))
    assert pick(recs((short, 1.0), (spoken, 1.1), (fine, 1.2)), rules=rules) == [4]


def test_skips_demote_for_the_seed_and_often_skipped_songs_everywhere():
    a, b = track(2, "Bo", "X"), track(3, "Cy", "Y")
    assert pick(recs((a, 1.0), (b, 1.2)), n=1) == [2]
    assert pick(recs((a, 1.0), (b, 1.2)), n=1, seed_skips={2: 1}) == [3]
    assert skip_factor(2, {}, {2: 2}) == 1.0  # twice over all seeds: not yet "often"
    assert skip_factor(2, {}, {2: 4}) > 1.0
    assert pick(recs((a, 1.0), (b, 1.1)), n=1, skip_totals={2: 4}) == [3]
    chosen = choose(
        [SEED], recs((a, 1.0), (b, 9.0)), 2, rules=RadioRules(), typical=10.0, seed_skips={2: 1}
    )
    assert "skipped 1×" in chosen[0].reason  # still first: 1.0 x 1.5 < 9.0


def test_honest_fallback_when_nothing_is_near():
    far = track(2, "Bo", "X")
    same_artist = track(3, "Ada", "Other")
    calls = []

    def fallback() -> list[Recommendation]:
        calls.append(1)
        return recs((same_artist, 12.0))

    rules = RadioRules(artist_window=0)
    chosen = choose([SEED], recs((far, 50.0)), 2, rules=rules, typical=10.0, fallback=fallback)
    assert [r.track.id for r in chosen] == [3, 2]
    assert chosen[0].reason == "nothing near enough: same artist"
    assert chosen[1].reason.startswith("nothing nearer")
    near = recs((track(4, "Bo", "X"), 1.0))
    choose([SEED], near, 1, rules=rules, typical=10.0, fallback=fallback)
    assert len(calls) == 1  # not looked up when enough songs are near


def test_rules_round_trip_as_a_setting():
    rules = RadioRules(artist_window=5, excluded_genres=("Speech",), min_duration=30.0)
    assert RadioRules.from_json(rules.to_json()) == rules
    assert RadioRules.from_json("not json") == RadioRules()
    assert RadioRules.from_json('{"artist_window": 2, "unknown": 1}').artist_window == 2


@pytest.mark.parametrize(
    "a, b",
    [
        ("Song (Live)", "song"),
        ("Café del Mar", "cafe del mar"),
        ("Track - 2011 Remastered Version", "track"),
        ("Hit feat. Someone", "hit"),
    ],
)
def test_normalised_titles(a, b):
    assert normalised(a) == normalised(b)
