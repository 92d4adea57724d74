"""One pipeline for every front end: scan → first pass → model → later passes.

Up next works from the moment the model exists, while the slower second pass still runs;
the command line drives the same pipeline as the window, so ``encore scan`` trains.
"""

import json
import time

import pytest

from engine.library import Library
from engine.pipeline import (
    FIRST_PASS,
    MODEL_READY,
    PASS_DONE,
    SCANNED,
    SECOND_PASS,
    Milestone,
    pipeline,
)
from engine.progress import CancelToken, Progress
from tests.helpers import encore, write_songs

pytestmark = pytest.mark.slow


def test_up_next_works_at_the_model_milestone_before_the_second_pass_ends(tmp_path):
    music = tmp_path / "music"
    for album in range(4):
        for song in write_songs(music / f"Album {album}", 5, seconds=6.0):
            # titles of their own: the radio takes equal titles for the same recording
            song.rename(song.with_name(f"{song.stem} {album}{song.suffix}"))
    library = Library(tmp_path / "home")
    started = time.monotonic()
    seen: list[tuple[str, str, float]] = []
    at_model: dict[str, object] = {}
    steps = pipeline(library, folders=[str(music)], workers=2)
    while True:
        try:
            item = next(steps)
        except StopIteration as stop:
            report = stop.value
            break
        if isinstance(item, Milestone):
            seen.append((item.kind, item.detail, time.monotonic() - started))
            if item.kind == MODEL_READY:
                # what the window does on this milestone: ask for up next at once
                first = library.tracks()[0]
                at_model["recs"] = library.similar([first.id], 5)
                at_model["heard"] = len(library.neural()[0])
        else:
            assert isinstance(item, Progress)
    kinds = [(kind, detail) for kind, detail, _ in seen]
    assert kinds == [
        (SCANNED, ""),
        (PASS_DONE, FIRST_PASS),
        (MODEL_READY, "20 tracks"),
        (PASS_DONE, SECOND_PASS),
    ]
    # five songs while the second pass had embedded none yet
    assert len(at_model["recs"]) == 5 and at_model["heard"] == 0
    model_at, second_done_at = seen[2][2], seen[3][2]
    print(
        f"\nfive in up next {model_at:.1f} s after adding; second pass done {second_done_at:.1f} s"
    )
    assert model_at < second_done_at
    assert report.listen.embedded == 20 and report.card.library_size == 20
    assert len(library.neural()[0]) == 20
    library.close()


def test_a_rescan_of_an_unchanged_library_does_not_train_again(tmp_path):
    music = tmp_path / "music"
    write_songs(music, 6, seconds=4.0)
    library = Library(tmp_path / "home")
    first = list(pipeline(library, folders=[str(music)], workers=1, later_passes_too=False))
    assert any(isinstance(m, Milestone) and m.kind == MODEL_READY for m in first)
    card = library.model_card()
    again = list(pipeline(library, train=None, workers=1, later_passes_too=False))
    assert not any(isinstance(m, Milestone) and m.kind == MODEL_READY for m in again)
    assert library.model_card() == card
    # no model at all (removed): even a plain rescan trains, so up next works
    for path in library.models_path.iterdir():
        path.unlink()
    library.close()
    library = Library(tmp_path / "home")
    third = list(pipeline(library, train=None, workers=1, later_passes_too=False))
    assert any(isinstance(m, Milestone) and m.kind == MODEL_READY for m in third)
    assert library.model_is_current()
    library.close()


def test_a_cancelled_pipeline_keeps_its_work_and_skips_the_rest(tmp_path):
    music = tmp_path / "music"
    write_songs(music, 8, seconds=4.0)
    library = Library(tmp_path / "home")
    token = CancelToken()
    steps = pipeline(library, token, folders=[str(music)], workers=1)
    for item in steps:
        if isinstance(item, Progress) and item.message == "Analysing" and item.done >= 3:
            token.cancel()
            steps.close()
            break
    analysed = library.counts()["analysed"]
    assert 3 <= analysed < 8
    assert library.model_card() is None  # cancelled before training
    library.close()


def test_encore_scan_trains_and_recommend_works_right_after(tmp_path):
    home = tmp_path / "home"
    music = tmp_path / "music"
    write_songs(music, 8, seconds=4.0)
    out = encore(home, "scan", str(music), "--workers", "2").stdout
    lines = out.splitlines()
    order = [
        next(i for i, line in enumerate(lines) if line.startswith(p))
        for p in ("Scan:", "Analysis:", "Model ready: 8 tracks", "Second pass (neural): 8 embedded")
    ]
    assert order == sorted(order), out
    recs = json.loads(
        encore(home, "recommend", str(music / "00 Pulse Techno.ogg"), "--json").stdout
    )
    suggested = [r["path"] for r in recs[0]["recommendations"]]
    assert suggested and str(music / "00 Pulse Techno.ogg") not in suggested

    # --no-train: indexed and analysed, no model
    other = tmp_path / "other"
    untrained = encore(other, "scan", str(music), "--no-train", "--fast-only").stdout
    assert "Model ready" not in untrained
    refused = encore(other, "recommend", str(music / "00 Pulse Techno.ogg"), check=False)
    assert refused.returncode == 1 and "no trained model" in refused.stderr
