"""Run passes over the library's files: one decode per file, one failure policy for all.

:func:`run_passes` hands each file that some pass has still to do to a worker
(:func:`engine.passes.worker.analyse_file` in :func:`engine.analysis.pool.analyze_paths`,
so a file can crash or hang only its own worker, within one time limit for all its
passes), and stores what comes back through the store's pass API. The policy, for every
pass alike:

* a failure that is not about the file (a crash, a time-out, a model that cannot be
  loaded, a stored vector found damaged) is tried again on the next run;
* a failure that is about the file is recorded with its reason, until it changes;
* NaN or infinite output is such a failure, never a stored vector;
* a pass whose model cannot be loaded stops at once, recording nothing, and says why.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.analysis.damage import assess
from engine.analysis.pool import analyze_paths, is_retried
from engine.passes.base import AnalysisPass
from engine.passes.inputs import KeptInputs
from engine.passes.worker import FileResult, Job, analyse_file
from engine.progress import CancelToken, Progress
from engine.store import Store

#: Results are written in transactions of this many tracks.
WRITE_BATCH = 16
#: How earlier versions recorded a model that could not be loaded (no verdict on a file).
LEGACY_UNLOADABLE = "the neural model cannot be loaded: "


def retried(pass_: AnalysisPass, reason: str) -> bool:
    """True when ``reason`` is no verdict on the file: the pass tries it again."""
    return (
        is_retried(reason)
        or reason == pass_.damaged_reason()
        or reason.startswith(LEGACY_UNLOADABLE)
    )


@dataclass
class PassReport:
    """What one pass did in a run."""

    name: str
    title: str
    first: bool = False
    done: int = 0
    failed: int = 0
    #: first pass: tracks that decode to less than their header claims
    damaged: int = 0
    #: why the pass stopped (its model cannot be loaded): "" when it ran
    stopped: str = ""

    def summary(self) -> str:
        text = f"{self.done} {'analysed' if self.first else 'embedded'}, {self.failed} failed"
        if self.damaged:
            text += f", {self.damaged} damaged or incomplete"
        return text


@dataclass
class RunReport:
    """What :func:`run_passes` did: a report per pass, by name."""

    passes: dict[str, PassReport] = field(default_factory=dict)
    #: inputs kept for a later run of the passes only prepared
    kept: int = 0
    cancelled: bool = False

    def changed(self) -> bool:
        return any(r.done or r.failed for r in self.passes.values())


def run_passes(
    store: Store,
    compute: Sequence[AnalysisPass],
    *,
    prepare: Sequence[AnalysisPass] = (),
    kept: KeptInputs | None = None,
    track_ids: Sequence[int] | None = None,
    retry_failed: bool = False,
    whole: bool = False,
    workers: int | None = None,
    cancel: CancelToken | None = None,
    log_path: str | None = None,
    time_limit: float = 60.0,
    models_dir: Path | None = None,
    on_write: Callable[[], None] | None = None,
    label: str = "Analysing",
) -> Generator[Progress, None, RunReport]:
    """Run the ``compute`` passes (and the cheap half of the ``prepare`` ones, kept in
    ``kept``) on every track that needs them, or on ``track_ids`` only.

    ``retry_failed`` tries every recorded failure of these passes again. ``on_write`` is
    called after every write (caches built from the vectors are stale then).
    """
    report = RunReport({p.name: PassReport(p.name, p.title, p.first) for p in compute})
    for pass_ in compute:  # damaged vectors: recorded as failures, so done again now
        damaged = store.vectors(pass_.name, pass_.version, pass_.size)[2]
        if damaged:
            store.put_failures(
                pass_.name, pass_.version, [(i, pass_.damaged_reason()) for i in damaged]
            )
    if retry_failed:
        for pass_ in compute:
            store.clear_failures(pass_.name, pass_.version)
    running = []
    for pass_ in compute:
        problem = None if pass_.first else pass_.problem(models_dir)
        if problem:  # refuse up front rather than try every file with it
            report.passes[pass_.name].stopped = problem
        else:
            running.append(pass_)
    plan = _plan(store, running, prepare, kept, track_ids, retry_failed)
    claimed = {t.id: t.duration for t in store.tracks_by_ids(list(plan)).values()}
    by_name = {p.name: p for p in (*compute, *prepare)}
    vectors: dict[str, list[tuple[int, np.ndarray]]] = {p.name: [] for p in compute}
    errors: dict[str, list[tuple[int, str]]] = {p.name: [] for p in compute}
    decoded: list[tuple[int, float, str]] = []
    consumed: list[tuple[str, int]] = []

    def flush() -> None:
        wrote = False
        for name, rows in vectors.items():
            if rows:
                store.put_vectors(name, by_name[name].version, rows)
        for name, rows in errors.items():
            if rows:
                store.put_failures(name, by_name[name].version, rows)
        if decoded:
            store.put_decoded(decoded)
        for name in vectors:
            wrote = wrote or bool(vectors[name] or errors[name])
            vectors[name].clear()
            errors[name].clear()
        decoded.clear()
        for name, track_id in consumed:  # only once what was made from them is stored
            if kept is not None:
                kept.drop(name, track_id)
        consumed.clear()
        if wrote and on_write is not None:
            on_write()

    items = [
        (track_id, path, Job(c, p, i, whole, str(models_dir) if models_dir else None))
        for track_id, (path, c, p, i) in sorted(plan.items())
    ]
    yield Progress(0, len(items), "", label)
    try:
        with closing(
            analyze_paths(
                items,
                analyse_file,
                workers=workers,
                cancel=cancel,
                log_path=log_path,
                time_limit=time_limit,
            )
        ) as outcomes:
            for done, outcome in enumerate(outcomes, 1):
                track_id = outcome.track_id
                _, names, _, inputs = plan[track_id]
                result = outcome.result if isinstance(outcome.result, FileResult) else None
                if result is None:  # the file failed as a whole: every pass it was for
                    first = [n for n in names if by_name[n].first]
                    for name in first or names:
                        if not report.passes[name].stopped:
                            errors[name].append((track_id, outcome.error))
                            report.passes[name].failed += 1
                else:
                    _store_result(result, track_id, names, by_name, report, vectors, errors)
                    first = [n for n in names if by_name[n].first and n in result.vectors]
                    if first:  # how long it plays, when that is known; damage
                        seconds, note = assess(outcome.path, result.seconds, claimed.get(track_id))
                        if seconds is not None:
                            decoded.append((track_id, seconds, note))
                            report.passes[first[0]].damaged += bool(note)
                    for name, array in result.prepared.items():
                        if kept is not None and kept.put(name, track_id, array):
                            report.kept += 1
                consumed.extend((name, track_id) for name, _ in inputs)
                if sum(map(len, vectors.values())) + sum(map(len, errors.values())) >= WRITE_BATCH:
                    flush()
                yield Progress(done, len(items), outcome.path, label)
                if running and all(report.passes[p.name].stopped for p in running):
                    break  # nothing left to do: every pass stopped
    finally:
        flush()  # keep every finished result, even when cancelled, stopped or interrupted
    report.cancelled = bool(cancel and cancel.cancelled)
    return report


def _store_result(
    result: FileResult,
    track_id: int,
    names: tuple[str, ...],
    by_name: dict[str, AnalysisPass],
    report: RunReport,
    vectors: dict[str, list[tuple[int, np.ndarray]]],
    errors: dict[str, list[tuple[int, str]]],
) -> None:
    """One file's results, pass by pass, into the rows to write."""
    for name in names:
        pass_report = report.passes[name]
        if pass_report.stopped:
            continue
        if name in result.unusable:  # the installation's fault, not the file's: stop
            pass_report.stopped = result.unusable[name]
            continue
        error = result.errors.get(name, "")
        vector = result.vectors.get(name)
        problem = error or by_name[name].vector_problem(vector)
        if problem:
            errors[name].append((track_id, problem))
            pass_report.failed += 1
        else:
            vectors[name].append((track_id, vector))
            pass_report.done += 1


