"""What an analysis pass is: a name, a version, a vector size, and a function from
decoded audio to a vector.

Every pass is an instance of :class:`AnalysisPass` in a module of this package named
after it (``PASS``); :func:`engine.passes.passes` finds them. Nothing else names a pass:
the worker decodes each file once and feeds every pass it needs
(:mod:`engine.passes.worker`), the runner stores their vectors and failures through one
store API with the same failure policy (:mod:`engine.passes.runner`), and the library
ranks and reads tags from whichever passes say they take part.

A pass's function has two halves, so that an expensive half can wait:

* :meth:`AnalysisPass.start` gives an :class:`Accumulator` that takes the audio as it is
  decoded, at the pass's own rate, and whose ``finish()`` returns the pass's *input*
  (cheap DSP: a spectrogram, or the vector itself);
* :meth:`AnalysisPass.compute` turns that input into the vector (a network, or nothing).

The pipeline runs the first pass and the other passes' cheap halves in one decode, trains
the model up next needs, and then runs the expensive halves on the kept inputs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

#: The verdict on a file whose vector holds NaN or infinite values.
NOT_FINITE_REASON = "gave NaN or infinite values"


class Accumulator(Protocol):
    """Takes one track's audio as it is decoded: segments (excerpts, or the whole track)
    arriving in chunks, at the pass's sample rate."""

    def push(self, chunk: np.ndarray) -> None: ...

    def end_segment(self) -> None: ...

    def finish(self) -> np.ndarray:
        """The pass's input for :meth:`AnalysisPass.compute` (float32)."""
        ...


@dataclass(frozen=True)
class AnalysisPass(ABC):
    """One analysis pass.

    ``name`` and ``version`` say which vectors are stored (a new version analyses every
    track again for this pass only); ``size`` is the vector's length; ``sample_rate``
    the rate its accumulator takes; ``order`` sorts the passes (the first is the one the
    model is trained on); ``stage`` names its failures (``status``); ``title`` is what
    the user reads ("second pass (neural)").
    """

    name: str
    version: int
    size: int
    sample_rate: int
    order: int
    stage: str
    title: str
    #: whether it runs unless the user turns it off (a setting; the first always runs)
    on: bool = True
    #: the columns that join the similarity space (an embedding), if any …
    embedding: slice | None = None
    #: … and whether they do unless the user says otherwise (a setting)
    ranks: bool = False
    #: the columns that are tag probabilities (named by :meth:`tag_names`), if any
    tags: slice | None = None

    @property
    def key(self) -> str:
        """The name its vectors and failures are stored under."""
        return f"{self.name}-{self.version}"

    @property
    def first(self) -> bool:
        """The pass the model is trained on (there is one)."""
        return self.order == 0

    @property
    def deferrable(self) -> bool:
        """Its :meth:`compute` costs enough to wait until up next works."""
        return not self.first

    @abstractmethod
    def start(self) -> Accumulator:
        """A fresh accumulator for one track."""

    def compute(self, prepared: np.ndarray, models_dir: Path | None = None) -> np.ndarray:
        """The track's vector from its input (default: the input is the vector).

        Raises :class:`engine.analysis.pool.NotTheFileError` when something it needs,
        not the file, cannot be used (a model that cannot be loaded).
        """
        return prepared

    def problem(self, models_dir: Path | None = None) -> str | None:
        """Why the pass cannot run now (its model's files missing, damaged or changed),
        or None. Cheap: no model is loaded."""
        return None

    def tag_names(self, models_dir: Path | None = None) -> tuple[str, ...]:
        """The names of the :attr:`tags` columns, in order; ``ValueError`` (one line, why)
        when they cannot be read."""
        return ()

    def vector_problem(self, vector: np.ndarray | None) -> str:
        """Why ``vector`` cannot be stored for a track ("" when it can)."""
        if vector is None or vector.shape != (self.size,):
            found = "no" if vector is None else f"{vector.size}"
            return f"the {self.title} gave {found} values instead of {self.size}"
        if not np.isfinite(vector).all():
            return f"the {self.title} {NOT_FINITE_REASON}"
        return ""

    def damaged_reason(self) -> str:
        """What a stored vector of this pass that cannot be used is recorded as (it is
        analysed again)."""
        return (
            f"its stored {self.title} vector was not usable (a wrong length or values that "
            "are not numbers; analysed again on the next run)"
        )
