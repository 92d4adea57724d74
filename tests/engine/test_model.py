import json

import joblib
import numpy as np
import pytest

from engine.analysis.features import N_FEATURES
from engine.similarity import model as model_mod
from engine.similarity.model import (
    ModelError,
    SimilarityModel,
    default_clusters,
    family_weights,
    load_model,
)


def data(n=60, seed=0):
    return np.random.default_rng(seed).standard_normal((n, N_FEATURES)).astype(np.float32) * 5 + 3


def test_fit_returns_self_and_unfitted_use_raises():
    m = SimilarityModel(4)
    with pytest.raises(ModelError, match="not trained"):
        m.transform(data())
    assert m.fit(data()) is m
    Z = m.transform(data())
    assert Z.shape == (60, N_FEATURES) and Z.dtype == np.float32
    assert m.centroids_.shape == (4, N_FEATURES)


def test_each_family_weighs_its_setting_whatever_its_size():
    from engine.analysis.features import FAMILIES
    from engine.similarity.model import DEFAULT_WEIGHTS, parse_weights

    w = family_weights({})  # no setting: every family the same share
    shares = [float((w[sl] ** 2).sum()) for sl in FAMILIES.values()]
    np.testing.assert_allclose(shares, 1.0, rtol=1e-6)
    boosted = family_weights({"rhythm": 4.0})
    assert float((boosted[FAMILIES["rhythm"]] ** 2).sum()) == pytest.approx(4.0)
    default = family_weights()
    for family, sl in FAMILIES.items():
        share = float((default[sl] ** 2).sum())
        assert share == pytest.approx(DEFAULT_WEIGHTS.get(family, 1.0), rel=1e-6)
    assert parse_weights("timbre=0.5, rhythm=2") == {"timbre": 0.5, "rhythm": 2.0}
    for bad in ("tempo=1", "timbre=x", "timbre=-1"):
        with pytest.raises(ValueError):
            parse_weights(bad)


def test_default_clusters_grows_with_the_library():
    assert default_clusters(1) == 1
    assert default_clusters(40) == 4
    assert default_clusters(20_000) == 100
    assert default_clusters(10**7) == 256


def test_too_few_tracks_or_wrong_shape():
    with pytest.raises(ModelError, match="at least 2"):
        SimilarityModel().fit(data(1))
    with pytest.raises(ModelError, match="expected feature vectors"):
        SimilarityModel().fit(np.zeros((5, 3)))


def test_save_and_load_round_trip_with_card(tmp_path):
    m = SimilarityModel(3).fit(data())
    card = m.save(tmp_path)
    assert card.k == 3 and card.library_size == 60 and len(card.sha256) == 64
    assert json.loads((tmp_path / "model.json").read_text()) == card.to_json()
    loaded, loaded_card = load_model(tmp_path)
    np.testing.assert_allclose(loaded.transform(data()), m.transform(data()))
    assert loaded_card == card
    assert not list(tmp_path.glob("*.tmp"))


def test_tampered_foreign_or_stale_models_are_refused(tmp_path):
    with pytest.raises(ModelError, match="no trained model"):
        load_model(tmp_path)
    SimilarityModel(2).fit(data()).save(tmp_path)

    # a pickle swapped in behind the card's back is never unpickled
    joblib.dump({"evil": True}, tmp_path / "model.npz")
    with pytest.raises(ModelError, match="does not match its card"):
        load_model(tmp_path)

    # a checksum-consistent pickle is refused too: only arrays are ever read
    card = json.loads((tmp_path / "model.json").read_text())
    card["sha256"] = model_mod.sha256_file(tmp_path / "model.npz")
    (tmp_path / "model.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="damaged"):
        load_model(tmp_path)

    # arrays of the wrong shape for the card
    SimilarityModel(2).fit(data()).save(tmp_path)
    card = json.loads((tmp_path / "model.json").read_text())
    card["k"] = 5
    (tmp_path / "model.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="does not fit its card"):
        load_model(tmp_path)

    # a card whose fields have the wrong types is no card
    card["k"] = "2"
    (tmp_path / "model.json").write_text(json.dumps(card))
    assert model_mod.read_card(tmp_path) is None
    with pytest.raises(ModelError, match="no valid card"):
        load_model(tmp_path)

    SimilarityModel(2).fit(data()).save(tmp_path)
    card = json.loads((tmp_path / "model.json").read_text())
    card["feature_version"] = -1
    (tmp_path / "model.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="another feature version"):
        load_model(tmp_path)

    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(ModelError, match="no valid card"):
        load_model(tmp_path)


def test_a_failed_save_keeps_the_previous_model(tmp_path, monkeypatch):
    SimilarityModel(2).fit(data()).save(tmp_path)
    before = (tmp_path / "model.npz").read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(ModelError, match=r"disk full: cannot save the model in .*; the previous"):
        SimilarityModel(3).fit(data(seed=1)).save(tmp_path)
    assert (tmp_path / "model.npz").read_bytes() == before
    load_model(tmp_path)
    assert not list(tmp_path.glob(".*.tmp"))


def test_big_libraries_fit_centroids_on_a_sample(monkeypatch):
    monkeypatch.setattr(model_mod, "KMEANS_SAMPLE", 50)
    X = data(200)
    m = SimilarityModel(4).fit(X)
    assert m.k == 4 and m.n_tracks_ == 200
    # standardisation still uses every track
    np.testing.assert_allclose(m.mean_, X.mean(axis=0), rtol=1e-4)


def test_a_model_saved_by_an_earlier_encore_is_not_current(tmp_path):
    """The pickled models of earlier versions (format 1) are retrained, never loaded."""
    from engine.library import Library

    home = tmp_path / "home"
    library = Library(home)
    SimilarityModel(2).fit(data()).save(library.models_path)
    assert library.model_is_current()
    card = json.loads((library.models_path / "model.json").read_text())
    card["format"] = 1
    (library.models_path / "model.json").write_text(json.dumps(card))
    (library.models_path / "model.joblib").write_bytes(b"an old pickle")
    assert not library.model_is_current()  # so the window retrains on its next rescan
    with pytest.raises(ModelError, match="saved by another Encore"):
        load_model(library.models_path)
    SimilarityModel(2).fit(data()).save(library.models_path)
    assert library.model_is_current() and not (library.models_path / "model.joblib").exists()
    library.close()
