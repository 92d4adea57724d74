"""Analyse files in worker processes, so a file can crash or hang only its own worker.

Decoders are native code: a malformed file can take a whole process down, or make
it read for minutes. Each worker is a spawned process (safe to start from a GUI
thread) that analyses one file at a time, so the parent always knows which file a
worker holds and since when:

* a worker that dies takes only its file with it; a fresh worker replaces it;
* a file that runs past its time limit has its worker killed and replaced;
* a crash, a time-out or a lack of memory may be the machine's fault as much as the
  file's, so such a file is tried once more at once in a fresh process, and if it
  fails again it is recorded with a reason in :data:`RETRIED_REASONS`, which later
  scans try again (only verdicts on the file itself wait for it to change).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

import numpy as np

from engine.processes import init_worker, spawn_context
from engine.progress import CancelToken

CRASH_REASON = "the analysis process crashed on this file (tried again on the next scan)"
KILLED_REASON = (
    "the system stopped the analysis of this file, perhaps for lack of memory "
    "(tried again on the next scan)"
)
MEMORY_REASON = "not enough memory to analyse this file (tried again on the next scan)"
#: Reasons that are not a verdict on the file; ``{limit}`` is the time limit in seconds.
TIMEOUT_REASON = "took too long to analyse (over {limit:g} s; tried again on the next scan)"
#: What earlier versions recorded for a crash; such files are retried too.
LEGACY_CRASH_REASON = "the decoder crashed on this file (worker process died)"
#: A stored feature vector found damaged (a wrong length, NaN or infinite values).
DAMAGED_FEATURES_REASON = (
    "its stored features were damaged (a wrong length or values that are not numbers; "
    "analysed again on the next scan)"
)
#: A file to analyse: ``(track id, path)``, then what else the analyser takes.
Item = tuple[int, str] | tuple[int, str, object]
#: Seconds a file may take before its worker is killed (a setting; see Library).
DEFAULT_TIME_LIMIT = 60.0


class NotTheFileError(Exception):
    """Raised by an analyser when something it needs, not the file, cannot be used (a
    model that cannot be loaded): its message is the reason, and no verdict on the file."""


def is_retried(reason: str) -> bool:
    """True when ``reason`` says the machine (or the stored data), not the file, may be
    at fault: the file is analysed again."""
    retried = (CRASH_REASON, KILLED_REASON, MEMORY_REASON, LEGACY_CRASH_REASON)
    return reason in (*retried, DAMAGED_FEATURES_REASON) or (
        reason.startswith("took too long to analyse")
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of analysing one track: what the analyser returned, or a readable error."""

    track_id: int
    path: str
    result: object = None
    error: str = ""

    @property
    def vector(self) -> np.ndarray | None:
        """The vector, when the analyser returned one (or an object with ``vector``)."""
        if self.result is None or isinstance(self.result, np.ndarray):
            return self.result
        return getattr(self.result, "vector", None)

    @property
    def seconds(self) -> float | None:
        """How much audio decoded when the whole file was decoded (None when only
        excerpts were, which confirms the length the file's header gives)."""
        return getattr(self.result, "seconds", None)


