"""End to end through the API: scan → analyse → train → similar, on generated music."""

import os
import shutil
from collections import Counter

import numpy as np
import pytest
import soundfile as sf

from engine.analysis.features import FEATURE_VERSION
from engine.datasets.synth import render, write_audio, write_tags
from engine.library import Library, LibraryError, run
from tests.helpers import PER_STYLE, style_of

pytestmark = pytest.mark.slow


def test_recommendations_are_five_distinct_existing_tracks_never_the_query(trained):
    tracks = trained.tracks()
    assert len(tracks) == 5 * PER_STYLE and all(t.analysed for t in tracks)
    ids = {t.id for t in tracks}
    same_style = 0
    for query in tracks:
        recs = trained.similar(query, 5, radio=False)
        got = [r.track.id for r in recs]
        assert len(got) == 5 == len(set(got))
        assert query.id not in got and set(got) <= ids
        assert all(os.path.exists(r.track.path) for r in recs)
        distances = [r.distance for r in recs]
        assert distances == sorted(distances) and distances[0] > 0
        assert all(r.reason for r in recs)
        same_style += sum(style_of(r.track.path) == style_of(query.path) for r in recs)
    share = same_style / (5 * len(tracks))
    assert share >= 0.9, f"only {share:.0%} of recommendations share the query's style"


def test_results_equal_exact_search_over_the_whole_library(trained):
    index = trained.index()
    for query in trained.tracks()[::7]:
        recs = trained.similar(query.id, 5, radio=False)
        _ref_ids, ref_d = index.exact(index.vector(query.id), 5, exclude=[query.id])
        np.testing.assert_allclose([r.distance for r in recs], ref_d, rtol=1e-5)


def test_queries_by_path_and_by_id_and_unknown_tracks(trained, tmp_path):
    first = trained.tracks()[0]
    by_path = [r.track.id for r in trained.similar(first.path)]
    assert by_path == [r.track.id for r in trained.similar(str(first.id))]
    with pytest.raises(LibraryError, match="no track with id"):
        trained.similar(999_999)
    outside = tmp_path / "elsewhere.wav"
    sf.write(outside, np.zeros(100), 22050)
    with pytest.raises(LibraryError, match="not in the library"):
        trained.similar(str(outside))
    with pytest.raises(LibraryError, match="no such file"):
        trained.similar(str(tmp_path / "nope.mp3"))


def test_evaluate_beats_chance_by_far(trained):
    result = trained.evaluate("genre", 5)
    assert result["n"] == 5 * PER_STYLE and result["label"] == "genre"
    assert result["precision"] >= 0.9
    assert result["chance"] < 0.2 and result["majority"] == 0.2
    assert set(result["per_label"]) == {style_of(t.path) for t in trained.tracks()}


def test_status_reports_counts_and_the_model_card(trained):
    status = trained.status()
    assert status["tracks"] == status["analysed"] == 5 * PER_STYLE
    assert status["pending"] == 0 and status["failed"] == 0 and status["failures"] == []
    card = status["model"]
    assert card["feature_version"] == FEATURE_VERSION and card["library_size"] == 5 * PER_STYLE
    for key in ("k", "packages", "sha256", "trained_at"):
        assert card[key]


@pytest.fixture
def small_library(tmp_path, music_dir):
    """A private copy of two styles, so tests can add, change and delete files."""
    folder = tmp_path / "music"
    for style in ("Pulse Techno", "Ambient Pads"):
        shutil.copytree(music_dir / style, folder / style)
    library = Library(tmp_path / "home")
    yield library, folder
    library.close()


def test_incremental_rescan_adds_changes_and_removes(small_library):
    library, folder = small_library
    first = run(library.scan([str(folder)]))
    assert (first.added, first.updated, first.removed) == (2 * PER_STYLE, 0, 0)
    run(library.analyze())
    assert library._store.pending_analysis() == []

    again = run(library.scan())  # no folders: rescans the remembered ones
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 16)

    victim, changed = sorted((folder / "Pulse Techno").iterdir())[:2]
    victim.unlink()
    write_audio(changed, render("Ambient Pads", 99, seconds=3), 22050)
    write_tags(changed, {"title": "Changed", "genre": "Ambient Pads"})
    new = folder / "Pulse Techno" / "zz new.wav"
    write_audio(new, render("Pulse Techno", 77, seconds=3), 22050)

    report = run(library.scan())
    assert (report.added, report.updated, report.removed) == (1, 1, 1)
    paths = {t.path for t in library.tracks()}
    assert str(victim) not in paths and str(new) in paths
    pending = {p for _, p in library._store.pending_analysis()}
    assert pending == {str(changed), str(new)}
    assert library._store.track_by_path(str(changed)).title == "Changed"


