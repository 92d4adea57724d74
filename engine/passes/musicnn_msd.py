"""The second pass: musicnn (MSD) embedding and tags (:mod:`engine.neural.embedding`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.neural import embedding
from engine.neural.musicnn import (
    EMBEDDING_SIZE,
    SAMPLE_RATE,
    STEM,
    CardError,
    ModelFilesError,
    check_model,
    load_card,
)
from engine.passes.base import Accumulator, AnalysisPass


@dataclass(frozen=True)
class MusicnnPass(AnalysisPass):
    """A musicnn network's mean embedding (200) and tag probabilities (50) over eight
    patches cut from the track's excerpts; ``stem`` names the network's files."""

    stem: str = STEM

    def start(self) -> Accumulator:
        return embedding.PatchAccumulator()

    def compute(self, prepared: np.ndarray, models_dir: Path | None = None) -> np.ndarray:
        return embedding.embed_patches(embedding.load_network(models_dir, self.stem), prepared)

    def problem(self, models_dir: Path | None = None) -> str | None:
        try:
            check_model(models_dir, stem=self.stem)
        except ModelFilesError as exc:
            return str(exc)
        return None

    def tag_names(self, models_dir: Path | None = None) -> tuple[str, ...]:
        try:
            return tuple(load_card(models_dir, stem=self.stem)["tags"])  # type: ignore[arg-type]
        except CardError as exc:
            raise ValueError(str(exc)) from None


@dataclass(frozen=True)
class MsdPass(MusicnnPass):
    """The MSD network, with the reasons its failures have always been stored under."""

    def vector_problem(self, vector: np.ndarray | None) -> str:
        return embedding.vector_problem(vector)

    def damaged_reason(self) -> str:
        return embedding.DAMAGED_NEURAL_REASON


PASS = MsdPass(
    name="musicnn",
    version=embedding.NEURAL_VERSION,
    size=embedding.VECTOR_SIZE,
    sample_rate=SAMPLE_RATE,
    order=1,
    stage="neural",
    title="second pass (neural)",
    embedding=slice(0, EMBEDDING_SIZE),
    ranks=True,
    tags=slice(EMBEDDING_SIZE, embedding.VECTOR_SIZE),
)
