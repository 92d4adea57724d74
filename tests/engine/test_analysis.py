from engine.analysis import CRASH_REASON, analyze_paths
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
