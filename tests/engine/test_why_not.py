""" "Why not X?": the reason a song is not in up next, checked against what up next does."""

import re

import pytest

from engine.library import Library
from engine.similarity.atlas import STEERING
from engine.similarity.radio import RadioRules


@pytest.mark.parametrize("tolerance", [None, 0.1])
def test_every_song_gets_the_true_reason_it_is_not_in_up_next(trained_home, tolerance) -> None:
    library = Library(trained_home)
    library.set_radio_rules(RadioRules(variety_tolerance=tolerance))
    tracks = [t for t in library.tracks() if t.analysed]
    seed = tracks[0]
    picks = [r.track.id for r in library.similar(seed.id, 5)]
    nearest = [r.track.id for r in library.similar(seed.id, len(tracks), radio=False)]
    reasons = {t.id: library.why_not(seed.id, t.id) for t in tracks}

    for place, tid in enumerate(picks, 1):
        assert reasons[tid].endswith(f"is number {place} in up next.")
    assert reasons[seed.id].endswith("is the song playing.")
    by_id = {t.id: t for t in tracks}
    left_out = 0
    for tid, why in reasons.items():
        if tid in picks or tid == seed.id:
            continue
        count = re.search(r"(\d+) songs sound nearer", why)
        if count:  # the count is the true rank by distance
            assert int(count.group(1)) == nearest.index(tid)
        album = re.search(r"same album as “(.+)”", why)
        if album:  # the song named plays just before it and shares its album
            before = next(t for t in tracks if t.title == album.group(1))
            assert before.album == by_id[tid].album
            assert before.id in [seed.id, *picks]
        artist = re.search(r"because (.+) would play again within", why)
        if artist:
            assert artist.group(1) == by_id[tid].artist
            assert by_id[tid].artist in {by_id[i].artist for i in [seed.id, *picks]}
        left_out += "left out because" in why
        assert count or album or artist, why
        if tolerance is not None and (album or artist):
            assert "is almost as near (within 10%)" in why
    if tolerance is None:
        assert left_out >= 1  # the rules, not only distance, keep near songs out here
    library.close()


def test_without_the_radio_it_is_the_rank_that_counts(trained) -> None:
    library = trained
    seed = library.tracks()[3]
    nearest = [r.track.id for r in library.similar(seed.id, 12, radio=False)]
    why = library.why_not(seed.id, nearest[8], radio=False)
    assert why.endswith(")."), why
    assert "is not among the 5 nearest: 8 songs sound nearer" in why


def test_played_recently_and_steered_out_say_so(trained) -> None:
    library = trained
    seed = library.tracks()[5]
    first = library.similar(seed.id, 5)[0].track
    why = library.why_not(seed.id, first.id, exclude=[first.id])
    assert why.endswith("played within the last hour: it is not suggested again so soon.")

    move = next(iter(STEERING))
    steered = {r.track.id for r in library.similar(seed.id, 5, moves={move: 1})}
    others = [t for t in library.tracks() if t.analysed and t.id not in steered | {seed.id}]
    reasons = [library.why_not(seed.id, t.id, moves={move: 1}) for t in others]
    refused = [r for r in reasons if r.endswith(f"is not {move} than the playing song, as "
                                                "the steering asks.")]  # fmt: skip
    assert refused and len(refused) < len(reasons)
    assert not any(" is number " in r for r in reasons)  # none of them is in up next
