import time

import pytest

from desktop.tasks import TaskRunner
from engine.progress import Progress


@pytest.fixture
def runner(qtbot):
    r = TaskRunner()
    yield r
    r.shutdown()


def test_a_batch_generator_reports_progress_and_its_result(qtbot, runner):
    seen, results, finished = [], [], []

    def job(token):
        def steps():
            for i in range(3):
                yield Progress(i + 1, 3, "", "working")
                yield {"snapshot": i}
            return "report"

        return steps()

    task = runner.start(
        job,
        progress=lambda d, t, m: seen.append((d, t, m)),
        partial=lambda p: seen.append(p),
        succeeded=results.append,
        finished=lambda: finished.append(True),
    )
    qtbot.waitUntil(lambda: bool(finished), timeout=5000)
    qtbot.waitUntil(task.thread.isFinished, timeout=5000)
    assert results == ["report"]
    assert (3, 3, "working") in seen and {"snapshot": 2} in seen


def test_cancel_stops_between_items_and_never_reports_a_result(qtbot, runner):
    results, finished, cleaned = [], [], []

    def job(token):
        def steps():
            try:
                for i in range(10_000):
                    time.sleep(0.01)
                    yield Progress(i, 10_000, "", "")
            finally:
                cleaned.append(True)
            return "never"

        return steps()

    task = runner.start(job, succeeded=results.append, finished=lambda: finished.append(1))
    qtbot.wait(100)
    task.cancel()
    qtbot.waitUntil(lambda: bool(finished), timeout=5000)
    qtbot.waitUntil(task.thread.isFinished, timeout=5000)
    assert results == [] and cleaned == [True]


def test_errors_are_reported_not_raised(qtbot, runner):
    errors, finished = [], []

    def job(token):
        raise ValueError("the disk is on fire")

    runner.start(job, failed=errors.append, finished=lambda: finished.append(1))
    qtbot.waitUntil(lambda: bool(finished), timeout=5000)
    assert errors == ["the disk is on fire"]
