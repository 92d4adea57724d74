"""Library maintenance from the GUI: add folders, rescan, analyse, retrain.

One job at a time runs on a worker thread; the status bar shows its progress and
a cancel button, and the table is refreshed from snapshots the job sends.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from desktop.library_model import SortKeys
from desktop.tasks import TaskRunner
from desktop.worker import Task
from engine.collection import Collection, build_collection
from engine.library import Library
from engine.pipeline import FIRST_PASS, MODEL_READY, PASS_DONE, Milestone, PipelineReport, pipeline
from engine.progress import CancelToken, Progress
from engine.tracks import Track

#: The table is refreshed at most this often while a job runs (seconds).
SNAPSHOT_EVERY = 1.5


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The library as a job sees it, sent to the GUI to refresh the table."""

    tracks: list[Track]
    failures: int
    keys: SortKeys  # built on the job's thread, so the GUI thread only swaps arrays
    #: The store's counts when it was taken: a later job that finds others knows that
    #: another process (the CLI, a second window) changed the library meanwhile.
    counts: tuple[tuple[str, int], ...] = ()
    collection: Collection = field(default_factory=Collection)  # for the browser pane
    heard: int = 0  # tracks through the second (neural) pass
    passes_on: frozenset[str] = frozenset()  # the later analysis passes that are on


def store_counts(library: Library) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(library.counts().items()))


def library_job(
    library: Library,
    token: CancelToken,
    *,
    folders: Sequence[str] | None,
    scan: bool,
    analyze: bool,
    train: bool | None,
    retry_failed: bool = False,
    shown: tuple[tuple[str, int], ...] = (),
    setting: tuple[str, bool] | None = None,
) -> Generator[Progress | Snapshot | Milestone, None, str]:
    """The engine's pipeline, with table snapshots; yields progress, snapshots and the
    pipeline's milestones (the window refreshes up next and the map on them).

    ``shown`` is the counts of the snapshot the table shows: when the library's differ at
    the end, a snapshot is sent even if this job changed nothing (another process did).
    """
    last = time.monotonic()
    if setting is not None:  # a pass turned on or off: the pipeline below acts on it
        library.set_pass(setting[0], on=setting[1])

    def snapshot() -> Snapshot:
        nonlocal shown
        counts = shown = store_counts(library)
        tracks = library.tracks()
        keys = SortKeys.build(tracks)
        heard = len(library.neural()[0])
        on = frozenset(name for name, setting in library.pass_settings().items() if setting["on"])
        return Snapshot(
            tracks, dict(counts)["failed"], keys, counts, build_collection(tracks), heard, on
        )

    steps = pipeline(
        library,
        token,
        folders=folders,
        scan=scan,
        analyze=analyze,
        train=train,
        retry_failed=retry_failed,
    )
    while True:
        try:
            item = next(steps)
        except StopIteration as stop:
            report: PipelineReport = stop.value
            break
        if isinstance(item, Milestone):
            # The table is refreshed only when it would show something new: a rescan of
            # an unchanged library (every start-up) must not reset the view being scrolled.
            if store_counts(library) != shown or _did_work(item):
                last = time.monotonic()
                yield snapshot()
            yield item
            continue
        yield item
        if time.monotonic() - last > SNAPSHOT_EVERY:
            last = time.monotonic()
            yield snapshot()
    if not (scan or analyze) or store_counts(library) != shown:  # a plain load always shows
        yield snapshot()
    return report.summary()


def _did_work(milestone: Milestone) -> bool:
    """Whether a pass analysed or failed a track (the table's marks and auto-tags change
    even when the store's counts do not)."""
    report = milestone.report
    if milestone.kind != PASS_DONE or report is None:
        return False
    return bool(report.done or report.failed)


