"""The second analysis pass: one track's musicnn embedding and tag probabilities.

Eight 3-s patches spread over the track (the same spread the first pass uses for its
excerpts) go through the network; their mean embedding (200 values) and mean tag
probabilities (50) are the track's, stored together as one vector of 250.
"""

from __future__ import annotations

import numpy as np

from engine.analysis.decode import DecodeError, load_mono, read_excerpts
from engine.neural.musicnn import (
    EMBEDDING_SIZE,
    FRAMES,
    HOP,
    N_TAGS,
    SAMPLE_RATE,
    Musicnn,
    mel_patches,
)

#: Bump when what :func:`embed_track` stores changes: older vectors are then redone.
NEURAL_VERSION = 1
#: The name the vectors are stored under (a new version is a new name).
NEURAL_FEATURES = f"musicnn-{NEURAL_VERSION}"
#: Patches per track.
PATCHES = 8
#: Seconds of audio a patch needs (187 frames of 256 samples, plus the last window).
PATCH_SECONDS = (FRAMES * HOP + HOP) / SAMPLE_RATE
VECTOR_SIZE = EMBEDDING_SIZE + N_TAGS

_model: Musicnn | None = None  # one per worker process, loaded on its first track


def _network() -> Musicnn:
    global _model
    if _model is None:
        _model = Musicnn(threads=1)
    return _model


def spread(count: int, available: int) -> np.ndarray:
    """``count`` indexes evenly spread over ``range(available)`` (fewer when short)."""
    return np.unique(np.linspace(0, available - 1, min(count, available)).round().astype(int))


def embed_track(path: str) -> np.ndarray:
    """The track's vector: mean embedding (200) then mean tag probabilities (50)."""
    excerpts = read_excerpts(path, sr=SAMPLE_RATE, count=PATCHES, seconds=PATCH_SECONDS)
    if excerpts is not None:
        patches = np.concatenate([mel_patches(e)[:1] for e in excerpts])
    else:  # short, or not seekable: decode it whole and pick patches from all of it
        audio = load_mono(path, sr=SAMPLE_RATE)
        if audio.size == 0:
            raise DecodeError("no audio could be decoded")
        everything = mel_patches(audio)
        patches = everything[spread(PATCHES, len(everything))]
    embeddings, tags = _network().embed(patches)
    return np.concatenate([embeddings.mean(axis=0), tags.mean(axis=0)]).astype(np.float32)


def split(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stored vectors (N, 250) → embeddings (N, 200) and tag probabilities (N, 50)."""
    return vectors[:, :EMBEDDING_SIZE], vectors[:, EMBEDDING_SIZE:]