def _plan(
    store: Store,
    compute: Sequence[AnalysisPass],
    prepare: Sequence[AnalysisPass],
    kept: KeptInputs | None,
    track_ids: Sequence[int] | None,
    retry_failed: bool,
) -> dict[int, tuple[str, tuple[str, ...], tuple[str, ...], tuple[tuple[str, str], ...]]]:
    """Track id → (path, passes to compute, passes to prepare, kept inputs to use)."""
    wanted = None if track_ids is None else set(track_ids)
    todo: dict[int, tuple[str, list[str]]] = {}
    new: set[int] = set()  # tracks the first pass has to do: every pass does them now
    for pass_ in compute:
        retry = (lambda _: True) if retry_failed else (lambda r, p=pass_: retried(p, r))
        for track_id, path in store.todo(pass_.name, pass_.version, retry):
            if wanted is None or track_id in wanted:
                todo.setdefault(track_id, (path, []))[1].append(pass_.name)
                if pass_.first:
                    new.add(track_id)
    plan = {}
    for track_id, (path, names) in todo.items():
        if track_id in new:
            names = [p.name for p in compute]
        ready = tuple(
            (name, found)
            for name in names
            if kept is not None and (found := kept.get(name, track_id)) is not None
        )
        prepared = tuple(p.name for p in prepare) if track_id in new else ()
        plan[track_id] = (path, tuple(names), prepared, ready)
    return plan
