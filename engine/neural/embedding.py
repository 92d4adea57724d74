"""The second analysis pass: one track's musicnn embedding and tag probabilities.

Eight 3-s patches spread over the track, cut from the excerpts the first pass reads (one
decode serves both), go through the network; their mean embedding (200 values) and mean tag
probabilities (50) are the track's, stored together as one vector of 250.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.analysis.decode import DecodeError
from engine.analysis.feed import feed
from engine.analysis.pool import NotTheFileError
from engine.errors import describe
from engine.neural.musicnn import (
    EMBEDDING_SIZE,
    FRAMES,
    HOP,
    N_TAGS,
    SAMPLE_RATE,
    STEM,
    Musicnn,
    mel_patches,
)

#: Bump when what :func:`embed_track` stores changes: older vectors are then redone.
NEURAL_VERSION = 2
#: The name the vectors are stored under (a new version is a new name).
NEURAL_FEATURES = f"musicnn-{NEURAL_VERSION}"
#: Patches per track.
PATCHES = 8
VECTOR_SIZE = EMBEDDING_SIZE + N_TAGS

#: How every failure to load the network starts: a fault of the installation, not of a
#: file, so the pass stops instead of recording a verdict on each track.
MODEL_UNLOADABLE = "the neural model cannot be loaded: "
#: The verdict on a file whose embedding holds NaN or infinite values.
NOT_FINITE_REASON = "the network gave NaN or infinite values"
#: A stored vector that cannot be used (a wrong length, NaN or infinite values, written
#: by an earlier version as its "not embeddable" mark or damaged): embedded again.
DAMAGED_NEURAL_REASON = (
    "its stored neural vector was not usable (a wrong length or values that are not "
    "numbers; embedded again on the next run)"
)

# one per model per worker process, loaded on its first track (by folder and stem)
_models: dict[tuple[Path | None, str], Musicnn] = {}


def load_network(models_dir: Path | None = None, stem: str = STEM) -> Musicnn:
    """The worker's network ``stem``; :class:`NotTheFileError` (:data:`MODEL_UNLOADABLE`)
    when it cannot be loaded, whatever the reason."""
    key = (models_dir, stem)
    if key not in _models:
        try:
            _models[key] = Musicnn(models_dir, threads=1, stem=stem)
        except Exception as exc:  # missing, damaged, tampered, onnxruntime refusing it
            text = str(exc) or type(exc).__name__
            if isinstance(exc, OSError):
                text = describe(exc)
            raise NotTheFileError(MODEL_UNLOADABLE + text) from exc
    return _models[key]


def is_model_failure(reason: str) -> bool:
    """True when ``reason`` says the network could not be loaded (no verdict on the file)."""
    return reason.startswith(MODEL_UNLOADABLE)


def vector_problem(vector: np.ndarray | None) -> str:
    """Why ``vector`` cannot be stored as a track's embedding ("" when it can)."""
    if vector is None or vector.shape != (VECTOR_SIZE,):
        size = "none" if vector is None else f"{vector.size}"
        return f"the network gave {size} values instead of {VECTOR_SIZE}"
    if not np.isfinite(vector).all():
        return NOT_FINITE_REASON
    return ""


def spread(count: int, available: int) -> np.ndarray:
    """``count`` indexes evenly spread over ``range(available)`` (fewer when short)."""
    return np.unique(np.linspace(0, available - 1, min(count, available)).round().astype(int))


#: Samples of 16 kHz audio a patch needs.
PATCH_SAMPLES = FRAMES * HOP + HOP


class PatchAccumulator:
    """Collects a track's 16 kHz audio as it is decoded; ``finish()`` cuts the network's
    input from it: (patches, 187, 96) log-mel patches.

    From excerpts (several segments), one patch per excerpt, placed so that the patches
    spread over the track as the excerpts do: the first at its start, the last at its
    end. From a whole track (one segment), :data:`PATCHES` patches spread over it.
    """

    def __init__(self) -> None:
        self.segments: list[np.ndarray] = []
        self._current: list[np.ndarray] = []

    def push(self, chunk: np.ndarray) -> None:
        self._current.append(np.asarray(chunk, dtype=np.float32))

    def end_segment(self) -> None:
        if self._current:
            self.segments.append(np.concatenate(self._current))
            self._current = []

    def finish(self) -> np.ndarray:
        self.end_segment()
        segments = [s for s in self.segments if s.size]
        if not segments:
            raise DecodeError("no audio could be decoded")
        if len(segments) == 1:  # the whole track: patches spread over all of it
            everything = mel_patches(segments[0])
            return everything[spread(PATCHES, len(everything))]
        last = len(segments) - 1
        patches = []
        for i, segment in enumerate(segments):
            start = round(max(segment.size - PATCH_SAMPLES, 0) * i / last)
            patches.append(mel_patches(segment[start : start + PATCH_SAMPLES])[:1])
        return np.concatenate(patches)


def embed_patches(network: Musicnn, patches: np.ndarray) -> np.ndarray:
    """The track's vector from its patches: mean embedding (200), mean tag probabilities
    (50)."""
    embeddings, tags = network.embed(patches)
    return np.concatenate([embeddings.mean(axis=0), tags.mean(axis=0)]).astype(np.float32)


def embed_track(path: str, *, models_dir: Path | None = None, whole: bool = False) -> np.ndarray:
    """The track's vector: mean embedding (200) then mean tag probabilities (50), from
    the same excerpts the first pass reads (:func:`engine.analysis.feed.feed`).

    ``models_dir``: where the network's files are (default: the shipped ones).
    """
    network = load_network(models_dir)  # first: no verdict on any file while it cannot load
    patches = PatchAccumulator()
    feed(path, [(SAMPLE_RATE, patches)], whole=whole)
    return embed_patches(network, patches.finish())


def split(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stored vectors (N, 250) → embeddings (N, 200) and tag probabilities (N, 50)."""
    return vectors[:, :EMBEDDING_SIZE], vectors[:, EMBEDDING_SIZE:]
