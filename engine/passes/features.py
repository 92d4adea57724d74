"""The first pass: the hand-made features (:mod:`engine.analysis.features`), what the
model is trained on."""

from __future__ import annotations

from engine.analysis.features import FEATURE_VERSION, N_FEATURES, SAMPLE_RATE, _FrameFeatures
from engine.analysis.pool import DAMAGED_FEATURES_REASON
from engine.passes.base import Accumulator, AnalysisPass


class FeaturesPass(AnalysisPass):
    def start(self) -> Accumulator:
        return _FrameFeatures(SAMPLE_RATE)

    def damaged_reason(self) -> str:
        return DAMAGED_FEATURES_REASON


PASS = FeaturesPass(
    name="features",
    version=FEATURE_VERSION,
    size=N_FEATURES,
    sample_rate=SAMPLE_RATE,
    order=0,
    stage="analyze",
    title="hand-made features",
)
