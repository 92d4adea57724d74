"""The map, steering, journeys and clusters, on the session's generated library."""

import numpy as np
import pytest

from engine.analysis.features import FEATURE_NAMES
from engine.library import LibraryError
from engine.similarity import atlas
from tests.helpers import PER_STYLE, style_of

pytestmark = pytest.mark.slow


def test_the_map_places_every_analysed_track_and_keeps_styles_apart(trained):
    projection = trained.projection()
    assert projection.xy.shape == (5 * PER_STYLE, 2) and np.isfinite(projection.xy).all()
    assert 0 < projection.explained <= 1
    tracks = {t.id: t for t in trained.tracks()}
    styles = np.array([style_of(tracks[int(i)].path) for i in projection.ids])
    # styles form their own regions: each point's nearest map neighbour is mostly same-style
    d = ((projection.xy[:, None] - projection.xy[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert (styles[d.argmin(1)] == styles).mean() >= 0.7


def test_true_neighbours_are_the_exact_ones(trained):
    index = trained.index()
    for tid in index.ids[::9]:
        exact, _ = index.exact(index.vector(tid), 5, exclude=[int(tid)])
        assert atlas.neighbours(index, int(tid)) == exact.tolist()


def test_steering_moves_suggestions_the_asked_way(trained):
    index = trained.index()
    tempo = FEATURE_NAMES.index("tempo_log2")
    centroid = FEATURE_NAMES.index("centroid_mean")

    def mean_of(recs, i):
        return float(np.mean([index.vector(r.track.id)[i] for r in recs]))

    moved = compared = 0
    seeds = trained.tracks()[::6]
    for seed in seeds:
        plain = trained.similar(seed, 5, radio=False)
        faster = trained.similar(seed, 5, radio=False, moves={"faster": 3})
        darker = trained.similar(seed, 5, radio=False, moves={"darker": 3})
        # a list may be empty: no song of this small library is that much faster
        if faster:
            moved += mean_of(faster, tempo) > mean_of(plain, tempo)
            compared += 1
        if darker:
            moved += mean_of(darker, centroid) < mean_of(plain, centroid)
            compared += 1
    assert compared >= len(seeds) and moved >= 0.8 * compared
    with pytest.raises(ValueError, match="unknown move"):
        atlas.steer(index.vector(seeds[0].id), np.ones(len(FEATURE_NAMES)), {"louder!": 1})


def test_a_journey_walks_from_one_song_to_another_without_repeats(trained):
    tracks = trained.tracks()
    start = tracks[0]
    end = next(t for t in tracks if style_of(t.path) != style_of(start.path))
    path = trained.journey(start, end, steps=6)
    ids = [r.track.id for r in path]
    assert len(ids) == 7 and ids[-1] == end.id and len(set(ids)) == 7 and start.id not in ids
    index = trained.index()
    to_end = [np.linalg.norm(index.vector(t) - index.vector(end.id)) for t in ids]
    # it heads for the destination: the second half is closer to it than the first
    assert np.mean(to_end[len(to_end) // 2 :]) < np.mean(to_end[: len(to_end) // 2])
    assert path[0].reason.startswith("step 1 of 7") and path[-1].reason.startswith(
        "the destination"
    )
    with pytest.raises(LibraryError, match="two different songs"):
        trained.journey(start, start)


def test_clusters_have_sizes_and_names(trained):
    clusters = trained.clusters()
    members = [t for c in clusters for t in c.track_ids]
    assert sorted(members) == sorted(t.id for t in trained.tracks())
    assert [len(c.track_ids) for c in clusters] == sorted(
        (len(c.track_ids) for c in clusters), reverse=True
    )
    names = [c.name for c in clusters]
    assert len(set(names)) == len(names)
    genres = {t.genre for t in trained.tracks()}
    assert any(n.split(" ")[0] in " ".join(genres) for n in names)  # named by genre tag


def test_clusters_without_tags_get_a_sound_description(trained):
    index = trained.index()
    untagged = {t.id: t for t in trained.tracks()}
    for t in untagged.values():
        t.genre = ""
    names = [c.name for c in atlas.clusters(index, untagged)]
    words = {"fast", "slow", "bright", "dark", "busy", "sparse", "loud", "quiet", "middle"}
    assert all(set(n.replace(",", " ").split()) & words for n in names), names


def test_the_map_keeps_its_orientation_when_a_song_is_added(trained):
    from engine.similarity.index import ClusterIndex

    index = trained.index()
    before = atlas.project(index)
    extra = index.vectors.mean(axis=0, keepdims=True) + 0.1
    grown = ClusterIndex(
        np.append(index.ids, index.ids.max() + 1),
        np.vstack([index.vectors, extra]),
        index.centroids,
    )
    after = atlas.project(grown)
    common = {int(t): i for i, t in enumerate(after.ids)}
    rows = [common[int(t)] for t in before.ids]
    for axis in (0, 1):  # the same picture, not a mirror image
        assert np.corrcoef(before.xy[:, axis], after.xy[rows, axis])[0, 1] > 0.9


def test_a_steered_list_differs_the_asked_way_and_never_says_the_opposite(trained):
    """After "calmer", every suggestion is calmer than the song (by the button's own
    measure), the list's mean energy drops, and no reason says "louder" or "busier"."""
    index = trained.index()
    weights = trained.model().weights_
    checked = 0
    for seed in trained.tracks()[::4]:
        q = index.vector(seed.id)
        plain = trained.similar(seed, 5, radio=False)
        for move in ("calmer", "more energetic", "faster", "brighter"):
            steered = trained.similar(seed, 5, moves={move: 1})
            for rec in steered:
                v = index.vector(rec.track.id)
                shift = sum(
                    sign
                    * (v[FEATURE_NAMES.index(f)] - q[FEATURE_NAMES.index(f)])
                    / weights[FEATURE_NAMES.index(f)]
                    for f, sign in atlas.STEERING[move].items()
                )
                assert shift > 0, (move, rec.reason)
                assert not atlas.CONTRADICTS[move] & set(rec.reason.replace(",", "").split())
            if steered and plain:

                def measure(recs, move=move):
                    return np.mean(
                        [
                            sum(
                                sign * index.vector(r.track.id)[FEATURE_NAMES.index(f)]
                                for f, sign in atlas.STEERING[move].items()
                            )
                            for r in recs
                        ]
                    )

                # beyond the song, and never behind the unsteered list (which, with both
                # passes, may already hold only songs that differ the asked way)
                own = sum(
                    sign * q[FEATURE_NAMES.index(f)] for f, sign in atlas.STEERING[move].items()
                )
                assert measure(steered) >= measure(plain) and measure(steered) > own, move
                checked += 1
    assert checked >= 10


def test_opposite_presses_cancel():
    moves = atlas.press({}, "calmer")
    assert moves == {"calmer": 1}
    assert atlas.press(moves, "more energetic") == {}  # unsteered again
    assert atlas.press(atlas.press(moves, "calmer"), "faster") == {"calmer": 2, "faster": 1}
    assert atlas.press({"calmer": 2}, "more energetic") == {"calmer": 1}
