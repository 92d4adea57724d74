"""Analyse files in worker processes, isolating crashes to the file that caused them.

Decoders are native code: a malformed file can take a whole process down. Work
runs in a process pool (spawned, so it is safe to start from a GUI thread); if a
worker dies, the files that were in flight are retried one at a time in a fresh
single-worker pool, so only the file that really crashes is recorded as failed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import numpy as np

from engine.processes import init_worker, spawn_context
from engine.progress import CancelToken

CRASH_REASON = "the decoder crashed on this file (worker process died)"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of analysing one track: a vector or a readable error."""

    track_id: int
    path: str
    vector: np.ndarray | None = None
    error: str = ""


def default_workers() -> int:
    """One worker per available core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _init_worker(log_path: str | None, parent_pid: int) -> None:
    # Analysis is parallel across processes. numpy's BLAS already started one thread per
    # core when it was imported, and with a worker per core those threads fight over
    # the cores (measured: 2.4x slower per track). One thread per worker.
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    init_worker(parent_pid)  # low priority; ends if encore is killed
    if log_path:
        # Native decoders print warnings straight to file descriptor 2; keep them in
        # the log instead of scribbling over the progress bar.
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
    import engine.features  # noqa: F401  - import librosa once per worker, not per file


def safe_call(fn: Callable[[str], np.ndarray], path: str) -> tuple[np.ndarray | None, str]:
    """Run ``fn(path)`` and turn any exception into a readable error string."""
    from engine.decode import DecodeError

    try:
        return np.asarray(fn(path), dtype=np.float32), ""
    except DecodeError as exc:
        return None, str(exc)
    except MemoryError:
        return None, "not enough memory to analyse this file"
    except Exception as exc:  # a bad file must never stop the batch
        return None, f"analysis failed: {type(exc).__name__}: {exc}"


def _pool(workers: int, log_path: str | None) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=spawn_context(),
        initializer=_init_worker,
        initargs=(log_path, os.getpid()),
    )


def analyze_paths(
    items: Sequence[tuple[int, str]],
    fn: Callable[[str], np.ndarray],
    *,
    workers: int | None = None,
    cancel: CancelToken | None = None,
    log_path: str | None = None,
) -> Generator[Outcome, None, None]:
    """Yield one :class:`Outcome` per ``(track_id, path)`` as workers finish.

    ``fn`` must be a picklable module-level function. At most two files per
    worker are in flight, so cancelling stops quickly and memory stays bounded.
    Workers' native stderr goes to ``log_path`` when given.
    """
    workers = max(1, min(workers or default_workers(), len(items) or 1))
    queue = list(reversed(items))
    pool = _pool(workers, log_path)
    running: dict[Future[tuple[np.ndarray | None, str]], tuple[int, str]] = {}
    try:
        while queue or running:
            if cancel and cancel.cancelled:
                return
            while queue and len(running) < 2 * workers:
                item = queue.pop()
                running[pool.submit(safe_call, fn, item[1])] = item
            done, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
            broken: list[tuple[int, str]] = []
            for future in done:
                item = running.pop(future)
                try:
                    vector, error = future.result()
                except BrokenProcessPool:
                    broken.append(item)
                    continue
                yield Outcome(item[0], item[1], vector, error)
            if broken:
                broken += list(running.values())
                running.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                for item in broken:
                    if cancel and cancel.cancelled:
                        return
                    yield _isolated(item, fn, log_path)
                pool = _pool(workers, log_path)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _isolated(
    item: tuple[int, str], fn: Callable[[str], np.ndarray], log_path: str | None
) -> Outcome:
    """Analyse one file alone in a fresh process, so a crash is attributed to it."""
    with _pool(1, log_path) as solo:
        try:
            vector, error = solo.submit(safe_call, fn, item[1]).result()
        except BrokenProcessPool:
            return Outcome(item[0], item[1], None, CRASH_REASON)
    return Outcome(item[0], item[1], vector, error)
