"""The engine's pipeline driven from the command line (``scan``, ``analyze``)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from engine.cli.output import say
from engine.cli.progress import ProgressPrinter
from engine.progress import run

if TYPE_CHECKING:
    from engine.library import Library
    from engine.pipeline import Milestone


class _Milestones:
    """Says what each step of the pipeline did as its milestone arrives, with the time
    it took, and remembers whether the run failed."""

    def __init__(self, folders: Sequence[str] | None) -> None:
        self.folders = folders
        self.started = time.monotonic()
        self.failed = False

    def arrived(self, milestone: Milestone) -> None:
        """Say what the step that ``milestone`` ends did."""
        from engine.pipeline import FIRST_PASS, MODEL_READY, PASS_DONE, SCANNED

        seconds = time.monotonic() - self.started
        self.started = time.monotonic()
        report: Any = milestone.report
        if milestone.kind == SCANNED:
            self._scanned(report)
        elif milestone.kind == PASS_DONE and milestone.detail == FIRST_PASS:
            self._first_pass(report, seconds)
        elif milestone.kind == MODEL_READY:
            say(f"Model ready: {report.library_size} tracks, k={report.k} (recommend works now)")
        elif milestone.kind == PASS_DONE:
            # passes that ran in one sweep end together: the time is the first one's
            rate = f" in {seconds:.1f} s" if report.done and seconds >= 0.1 else ""
            say(f"{report.title[:1].upper()}{report.title[1:]}: {report.summary()}{rate}")

    def _scanned(self, report: Any) -> None:
        """The scan's warnings and summary (a ``ScanReport``)."""
        for folder in report.missing_folders:
            say(f"encore: warning: folder not found: {folder}", file=sys.stderr)
        for problem in report.problems:
            say(f"encore: warning: {problem}", file=sys.stderr)
        if len(report.missing_folders) + len(report.not_music) == len(self.folders or ()):
            self.failed = True  # none of them: the pipeline stops here
        else:
            say(f"Scan: {report.summary()}")

    def _first_pass(self, report: Any, seconds: float) -> None:
        """The first pass's summary (an ``AnalyzeReport``), failing when nothing was."""
        rate = f" in {seconds:.1f} s" if report.done else ""
        say(f"Analysis: {report.summary()}{rate}")
        if report.failed or report.damaged:
            say("  see `encore status` for the reasons")
        if report.failed and not report.done:
            say("encore: error: no file could be analysed", file=sys.stderr)
            self.failed = True


def run_pipeline(
    library: Library,
    args: argparse.Namespace,
    folders: Sequence[str] | None,
    *,
    scan: bool,
    analyze: bool,
    train: bool | None,
) -> int:
    """Drive the engine's pipeline (as the window does), saying what each step did."""
    from engine.pipeline import Milestone, pipeline

    if getattr(args, "time_limit", None) is not None:
        library.set_time_limit(args.time_limit)
    printer = ProgressPrinter()
    milestones = _Milestones(folders)

    def step(item: object) -> None:
        if not isinstance(item, Milestone):
            printer.show(item)  # type: ignore[arg-type] - the pipeline yields Progress
            return
        printer.close()
        milestones.arrived(item)

    steps = pipeline(
        library,
        folders=folders,
        scan=scan,
        analyze=analyze,
        train=train,
        later_passes_too=not getattr(args, "fast_only", False),
        retry_failed=getattr(args, "retry_failed", False),
        workers=getattr(args, "workers", None),
        whole=getattr(args, "whole_tracks", False),
    )
    try:
        result = run(steps, step)
    finally:
        printer.close()
    failed = milestones.failed
    for note in result.notes if result is not None else ():
        say(note)
    if result is not None and result.later_pass_problem:  # the rest stands; status says why
        say(f"encore: error: {result.later_pass_problem}", file=sys.stderr)
        failed = True
    return 1 if failed else 0
