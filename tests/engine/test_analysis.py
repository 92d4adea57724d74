import time

from engine.analysis.pool import CRASH_REASON, KILLED_REASON, analyze_paths, is_retried
from engine.progress import CancelToken
from tests.engine.workers import crash_or_vector


def test_a_crashing_file_fails_alone_and_the_batch_finishes():
    items = [
        (i, f"/x/{name}")
        for i, name in enumerate(
            ["a.mp3", "b.mp3", "crash.mp3", "c.mp3", "raise.mp3", "d.mp3", "e.mp3", "f.mp3"]
        )
    ]
    outcomes = {o.track_id: o for o in analyze_paths(items, crash_or_vector, workers=2)}
    assert sorted(outcomes) == list(range(8))
    assert outcomes[2].vector is None and outcomes[2].error == CRASH_REASON
    assert outcomes[4].vector is None
    assert "ValueError: simulated decoder bug" in outcomes[4].error
    good = [o for o in outcomes.values() if o.track_id not in (2, 4)]
    assert all(o.vector is not None and o.error == "" for o in good)


def test_cancel_stops_early():
    items = [(i, f"/x/slow{i}.mp3") for i in range(40)]
    token = CancelToken()
    seen = []
    for outcome in analyze_paths(items, crash_or_vector, workers=2, cancel=token):
        seen.append(outcome)
        token.cancel()
    assert 1 <= len(seen) < 10


def test_a_crash_is_retried_at_once_in_a_fresh_process(tmp_path):
    flaky = tmp_path / "flaky.ogg"
    items = [(1, str(flaky)), (2, "/x/killed.mp3"), (3, "/x/a.mp3")]
    outcomes = {o.track_id: o for o in analyze_paths(items, crash_or_vector, workers=2)}
    assert outcomes[1].error == "" and outcomes[1].vector is not None  # crashed once only
    assert outcomes[2].vector is None and outcomes[2].error == KILLED_REASON
    assert outcomes[3].vector is not None
    assert is_retried(outcomes[2].error) and is_retried(CRASH_REASON)
    assert not is_retried("not decodable audio: not a recognised audio format, or damaged")


def test_a_file_over_its_time_limit_is_killed_and_the_batch_finishes():
    items = [(1, "/x/hang.mp3"), *((i, f"/x/song{i}.mp3") for i in range(2, 8))]
    started = time.monotonic()
    outcomes = {
        o.track_id: o for o in analyze_paths(items, crash_or_vector, workers=2, time_limit=1.5)
    }
    elapsed = time.monotonic() - started
    assert sorted(outcomes) == list(range(1, 8))
    assert outcomes[1].vector is None and outcomes[1].error.startswith("took too long to analyse")
    assert is_retried(outcomes[1].error)
    assert all(outcomes[i].vector is not None for i in range(2, 8))
    assert elapsed < 30  # two tries of 1.5 s, not an hour


def test_a_worker_that_dies_while_idle_costs_nothing(monkeypatch):
    import engine.analysis.pool as analysis

    real = analysis._Worker.__init__
    first: list[analysis._Worker] = []

    def starting(self, *args, **kwargs):
        real(self, *args, **kwargs)
        if not first:  # the first worker is killed before it is given anything
            first.append(self)
            self.process.kill()
            self.process.join()

    monkeypatch.setattr(analysis._Worker, "__init__", starting)
    items = [(i, f"/x/song{i}.mp3") for i in range(4)]
    outcomes = list(analyze_paths(items, crash_or_vector, workers=2))
    assert sorted(o.track_id for o in outcomes) == [0, 1, 2, 3]
    assert all(o.vector is not None for o in outcomes)
