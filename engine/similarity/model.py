"""The similarity model: standardise, weight the feature families, cluster.

``SimilarityModel`` follows scikit-learn's conventions: ``fit`` returns self,
learned attributes end in ``_``, and using an unfitted model raises.
A saved model is data only, never code: its arrays in a NumPy ``.npz`` file read
with ``allow_pickle=False``, and a JSON card with its settings, what it was trained
on and the SHA-256 of the arrays file. Nothing in the state folder is unpickled (a
shared or synced folder may be writable by others). Loading refuses a model whose
card is missing, foreign, stale, mistyped or does not match the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import platform
import re
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from engine.analysis.features import FAMILIES, FEATURE_VERSION, N_FEATURES
from engine.errors import cause
from engine.jsonfile import read_json

MODEL_FILE = "model.npz"
CARD_FILE = "model.json"
#: A new model waits under this name until its card is in place (see ``save``).
NEXT_FILE = "model.next.npz"
#: Held while a model is written, so two processes training at once take turns.
LOCK_FILE = ".lock"
#: What earlier versions saved (pickles): never loaded, removed by the next save.
LEGACY_FILES = ("model.joblib", "model.next.joblib")
#: KMeans is fitted on at most this many (randomly chosen) tracks.
KMEANS_SAMPLE = 20_000
#: Bump when the saved model's layout changes.
MODEL_FORMAT = 2
#: The arrays a trained model is made of.
_ARRAYS = ("mean_", "scale_", "weights_", "centroids_")


@dataclass(frozen=True, slots=True)
class ModelCard:
    """What a saved model was trained on, with the SHA-256 of its arrays file.

    Written as JSON beside the model; :meth:`from_json` accepts only the field types
    declared here, so code that reads a card may rely on them.
    """

    format: int
    app: str
    feature_version: int
    n_features: int
    library_size: int
    k: int
    weights: dict[str, float]
    trained_at: str
    sha256: str
    python: str = ""
    packages: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: object) -> ModelCard | None:
        """The card in ``data`` (parsed JSON), or None when a field is missing or invalid."""
        try:
            return cls.parse(data)
        except ValueError:
            return None

    @classmethod
    def parse(cls, data: object) -> ModelCard:
        """The card in ``data`` (parsed JSON); ``ValueError`` naming the first field that
        is missing, mistyped or out of range."""
        if not isinstance(data, dict):
            raise ValueError("it is not a JSON object")
        values: dict[str, Any] = {}
        for name, kind in _CARD_TYPES.items():
            value = data.get(name, "" if name == "python" else {} if name == "packages" else None)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ValueError(f"{name!r} must be {_KIND_WORDS[kind]}")
            if kind is int and not _CARD_INT_LOWEST[name] <= value < 2**31:
                raise ValueError(f"{name!r} is out of range ({value})")
            if kind is str and len(value) > _CARD_MAX_TEXT:
                raise ValueError(f"{name!r} is longer than {_CARD_MAX_TEXT} characters")
            values[name] = value
        if not re.fullmatch(r"[0-9a-f]{64}", values["sha256"]):
            raise ValueError("'sha256' must be 64 hexadecimal digits")
        weights = values["weights"]
        # what parse_weights accepts: known families, each a share from 0 to 100
        if not all(
            f in FAMILIES
            and isinstance(w, int | float)
            and not isinstance(w, bool)
            and 0 <= w <= 100
            for f, w in weights.items()
        ):
            raise ValueError("'weights' must give known feature families shares from 0 to 100")
        values["weights"] = {str(f): float(w) for f, w in weights.items()}
        packages = values["packages"]
        if len(packages) > 32 or not all(
            isinstance(v, str) and len(k) + len(v) <= _CARD_MAX_TEXT for k, v in packages.items()
        ):
            raise ValueError("'packages' must map package names to version strings")
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _CARD_TYPES}

    @property
    def current(self) -> bool:
        """True when this Encore can use the model: its format and its features.

        A model saved by an earlier Encore (another format, other features) is not, and
        the library must be trained again.
        """
        return (
            self.app == "encore"
            and self.format == MODEL_FORMAT
            and self.feature_version == FEATURE_VERSION
        )


#: Each card field's JSON type.
_CARD_TYPES: dict[str, type] = {
    "format": int,
    "app": str,
    "feature_version": int,
    "n_features": int,
    "library_size": int,
    "k": int,
    "weights": dict,
    "trained_at": str,
    "python": str,
    "packages": dict,
    "sha256": str,
}
#: The smallest value each integer field may have (k: one cluster at least). The
#: versions are only compared: any other one means "retrain".
_CARD_INT_LOWEST = {
    "format": -(2**31),
    "feature_version": -(2**31),
    "n_features": 1,
    "library_size": 0,
    "k": 1,
}
_KIND_WORDS = {int: "an integer", str: "text", dict: "a JSON object"}
#: Bounds of a card file and of its text fields (a real one is under 1 kB).
_CARD_MAX_BYTES = 64 * 1024
_CARD_MAX_DEPTH = 4
_CARD_MAX_TEXT = 200


class ModelError(Exception):
    """A model cannot be trained or loaded; the message is meant for the user."""


def default_clusters(n_tracks: int) -> int:
    """k for a library of ``n_tracks``: about sqrt(n/2), at least 1, at most 256.

    Roughly sqrt(n) clusters keeps both the centroid scan and the members
    scanned per query small, which is what makes the clusters a good index.
    """
    return int(max(1, min(256, round(np.sqrt(n_tracks / 2)))))


#: Each family's share of the distance, relative to the others (missing ones: 1).
#: Chosen with ``benchmarks/quality.py`` over a grid: halving timbre and harmony
#: lifted the synthetic library from 94.0 % to 96.5 % precision@5 and left the
#: soundtrack library's figures within 0.4 points.
DEFAULT_WEIGHTS: dict[str, float] = {"timbre": 0.5, "harmony": 0.5}


def parse_weights(text: str) -> dict[str, float]:
    """``"timbre=0.5,rhythm=2"`` -> weights; raises ValueError naming what is wrong."""
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        if name not in FAMILIES:
            raise ValueError(f"unknown feature family {name!r}; choose from {', '.join(FAMILIES)}")
        try:
            weights[name] = float(value)
        except ValueError:
            raise ValueError(f"{part!r}: the weight must be a number") from None
        if not 0 <= weights[name] <= 100:
            raise ValueError(f"{part!r}: the weight must be between 0 and 100")
    return weights


def family_weights(weights: dict[str, float] | None = None) -> np.ndarray:
    """Per-dimension weights so each family counts equally, times its setting.

    Every standardised dimension has unit variance, so a family of ``d``
    dimensions would otherwise weigh ``d`` times as much as a one-dimensional
    one. Scaling by ``1/sqrt(d)`` gives every family the same expected share of
    the squared distance.
    """
    weights = DEFAULT_WEIGHTS if weights is None else weights
    w = np.ones(N_FEATURES, dtype=np.float32)
    for family, sl in FAMILIES.items():
        share = float(weights.get(family, 1.0))
        w[sl] = np.sqrt(share / (sl.stop - sl.start))
    return w


class SimilarityModel:
    """Standardisation + family weights + KMeans centroids over feature vectors.

    Parameters
    ----------
    n_clusters
        Number of clusters; ``None`` picks :func:`default_clusters`.
    weights
        Share of the distance per feature family (default: :data:`DEFAULT_WEIGHTS`).
    random_state
        Seed for KMeans, so training is reproducible.
    """

    def __init__(
        self,
        n_clusters: int | None = None,
        *,
        weights: dict[str, float] | None = None,
        random_state: int = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
        self.random_state = random_state

    def fit(self, X: np.ndarray) -> SimilarityModel:
        """Learn the standardisation and the clusters from ``X`` (n_tracks, N_FEATURES).

        Only numpy arrays are kept, so using (and loading) a trained model never
        imports scikit-learn: the player's process stays light and responsive.
        """
        from sklearn.cluster import KMeans

        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != N_FEATURES:
            raise ModelError(f"expected feature vectors of {N_FEATURES} values, got {X.shape}")
        if len(X) < 2:
            raise ModelError("at least 2 analysed tracks are needed to train a model")
        k = min(self.n_clusters or default_clusters(len(X)), len(X))
        # StandardScaler's definition; a constant feature keeps scale 1 instead of 0.
        self.mean_ = X.mean(axis=0, dtype=np.float64).astype(np.float32)
        scale = X.std(axis=0, dtype=np.float64)
        self.scale_ = np.where(scale > 1e-12, scale, 1.0).astype(np.float32)
        self.weights_ = family_weights(self.weights)
        Z = self._embed(X)
        if len(Z) > KMEANS_SAMPLE:
            # Centroids only need to describe the space's shape (they index it); a
            # sample gives the same picture at a fraction of the time on big libraries.
            rows = np.random.default_rng(self.random_state).choice(
                len(Z), KMEANS_SAMPLE, replace=False
            )
            Z = Z[rows]
        kmeans = KMeans(n_clusters=k, n_init=3, random_state=self.random_state).fit(Z)
        self.centroids_ = np.ascontiguousarray(kmeans.cluster_centers_, dtype=np.float32)
        self.n_tracks_ = len(X)
        return self

    def _check(self) -> None:
        if not hasattr(self, "centroids_"):
            raise ModelError("the model is not trained yet")

    def _embed(self, X: np.ndarray) -> np.ndarray:
        Z = (np.asarray(X, dtype=np.float32) - self.mean_) / self.scale_ * self.weights_
        return np.ascontiguousarray(Z, dtype=np.float32)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Map raw feature vectors into the weighted, standardised space."""
        self._check()
        return self._embed(X)

    @property
    def k(self) -> int:
        self._check()
        return len(self.centroids_)

    # -- persistence ----------------------------------------------------------------
    def card(self, checksum: str) -> ModelCard:
        self._check()
        return ModelCard(
            format=MODEL_FORMAT,
            app="encore",
            feature_version=FEATURE_VERSION,
            n_features=N_FEATURES,
            library_size=int(self.n_tracks_),
            k=self.k,
            weights={str(f): float(w) for f, w in self.weights.items()},
            trained_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            python=platform.python_version(),
            packages={p: _version(p) for p in ("numpy", "scikit-learn")},
            sha256=checksum,
        )

    def save(self, folder: Path) -> ModelCard:
        """Write the model and its card into ``folder``; return the card.

        Killed at any moment, the folder holds a model that loads: the previous one
        until the new card is in place, the new one from then on. The card is the
        commit: the new model is written first as :data:`NEXT_FILE`, the card
        (naming its checksum) replaces the old card, then the model takes its usual
        name. :func:`load_model` takes whichever file matches the card. Another
        process saving at the same time waits for this one (a lock file).
        """
        self._check()
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(folder):
            _settle(folder)
            model_tmp: Path | None = None
            card_tmp: Path | None = None
            try:
                model_tmp = _temp_path(folder, MODEL_FILE)
                with open(model_tmp, "wb") as fh:
                    np.savez(fh, **{name: getattr(self, name) for name in _ARRAYS})
                    fh.flush()
                    os.fsync(fh.fileno())
                card = self.card(sha256_file(model_tmp))
                card_tmp = _temp_path(folder, CARD_FILE)
                with open(card_tmp, "w", encoding="utf-8") as fh:
                    json.dump(card.to_json(), fh, indent=2)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(model_tmp, folder / NEXT_FILE)  # no card trusts it yet
                _fsync_dir(folder)
                os.replace(card_tmp, folder / CARD_FILE)  # the commit
                _fsync_dir(folder)
            except BaseException as exc:
                for tmp in (model_tmp, card_tmp):
                    if tmp is not None:
                        tmp.unlink(missing_ok=True)
                if isinstance(exc, OSError):  # a full disk, no permission: one line
                    raise ModelError(
                        f"{cause(exc)}: cannot save the model in {folder}; the previous "
                        "model is kept"
                    ) from exc
                raise
            os.replace(folder / NEXT_FILE, folder / MODEL_FILE)
            _fsync_dir(folder)
            for legacy in LEGACY_FILES:
                (folder / legacy).unlink(missing_ok=True)
        return card


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s lock file (POSIX; elsewhere saves are not serialised)."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _settle(folder: Path) -> None:
    """Tidy what a killed save left: finish one that got past its commit, drop the rest.

    Called with the lock held, so no other save is half-way.
    """
    for stale in folder.glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    pending = folder / NEXT_FILE
    if not pending.exists():
        return
    card = read_card(folder)
    if card is not None and sha256_file(pending) == card.sha256:
        os.replace(pending, folder / MODEL_FILE)
        _fsync_dir(folder)
    else:
        pending.unlink(missing_ok=True)


