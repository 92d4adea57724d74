import numpy as np
import pytest

from engine.similarity.index import ClusterIndex


def clustered(n=3000, d=32, k=24, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, d)) * 3
    X = centres[rng.integers(0, k, n)] + rng.standard_normal((n, d))
    return np.arange(100, 100 + n), X.astype(np.float32), centres.astype(np.float32)


@pytest.mark.parametrize("n_results", [1, 5, 20])
def test_cluster_search_equals_exact_search(n_results):
    ids, X, centres = clustered()
    index = ClusterIndex(ids, X, centres)
    rng = np.random.default_rng(1)
    for row in rng.integers(0, len(ids), 50):
        q = X[row]
        got_ids, got_d = index.search(q, n_results, exclude=[ids[row]])
        ref_ids, ref_d = index.exact(q, n_results, exclude=[ids[row]])
        np.testing.assert_allclose(got_d, ref_d, rtol=1e-5)
        assert set(got_ids.tolist()) == set(ref_ids.tolist())
        assert ids[row] not in got_ids
        assert np.all(np.diff(got_d) >= 0)


def test_queries_from_outside_the_data_and_poor_centroids_stay_exact():
    ids, X, _ = clustered(n=500, k=10)
    bad_centres = np.random.default_rng(5).standard_normal((7, X.shape[1])).astype(np.float32)
    index = ClusterIndex(ids, X, bad_centres)
    q = np.full(X.shape[1], 4.0, dtype=np.float32)
    np.testing.assert_allclose(index.search(q, 5)[1], index.exact(q, 5)[1], rtol=1e-5)


def test_fewer_tracks_than_asked_and_exclusions():
    ids, X, centres = clustered(n=4, k=2)
    index = ClusterIndex(ids, X, centres)
    got, _ = index.search(X[0], 10, exclude=[ids[0], ids[1]])
    assert sorted(got.tolist()) == sorted(ids[2:].tolist())
    assert len(index) == 4 and ids[3] in index and 99 not in index


def test_the_index_scores_only_part_of_the_library():
    ids, X, centres = clustered(n=5000, k=40)
    index = ClusterIndex(ids, X, centres)
    index.search(X[0], 5)
    assert 0 < index.last_scored < len(ids) / 4


def test_a_search_budget_bounds_the_work_and_still_finds_close_tracks():
    ids, X, centres = clustered(n=5000, k=40)
    index = ClusterIndex(ids, X, centres)
    hits = 0
    for row in range(0, 5000, 250):
        got, _ = index.search(X[row], 5, exclude=[ids[row]], budget=300)
        assert len(got) == 5 and ids[row] not in got
        assert index.last_scored < 1000  # stops soon after the budget is spent
        ref, _ = index.exact(X[row], 5, exclude=[ids[row]])
        hits += len(set(got.tolist()) & set(ref.tolist()))
    assert hits / (5 * 20) >= 0.8