def default_workers() -> int:
    """One worker per available core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def safe_call(fn: Callable[..., object], path: str, *args: object) -> tuple[object, str]:
    """Run ``fn(path, *args)``; return ``(result, error)``, never raising.

    A vector result comes back as float32.
    """
    from engine.analysis.decode import DecodeError

    try:
        result = fn(path, *args)
    except (DecodeError, NotTheFileError) as exc:
        return None, str(exc)
    except MemoryError:
        return None, MEMORY_REASON
    except Exception as exc:  # a bad file must never stop the batch
        return None, f"analysis failed: {type(exc).__name__}: {exc}"
    if isinstance(result, np.ndarray):
        return np.asarray(result, dtype=np.float32), ""
    return result, ""


def _serve(
    conn: Connection, fn: Callable[[str], object], log_path: str | None, parent_pid: int
) -> None:
    """A worker's life: take a path, send back ``safe_call``'s answer, until told to stop."""
    # Ctrl+C reaches the whole process group; the parent decides what stops, and it
    # ends its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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
    import engine.analysis.features  # noqa: F401  - import the analysis code once per worker

    while True:
        try:
            payload = conn.recv()
        except (EOFError, OSError):
            return
        if payload is None:
            return
        conn.send(safe_call(fn, *payload))


class _Worker:
    """One worker process and the file it holds."""

    def __init__(self, fn: Callable[..., object], log_path: str | None) -> None:
        ctx = spawn_context()
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_serve, args=(child, fn, log_path, os.getpid()), daemon=True
        )
        self.process.start()
        child.close()
        self.item: Item | None = None
        self.since = 0.0

    def give(self, item: Item) -> None:
        self.item, self.since = item, time.monotonic()
        # one that died while idle fails to take it; the loop then sees it dead, holding it
        with contextlib.suppress(OSError):
            self.conn.send(item[1:])

    def stop(self) -> None:
        """End the process: politely when idle, by force when it holds a file."""
        if self.item is None and self.process.is_alive():
            try:
                self.conn.send(None)
                self.process.join(1.0)
            except OSError:
                pass
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5.0)
        self.conn.close()

    def death_reason(self) -> str:
        self.process.join(1.0)
        if self.process.exitcode == -signal.SIGKILL:  # the kernel's out-of-memory killer
            return KILLED_REASON
        return CRASH_REASON


def analyze_paths(
    items: Sequence[Item],
    fn: Callable[..., object],
    *,
    workers: int | None = None,
    cancel: CancelToken | None = None,
    log_path: str | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> Generator[Outcome, None, None]:
    """Yield one :class:`Outcome` per ``(track_id, path, *args)`` as workers finish.

    ``fn(path, *args)`` runs in a worker; it must be a picklable module-level function
    (or a ``functools.partial`` of one), and so must its arguments and result. A file
    still running after ``time_limit`` seconds has its worker killed. Workers' native stderr goes to
    ``log_path`` when given. Closing the generator ends every worker.
    """
    queue = deque(items)
    tried_once: set[int] = set()  # track ids already retried after a crash or time-out
    count = max(1, min(workers or default_workers(), len(items) or 1))
    pool: list[_Worker] = []

    def failed(worker: _Worker, reason: str) -> Outcome | None:
        """Replace ``worker``; retry its file once, else report ``reason``."""
        item = worker.item
        assert item is not None
        worker.item = None
        worker.stop()
        pool[pool.index(worker)] = _Worker(fn, log_path)
        if item[0] not in tried_once:
            tried_once.add(item[0])
            queue.appendleft(item)  # at once, in a fresh process
            return None
        return Outcome(item[0], item[1], None, reason)

    try:
        pool.extend(_Worker(fn, log_path) for _ in range(count))
        while True:
            if cancel and cancel.cancelled:
                return
            for worker in pool:
                if worker.item is None and queue:
                    worker.give(queue.popleft())
            busy = [w for w in pool if w.item is not None]
            if not busy:
                return
            now = time.monotonic()
            timeout = min(0.5, max(0.01, min(w.since + time_limit - now for w in busy)))
            wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout)
            for worker in busy:
                outcome: Outcome | None = None
                item = worker.item
                assert item is not None
                try:
                    answered = worker.conn.poll()
                    answer = worker.conn.recv() if answered else None
                except (EOFError, OSError):
                    answered, answer = False, None
                if answered and answer is not None:
                    result, error = answer
                    if error and is_retried(error) and item[0] not in tried_once:
                        worker.item = None
                        tried_once.add(item[0])
                        queue.appendleft(item)
                        continue
                    worker.item = None
                    outcome = Outcome(item[0], item[1], result, error)
                elif not worker.process.is_alive():
                    outcome = failed(worker, worker.death_reason())
                elif time.monotonic() - worker.since > time_limit:
                    outcome = failed(worker, TIMEOUT_REASON.format(limit=time_limit))
                if outcome is not None:
                    yield outcome
    finally:
        for worker in pool:
            worker.stop()
