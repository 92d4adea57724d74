"""One file, one decode, every pass it needs (runs in an analysis worker process).

A :class:`Job` says which passes to run whole (``compute``), which to run only up to
their input (``prepare``: the expensive half waits, see :mod:`engine.passes.base`), and
which inputs were kept from an earlier decode (``inputs``). :func:`analyse_file` decodes
the file once for all the passes that need its audio.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.analysis.feed import feed
from engine.analysis.pool import MEMORY_REASON, NotTheFileError
from engine.passes import by_name


@dataclass(frozen=True, slots=True)
class Job:
    """What to do with one file (picklable: it goes to a worker process)."""

    compute: tuple[str, ...] = ()
    prepare: tuple[str, ...] = ()
    #: pass name → a kept input (``.npy``) to compute from instead of decoding
    inputs: tuple[tuple[str, str], ...] = ()
    whole: bool = False
    models_dir: str | None = None


@dataclass(slots=True)
class FileResult:
    """What :func:`analyse_file` found, by pass name: vectors, errors, the inputs of the
    passes only prepared; and the decoded seconds (None: only excerpts were)."""

    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    #: passes that could not run at all (their model cannot be loaded): why
    unusable: dict[str, str] = field(default_factory=dict)
    prepared: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: float | None = None


def _kept(path: str) -> np.ndarray | None:
    """A kept input, or None when it is gone or unreadable (the file is decoded then)."""
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None


def analyse_file(path: str, job: Job) -> FileResult:
    """Run ``job`` on ``path``: every pass that needs audio from one decode.

    Raises ``DecodeError`` when the file yields no audio (a verdict for every pass).
    A pass's own failure (its model cannot be loaded: :class:`NotTheFileError`; or it
    raises on this audio) is that pass's error; the others' results stand.
    """
    models = Path(job.models_dir) if job.models_dir else None
    result = FileResult()
    ready: dict[str, np.ndarray] = {}
    for name, kept in job.inputs:
        found = _kept(kept)
        if found is not None:
            ready[name] = found
    decode = [n for n in (*job.compute, *job.prepare) if n not in ready]
    if decode:
        sinks = {name: by_name(name).start() for name in decode}
        result.seconds = feed(
            path, [(by_name(n).sample_rate, sink) for n, sink in sinks.items()], whole=job.whole
        )
        for name, sink in sinks.items():
            try:
                ready[name] = np.asarray(sink.finish(), dtype=np.float32)
            except MemoryError:
                raise
            except Exception as exc:  # a pass's bug is its own failure
                result.errors[name] = _failed(exc)
    for name in job.prepare:
        if name in ready:
            result.prepared[name] = ready[name]
    for name in job.compute:
        if name not in ready:
            continue
        try:
            vector = by_name(name).compute(ready[name], models)
            result.vectors[name] = np.asarray(vector, dtype=np.float32)
        except NotTheFileError as exc:
            result.unusable[name] = str(exc)
        except MemoryError:
            result.errors[name] = MEMORY_REASON
        except Exception as exc:  # a pass's bug is its own failure
            result.errors[name] = _failed(exc)
    return result


def _failed(exc: Exception) -> str:
    from engine.analysis.decode import DecodeError

    if isinstance(exc, DecodeError):
        return str(exc)
    return f"analysis failed: {type(exc).__name__}: {exc}"
