"""The one way through the data: scan → first pass → model → later passes.

Every front end drives :func:`pipeline`: the window's library jobs, ``encore scan`` and
``encore analyze``. It yields :class:`~engine.progress.Progress` for progress bars and
:class:`Milestone` for what a front end acts on at once: the model that up next and the
map need exists (``MODEL_READY``) as soon as the first pass allows, long before the
slower second pass ends; when that pass has added to the space they rank in, a
``PASS_DONE`` milestone says so and they refresh. It is cancellable between items, and
what finished is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.library import analyze_report, listen_report
from engine.passes import FIRST_PASS, SECOND_PASS, first_pass, later_passes
from engine.progress import CancelToken, Progress

__all__ = [
    "FIRST_PASS",
    "MODEL_READY",
    "PASS_DONE",
    "SCANNED",
    "SECOND_PASS",
    "Milestone",
    "PipelineReport",
    "pipeline",
]

if TYPE_CHECKING:
    from engine.ingest.scan import ScanReport
    from engine.library import AnalyzeReport, Library, ListenReport
    from engine.passes.base import AnalysisPass
    from engine.passes.inputs import KeptInputs
    from engine.passes.runner import RunReport
    from engine.similarity.model import ModelCard

#: The milestones' kinds.
SCANNED = "scanned"
MODEL_READY = "model ready"
PASS_DONE = "pass done"


@dataclass(frozen=True, slots=True)
class Milestone:
    """A point of the pipeline a front end may act on (refresh up next, the map…)."""

    kind: str
    detail: str = ""  # the pass, or the model's description
    #: The step's report: a ScanReport, AnalyzeReport, ModelCard or ListenReport.
    report: object = None


@dataclass
class PipelineReport:
    """What one run of :func:`pipeline` did; ``summary()`` is one line per step."""

    scan: ScanReport | None = None
    analysis: AnalyzeReport | None = None
    card: ModelCard | None = None
    listen: ListenReport | None = None
    notes: list[str] = field(default_factory=list)
    cancelled: bool = False
    #: None of the folders asked for could be read (missing, or not music): nothing ran.
    nothing_to_scan: bool = False
    #: Later passes' inputs kept from the first pass's decode for after training.
    kept: int = 0
    #: Why a later pass could not run at all (its model cannot be loaded): "" when it ran.
    later_pass_problem: str = ""

    def lines(self) -> list[str]:
        out = []
        if self.scan is not None:
            out.append(f"Scan: {self.scan.summary()}")
            out += [f"folder not found: {folder}" for folder in self.scan.missing_folders]
        if self.analysis is not None:
            out.append(f"Analysis: {self.analysis.summary()}")
        if self.card is not None:
            out.append(f"Model: {self.card.library_size} tracks, k={self.card.k}")
        out += self.notes
        if self.listen is not None and (self.listen.embedded or self.listen.failed):
            out.append(f"Second pass (neural): {self.listen.summary()}")
        if self.later_pass_problem:
            out.append(f"Second pass (neural) did not run: {self.later_pass_problem}")
        return out

    def summary(self) -> str:
        return "; ".join(self.lines())


def pipeline(
    library: Library,
    token: CancelToken | None = None,
    *,
    folders: Sequence[str] | None = None,
    scan: bool = True,
    analyze: bool = True,
    train: bool | None = True,
    later_passes_too: bool = True,
    retry_failed: bool = False,
    workers: int | None = None,
    whole: bool = False,
    time_limit: float | None = None,
) -> Generator[Progress | Milestone, None, PipelineReport]:
    """Scan ``folders`` (default: the library's), run every pass, train when needed.

    The model is trained after the first pass whenever there is no usable model (none
    yet, or one of older features), so that up next works; with ``train=True`` also
    when the library changed or nothing was scanned (a retrain). ``train=False`` never
    trains. Later passes (the neural one) run with the first, or after training when
    there was no model, unless ``later_passes_too`` is False (a later run does them).
    """
    report = PipelineReport()

    def stopped() -> bool:
        report.cancelled = bool(token and token.cancelled)
        return report.cancelled

    changed = False
    if scan:
        report.scan = yield from library.scan(folders, token)
        changed = bool(report.scan.added or report.scan.updated or report.scan.removed)
        unread = len(report.scan.missing_folders) + len(report.scan.not_music)
        report.nothing_to_scan = bool(folders) and unread == len(folders or ())
        yield Milestone(SCANNED, report=report.scan)
        if report.nothing_to_scan:
            return report
    first, later = first_pass(), (library.later_passes() if later_passes_too else ())
    # Up next needs a model. When there is none yet, the later passes' expensive halves
    # wait for it: the first run decodes each file once, runs the first pass and keeps
    # the others' inputs, trains, then runs the rest. Otherwise every pass runs at once.
    waiting = train is not False and not library.model_is_current()
    kept = library.kept_inputs()
    if analyze:
        kept.clear()  # a run that stopped half-way left them: its tracks are decoded again
    try:
        yield from _analyse_and_train(
            library, report, token, stopped, first, later, waiting, kept,
            analyze=analyze, train=train, scan=scan, changed=changed, whole=whole,
            options={"workers": workers, "time_limit": time_limit, "retry_failed": retry_failed},
        )  # fmt: skip
    finally:
        if analyze:
            kept.clear()
    stopped()
    return report


def _analyse_and_train(
    library: Library,
    report: PipelineReport,
    token: CancelToken | None,
    stopped: Callable[[], bool],
    first: AnalysisPass,
    later: Sequence[AnalysisPass],
    waiting: bool,
    kept: KeptInputs,
    *,
    analyze: bool,
    train: bool | None,
    scan: bool,
    changed: bool,
    whole: bool,
    options: dict[str, Any],
) -> Generator[Progress | Milestone, None, None]:
    """Every pass, and the model: the first pass with the later passes' inputs kept,
    the model, then the later passes (``waiting``); or every pass, then the model."""
    if analyze and not stopped():
        if options["retry_failed"]:  # every pass, also those that wait or do not run now
            library.clear_failures(later_passes())
        done = yield from library.run_passes(
            [first] if waiting else [first, *later],
            prepare=later if waiting else (),
            kept=kept if waiting else None,
            whole=whole,
            cancel=token,
            **options,
        )
        report.analysis = analyze_report(done)
        report.kept = done.kept
        changed = changed or report.analysis.analysed > 0
        yield Milestone(PASS_DONE, first.name, done.passes[first.name])
        if not waiting:
            yield from _later_done(library, report, done, later)
    stale = not library.model_is_current()
    wanted = stale or (train is True and (changed or not scan))
    if train is not False and wanted and not stopped():
        analysed = library.counts()["analysed"]
        if analysed >= 2:
            report.card = yield from library.train(None, token)
            if report.card is not None:
                yield Milestone(MODEL_READY, f"{report.card.library_size} tracks", report.card)
        else:
            report.notes.append("Model: needs at least 2 analysed tracks")
    if analyze and waiting and later and not stopped():
        done = yield from library.run_passes(
            later, kept=kept, label="Listening closely", cancel=token, **options
        )
        yield from _later_done(library, report, done, later)


def _later_done(
    library: Library, report: PipelineReport, done: RunReport, later: Sequence[AnalysisPass]
) -> Generator[Milestone, None, None]:
    """Report the later passes of ``done``: a milestone for each that ran; the reason
    for each that could not (its model cannot be loaded)."""
    report.listen = listen_report(done)
    report.later_pass_problem = library.stopped_passes(done)
    for pass_ in later:
        found = done.passes.get(pass_.name)
        if found is not None and not found.stopped:
            # the space up next and the map rank in now holds the new vectors (front
            # ends refresh when ``done``)
            yield Milestone(PASS_DONE, pass_.name, found)