class JobStatus(QWidget):
    """Progress bar, message and cancel button for the status bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(True)
        self.cancel = QPushButton("Cancel")
        self.cancel.setObjectName("cancel-job")
        for w in (self.label, self.bar, self.cancel):
            layout.addWidget(w)
        self.setVisible(False)

    def show_note(self, text: str) -> None:
        self.label.setText(text)

    def show_progress(self, done: int, total: int, message: str) -> None:
        self.setVisible(True)
        self.label.setText(message)
        if total:
            self.bar.setRange(0, total)
            self.bar.setValue(done)
            self.bar.setFormat(f"{done}/{total}")
        else:
            self.bar.setRange(0, 0)  # busy indicator while the amount is unknown


class LibraryJobs(QObject):
    """Runs one library job at a time and reports on it."""

    snapshot = Signal(object)  # Snapshot
    finished = Signal(str)  # summary or error, for the status bar
    model_changed = Signal()
    busy_changed = Signal(bool)

    def __init__(self, library: Library, runner: TaskRunner, status: JobStatus) -> None:
        super().__init__(status)
        self.library = library
        self.runner = runner
        self.status = status
        self.task: Task | None = None
        self._queue: list[
            tuple[list[str] | None, bool, bool, bool | None, bool, tuple[str, bool] | None]
        ] = []
        self._shown: tuple[tuple[str, int], ...] = ()  # the counts the table shows
        self._heard = 0  # tracks through the second pass, as the last snapshot said
        self.snapshot.connect(self._remember)
        status.cancel.clicked.connect(self.cancel)
        self._model_announced = False  # this job's new model or embeddings were announced

    def _remember(self, snap: Snapshot) -> None:
        self._shown = snap.counts
        self._heard = snap.heard

    def _partial(self, item: object) -> None:
        """A snapshot for the table, or a milestone: up next and the map refresh as soon
        as the first model exists and again when the second pass has added to the space,
        not when the whole job ends."""
        if isinstance(item, Snapshot):
            self.snapshot.emit(item)
        elif isinstance(item, Milestone) and (
            item.kind == MODEL_READY
            or (item.kind == PASS_DONE and item.detail != FIRST_PASS and item.report.done)
        ):
            self._model_announced = True
            self.model_changed.emit()

    @property
    def busy(self) -> bool:
        return self.task is not None

    def cancel(self) -> None:
        """Stop the running job (finished work is kept) and drop queued ones."""
        self._queue.clear()
        if self.task is not None:
            self.task.cancel()
            self.status.show_note("Cancelling…")

    def add(self, paths: Sequence[str]) -> bool:
        """Add folders or files, analyse them and retrain."""
        return self._run(list(paths), scan=True, analyze=True, train=True)

    def rescan(self) -> bool:
        """Scan and analyse what changed; train only when there is no usable model."""
        return self._run(None, scan=True, analyze=True, train=None)

    def retrain(self) -> bool:
        return self._run(None, scan=False, analyze=True, train=True)

    def rescan_and_retrain(self) -> bool:
        return self._run(None, scan=True, analyze=True, train=True)

    def retry_failed(self) -> bool:
        """Analyse every file that could not be analysed again, then retrain."""
        return self._run(None, scan=False, analyze=True, train=True, retry=True)

    def set_pass(self, name: str, on: bool) -> bool:
        """Turn a later analysis pass on (it runs now on every song) or off."""
        return self._run(None, scan=False, analyze=True, train=None, setting=(name, on))

    def load(self) -> None:
        """Read the library for the table without changing anything."""
        self._run(None, scan=False, analyze=False, train=False)

    def _run(
        self,
        folders: list[str] | None,
        *,
        scan: bool,
        analyze: bool,
        train: bool | None,
        retry: bool = False,
        setting: tuple[str, bool] | None = None,
    ) -> bool:
        if self.task is not None:
            request = (folders, scan, analyze, train, retry, setting)
            if request not in self._queue:
                self._queue.append(request)
            self.finished.emit("Queued: it starts when the current library job ends.")
            return True
        if scan and folders is None and not self.library.folders():
            self.finished.emit("No music folders yet: use Library → Add folder…")
            return False
        before = self.library.model_card()
        heard, listens = self._heard, analyze  # analyse: the second pass runs too
        self._model_announced = False

        def job(token: CancelToken) -> Generator[Progress | Snapshot, None, str]:
            return library_job(
                self.library,
                token,
                folders=folders,
                scan=scan,
                analyze=analyze,
                train=train,
                retry_failed=retry,
                shown=self._shown,
                setting=setting,
            )

        def done(summary: str) -> None:
            self.finished.emit(summary)

        def failed(message: str) -> None:
            self.finished.emit(f"Stopped: {message}")

        def finished() -> None:
            cancelled = self.task is not None and self.task.cancelled
            self.task = None
            self.status.setVisible(False)
            self.busy_changed.emit(False)
            if cancelled:
                self.finished.emit("Cancelled; the work done so far is kept.")
            # a new model, or new embeddings (the space up next and the map rank in)
            listened = listens and self._heard != heard  # not a plain load at start-up
            changed = self.library.model_card() != before or listened
            if changed and not self._model_announced:  # e.g. another process trained
                self.model_changed.emit()
            if self._queue:
                folders, scan, analyze, train, retry, setting = self._queue.pop(0)
                self._run(
                    folders, scan=scan, analyze=analyze, train=train, retry=retry, setting=setting
                )

        self.busy_changed.emit(True)
        if scan or analyze or train is not False:
            self.status.show_progress(0, 0, "Starting…")
        self.task = self.runner.start(
            job,
            name="library-job",
            succeeded=done,
            failed=failed,
            progress=self.status.show_progress,
            partial=self._partial,
            finished=finished,
        )
        return True
