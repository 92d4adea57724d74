"""The second analysis pass: musicnn embeddings and tags, resumable, cancellable, versioned."""

import os

import numpy as np
import pytest

from engine.library import Library, run
from engine.neural.embedding import NEURAL_FEATURES, NEURAL_VERSION, VECTOR_SIZE, split
from engine.progress import CancelToken
from tests.helpers import encore, write_songs


@pytest.fixture
def analysed(tmp_path):
    songs = write_songs(tmp_path / "music", 6, seconds=5.0)
    library = Library(tmp_path / "home")
    run(library.scan([str(tmp_path / "music")]))
    run(library.analyze(workers=1))
    yield library, songs
    library.close()


def test_the_second_pass_embeds_every_analysed_track_and_keeps_its_tags(analysed) -> None:
    library, _ = analysed
    assert library.neural_counts() == {
        "version": NEURAL_VERSION,
        "embedded": 0,
        "pending": 6,
        "failed": 0,
    }
    report = run(library.listen(workers=1))
    assert (report.embedded, report.failed) == (6, 0)
    ids, vectors = library.neural()
    assert len(ids) == 6 and vectors.shape == (6, VECTOR_SIZE)
    embeddings, tags = split(vectors)
    assert np.all((tags >= 0) & (tags <= 1)) and np.isfinite(embeddings).all()
    # different styles sound different to the network too
    assert np.linalg.norm(embeddings[0] - embeddings[1]) > 1e-3
    assert library.neural_counts()["pending"] == 0
    assert run(library.listen(workers=1)).embedded == 0  # nothing left to do
    # a new version is stored under a new name: everything is pending for it
    assert NEURAL_FEATURES.endswith(str(NEURAL_VERSION))
    assert len(library._store.missing_external(f"musicnn-{NEURAL_VERSION + 1}")) == 6


def test_a_cancelled_pass_keeps_what_it_finished_and_the_next_does_the_rest(analysed) -> None:
    library, _ = analysed
    token = CancelToken()
    steps = library.listen(token, workers=1)
    for progress in steps:
        if progress.done >= 2:
            token.cancel()
    first = library.neural_counts()["embedded"]
    assert 2 <= first < 6
    report = run(library.listen(workers=1))
    assert report.embedded == 6 - first
    assert library.neural_counts()["embedded"] == 6


def test_a_file_the_network_cannot_take_is_not_retried_and_a_changed_one_is(analysed) -> None:
    library, songs = analysed
    songs[1].unlink()  # gone between the passes: it cannot be decoded any more
    report = run(library.listen(workers=1))
    assert (report.embedded, report.failed) == (5, 1)
    assert library.neural_counts() == {
        "version": NEURAL_VERSION,
        "embedded": 5,
        "pending": 0,
        "failed": 1,
    }
    assert len(library.neural()[0]) == 5  # the failed one is never used
    assert run(library.listen(workers=1)).failed == 0  # nor tried on every scan

    changed = songs[0]
    write_songs(changed.parent.parent / "elsewhere", 2, seconds=5.0)[1].replace(changed)
    os.utime(changed, (1e9, 1e9))
    run(library.scan())
    run(library.analyze(workers=1))
    assert [p for _, p in library._store.missing_external(NEURAL_FEATURES)] == [str(changed)]
    assert run(library.listen(workers=1)).embedded == 1


def test_the_cli_runs_both_passes_and_status_shows_them(tmp_path) -> None:
    write_songs(tmp_path / "music", 3, seconds=4.0)
    home = tmp_path / "home"
    fast = encore(home, "scan", str(tmp_path / "music"), "--fast-only").stdout
    assert "Second pass" not in fast
    status = encore(home, "status").stdout
    assert "Second pass (neural, version 2): 0 embedded  pending: 3" in status
    again = encore(home, "analyze").stdout
    assert "Second pass (neural): 3 embedded, 0 failed" in again
    assert "3 embedded  pending: 0  could not be embedded: 0" in encore(home, "status").stdout
