"""The second pass: musicnn (MSD) embedding and tags (:mod:`engine.neural.embedding`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.neural import embedding
from engine.neural.musicnn import SAMPLE_RATE, ModelFilesError, check_model
from engine.passes.base import Accumulator, AnalysisPass


class MusicnnPass(AnalysisPass):
    def start(self) -> Accumulator:
        return embedding.PatchAccumulator()

    def compute(self, prepared: np.ndarray, models_dir: Path | None = None) -> np.ndarray:
        return embedding.embed_patches(embedding.load_network(models_dir), prepared)

    def problem(self, models_dir: Path | None = None) -> str | None:
        try:
            check_model(models_dir)
        except ModelFilesError as exc:
            return str(exc)
        return None

    def vector_problem(self, vector: np.ndarray | None) -> str:
        return embedding.vector_problem(vector)

    def damaged_reason(self) -> str:
        return embedding.DAMAGED_NEURAL_REASON


PASS = MusicnnPass(
    name="musicnn",
    version=embedding.NEURAL_VERSION,
    size=embedding.VECTOR_SIZE,
    sample_rate=SAMPLE_RATE,
    order=1,
    stage="neural",
    title="second pass (neural)",
)
