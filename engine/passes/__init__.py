"""The analysis passes: each module here that defines ``PASS`` (an
:class:`~engine.passes.base.AnalysisPass`) is one, found by :func:`passes`.

A new pass is a new module; nothing else changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from engine.passes.base import AnalysisPass

#: The first pass's name (the hand-made features; the model is trained on them) and the
#: second's (musicnn, MSD), which the stores' and reports' older fields are about.
FIRST_PASS = "features"
SECOND_PASS = "musicnn"
#: Modules of this package that are not passes.
_NOT_PASSES = frozenset({"base", "worker", "runner", "inputs"})


@cache
def passes() -> tuple[AnalysisPass, ...]:
    """Every pass, in the order they run (the first is the one the model is trained on)."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name in _NOT_PASSES:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if isinstance(getattr(module, "PASS", None), AnalysisPass):
            found.append(module.PASS)
    found.sort(key=lambda p: p.order)
    if not found or not found[0].first or len({p.order for p in found}) != len(found):
        raise RuntimeError("the analysis passes need one first pass and distinct orders")
    return tuple(found)


def by_name(name: str) -> AnalysisPass:
    """The pass called ``name``."""
    for each in passes():
        if each.name == name:
            return each
    raise KeyError(f"no analysis pass called {name!r}")


def first_pass() -> AnalysisPass:
    return passes()[0]


def later_passes() -> tuple[AnalysisPass, ...]:
    return passes()[1:]