def read_card(folder: Path) -> ModelCard | None:
    """The saved model's card, or ``None`` when there is none, it is unreadable, or a
    field is missing, mistyped or out of range (see :func:`card_problem`)."""
    try:
        return _parse_card(folder)
    except (OSError, ValueError):
        return None


def card_problem(folder: Path) -> str | None:
    """Why the card in ``folder`` cannot be used, in a few words; None when it can (or
    there is none)."""
    try:
        _parse_card(folder)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return cause(exc)
    except ValueError as exc:
        return str(exc)
    return None


def _parse_card(folder: Path) -> ModelCard:
    """The card in ``folder``, read within bounds (it may be damaged or foreign)."""
    data = read_json(folder / CARD_FILE, max_bytes=_CARD_MAX_BYTES, max_depth=_CARD_MAX_DEPTH)
    return ModelCard.parse(data)


def load_model(folder: Path) -> tuple[SimilarityModel, ModelCard]:
    """Load the model saved in ``folder`` after checking its card.

    Only arrays are read (``allow_pickle=False``: nothing in the file can run code),
    from bytes whose SHA-256 matches the card written at save time: the very bytes
    that were hashed, read once, so the file cannot change in between.
    """
    candidates = (folder / NEXT_FILE, folder / MODEL_FILE)  # see SimilarityModel.save
    if not any(path.exists() for path in candidates):
        raise ModelError("no trained model yet: run `encore train`")
    data: bytes | None = None
    for _attempt in range(2):  # a save may commit between reading the card and the model
        card = read_card(folder)
        if card is None or card.app != "encore":
            problem = "it is another program's" if card else card_problem(folder) or "none"
            raise ModelError(
                f"the model has no valid card ({problem}); retrain with `encore train`"
            )
        if card.format != MODEL_FORMAT:
            raise ModelError("the model was saved by another Encore; retrain with `encore train`")
        if card.feature_version != FEATURE_VERSION:
            raise ModelError(
                "the model was trained on another feature version; retrain with `encore train`"
            )
        data = _matching_bytes(candidates, card.sha256)
        if data is not None:
            break
    if data is None:
        raise ModelError("the model file does not match its card; retrain with `encore train`")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            values = {name: np.asarray(arrays[name], dtype=np.float32) for name in _ARRAYS}
    except Exception as exc:  # a damaged archive can raise almost anything
        raise ModelError(f"the model file is damaged ({exc}); retrain with `encore train`") from exc
    k, n = card.k, card.n_features
    shapes = {"mean_": (n,), "scale_": (n,), "weights_": (n,), "centroids_": (k, n)}
    if n != N_FEATURES or any(values[a].shape != shapes[a] for a in _ARRAYS):
        raise ModelError("the model file does not fit its card; retrain with `encore train`")
    model = SimilarityModel(k, weights=card.weights)
    for name, value in values.items():
        setattr(model, name, value)
    model.n_tracks_ = card.library_size
    return model, card


def _matching_bytes(paths: Sequence[Path], checksum: str) -> bytes | None:
    """The content of the first of ``paths`` whose SHA-256 is ``checksum``."""
    for path in paths:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ModelError(
                f"cannot read the model file ({exc.strerror or exc}); retrain with `encore train`"
            ) from exc
        if hashlib.sha256(data).hexdigest() == checksum:
            return data
    return None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _temp_path(folder: Path, name: str) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    return Path(tmp)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not supported on this platform (e.g. Windows)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
