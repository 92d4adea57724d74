import numpy as np
import pytest

from engine.similarity.evaluation import label_of, precision_at_k
from engine.tracks import Track


def test_perfectly_separated_labels_score_one():
    X = np.array([[0, 0], [0, 1], [10, 0], [10, 1], [20, 0], [20, 1]], dtype=np.float32)
    result = precision_at_k(X, ["a", "a", "b", "b", "c", "c"], k=1)
    assert result["precision"] == 1.0
    assert result["chance"] == pytest.approx(0.2)
    assert result["majority"] == pytest.approx(1 / 3, abs=1e-4)
    assert result["per_label"] == {"a": 1.0, "b": 1.0, "c": 1.0}


def test_random_vectors_score_near_chance_and_unlabelled_tracks_are_skipped():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((600, 8))
    labels = list(rng.choice(["x", "y", "z"], 600, p=[0.5, 0.3, 0.2]))
    labels[:50] = [""] * 50
    result = precision_at_k(X, labels, k=5, chunk=128)
    assert result["n"] == 550
    assert abs(result["precision"] - result["chance"]) < 0.05
    assert result["majority"] == pytest.approx(labels.count("x") / 550, abs=1e-3)


def test_too_few_labelled_tracks():
    assert precision_at_k(np.zeros((1, 3)), ["a"], 5)["precision"] is None


def test_labels_come_from_tags_or_folders():
    t = Track(path="/music/Album/x.mp3", size=1, mtime=0, genre=" Jazz ", artist="")
    assert label_of(t, "genre") == "Jazz"
    assert label_of(t, "artist") == ""
    assert label_of(t, "folder") == "/music/Album"
    with pytest.raises(ValueError, match="unknown label"):
        label_of(t, "mood")