def test_bad_files_are_recorded_and_everything_else_is_kept(small_library):
    library, folder = small_library
    run(library.scan([str(folder)]))
    run(library.analyze())
    run(library.train())
    good = len(library.tracks())

    bad = folder / "bad"
    bad.mkdir()
    (bad / "empty.mp3").write_bytes(b"")
    (bad / "notes.ogg").write_text("just some text\n" * 40)
    (bad / "noise.flac").write_bytes(np.random.default_rng(0).bytes(30_000))
    source = next((folder / "Pulse Techno").glob("*.mp3"))
    (bad / "truncated.mp3").write_bytes(source.read_bytes()[:1500])
    vanishing = bad / "vanishes.wav"
    write_audio(vanishing, render("Bell Minimal", 3, seconds=2), 22050)

    report = run(library.scan())
    assert report.failed >= 3
    vanishing.unlink()  # removed between scan and analysis
    run(library.analyze())

    reasons = {os.path.basename(f.path): f.reason for f in library.failures()}
    assert reasons["empty.mp3"] == "empty file (0 bytes)"
    assert "notes.ogg" in reasons and "noise.flac" in reasons
    assert "not found" in reasons["vanishes.wav"]
    if "truncated.mp3" in reasons:  # mutagen may index it; then decoding fails or is partial
        assert reasons["truncated.mp3"]
    assert all(reasons.values())

    status = library.status()
    assert status["failed"] == len(reasons)
    assert sum(t.analysed for t in library.tracks()) >= good
    assert len(library.similar(library.tracks()[0], 5)) == 5

    # failures are not retried until the file changes
    again = run(library.scan())
    assert again.failed == 0
    (bad / "notes.ogg").write_text("still not music\n" * 41)
    assert run(library.scan()).failed == 1


def test_missing_or_empty_folders_lose_nothing(small_library, tmp_path):
    library, folder = small_library
    run(library.scan([str(folder)]))
    before = len(library.tracks())
    moved = tmp_path / "unplugged"
    folder.rename(moved)
    report = run(library.scan())
    assert report.missing_folders == [str(folder)]
    assert len(library.tracks()) == before  # an unplugged drive is not a deleted library
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(library.scan([str(empty)])).added == 0


def test_a_track_analysed_after_training_still_gets_recommendations(small_library):
    library, folder = small_library
    run(library.scan([str(folder)]))
    run(library.analyze())
    run(library.train())
    late = folder / "Ambient Pads" / "late.flac"
    write_audio(late, render("Ambient Pads", 1234, seconds=6), 22050)
    run(library.scan())
    # not analysed yet: a query only reads, analysing it is a step of its own
    with pytest.raises(LibraryError, match="not analysed yet"):
        library.similar(str(late), 5)
    (track,) = library.analyze_now([str(late)])
    assert track.analysed and library.track_by_path(str(late)).analysed
    recs = library.similar(str(late), 5)
    styles = Counter(style_of(r.track.path) for r in recs)
    assert styles["Ambient Pads"] >= 4


def test_train_needs_analysed_tracks(tmp_path):
    library = Library(tmp_path / "h")
    with pytest.raises(LibraryError, match="at least 2"):
        run(library.train())
    with pytest.raises(LibraryError, match="no trained model"):
        library.index()


def test_file_names_that_are_not_utf8_are_indexed_like_any_other(tmp_path, music_dir):
    folder = tmp_path / "music"
    folder.mkdir()
    source = tmp_path / "untagged.wav"
    sf.write(source, render("Bell Minimal", 5, seconds=3), 22050)
    odd = os.fsdecode(os.fsencode(str(folder)) + b"/latin1_\xe9t\xe9.wav")
    shutil.copy(source, odd)
    shutil.copy(source, folder / "plain.wav")
    library = Library(tmp_path / "home")
    report = run(library.scan([str(folder)]))
    assert (report.added, report.failed) == (2, 0)
    track = library._store.track_by_path(odd)
    assert track is not None and track.path == odd and track.title == "latin1 \ufffdt\ufffd"
    run(library.analyze())
    assert library._store.track_by_path(odd).analysed
    os.remove(odd)
    assert run(library.scan()).removed == 1
    library.close()
