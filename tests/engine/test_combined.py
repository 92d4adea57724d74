"""Ranking with both passes: the hand-made features joined by the musicnn embedding."""

import numpy as np
import pytest

from engine.analysis.features import N_FEATURES
from engine.library import Library
from engine.neural.musicnn import EMBEDDING_SIZE
from engine.similarity.combined import combine, neural_space, typical_distance
from engine.similarity.evaluation import precision_at_k
from tests.helpers import encore


def test_the_neural_columns_take_their_share_and_the_hand_ones_stay() -> None:
    rng = np.random.default_rng(0)
    H = rng.standard_normal((300, 6)).astype(np.float32) * 3
    N = neural_space(rng.standard_normal((300, 20)).astype(np.float32))
    heard = np.ones(300, bool)
    heard[:50] = False  # not through the second pass yet
    N[~heard] = 0
    centroids = H[:4].copy()
    for share in (0.25, 0.5, 0.75):
        Z, C = combine(H, centroids, N, heard, share)
        assert np.array_equal(Z[:, :6], H) and np.array_equal(C[:, :6], centroids)
        assert not Z[:50, 6:].any() and C.shape == (4, 26)
        ratio = typical_distance(Z[heard][:, 6:]) / typical_distance(H)
        assert ratio**2 == pytest.approx(share / (1 - share), rel=0.1)
    assert combine(H, centroids, N, heard, 0.0)[0] is H  # no share: the hand space
    assert combine(H, centroids, N, np.zeros(300, bool))[0] is H  # nothing heard yet


def test_the_library_ranks_in_both_spaces_once_the_second_pass_is_done(trained_home) -> None:
    library = Library(trained_home)  # both passes done
    index = library.index()
    assert index.vectors.shape == (5 * 8, N_FEATURES + EMBEDDING_SIZE)
    both = library.evaluate("genre")
    assert both["family"] == "both" and both["precision"] >= 0.9
    hand = library.evaluate("genre", family="hand")
    found = library.tracks_by_ids(index.ids.tolist())
    labels = [found[int(t)].genre for t in index.ids]
    assert hand["precision"] == pytest.approx(
        precision_at_k(index.vectors[:, :N_FEATURES], labels, 5)["precision"]
    )
    neural = library.evaluate("genre", family="neural")
    assert neural["n"] == 40 and neural["precision"] > neural["chance"]
    radio = library.evaluate("genre", radio=True)
    assert radio["n"] == 40 and 0 < radio["precision"] <= 1
    # up next still explains itself from the hand-made features
    recs = library.similar(int(index.ids[0]), 5)
    assert len(recs) == 5 and all("similar" in r.reason for r in recs)
    library.close()
    out = encore(trained_home, "evaluate", "--features", "neural").stdout
    assert "over 40 tracks (neural)" in out
    assert "(up next with the radio rules)" in encore(trained_home, "evaluate", "--radio").stdout
