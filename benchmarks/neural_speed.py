"""Speed of the analysis passes beside bliss-audio, one core, on real files.

    python benchmarks/neural_speed.py --music DIR [--limit 12] [--end-to-end]

Seconds per 4-minute track on one core (this process pinned to one CPU), all in one run:

- the floors: decoding the excerpts alone (once, at the file's own rate), and each
  network alone on inputs already made;
- the first pass alone, the second pass alone (each decoding for itself, as before one
  decode), and both passes from one decode as Encore runs them;
- the third pass (MTT) on top, when it is on;
- bliss-audio (``bliss_audio.Song(path).analysis``), and the ratio of the two.

``--end-to-end`` also times ``encore scan DIR --workers 1`` (scan, both passes, training)
against bliss-audio over the same files in a fresh process each. Needs ``bliss-audio``
(``pip install --group bench``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.analysis.decode import duration, read_excerpts_native
from engine.analysis.features import analyze_track
from engine.analysis.feed import EXCERPT_SECONDS, EXCERPTS
from engine.neural import embedding
from engine.neural.musicnn import MTT_STEM, STEM
from engine.passes.worker import Job, analyse_file

BLISS = "import sys, bliss_audio\nfor f in sys.argv[1:]: bliss_audio.Song(f).analysis\n"


def per_four_minutes(
    variants: dict[str, Callable[[str], object]], files: list[str], rounds: int = 3
) -> dict[str, float]:
    """Seconds each variant takes per 4 minutes of audio over ``files``: interleaved file
    by file (so a machine that slows down slows every variant alike), after a warm-up, the
    best of ``rounds`` per file and variant."""
    for fn in variants.values():
        fn(files[0])
    best = {name: [float("inf")] * len(files) for name in variants}
    for _ in range(rounds):
        for i, f in enumerate(files):
            for name, fn in variants.items():
                start = time.perf_counter()
                fn(f)
                best[name][i] = min(best[name][i], time.perf_counter() - start)
    minutes = sum(duration(f) or 0.0 for f in files) / 60
    return {name: sum(times) / minutes * 4 for name, times in best.items()}


def patches_of(path: str) -> np.ndarray:
    """The second pass's input for ``path`` (decoded as analysis decodes it)."""
    from engine.analysis.feed import feed

    sink = embedding.PatchAccumulator()
    feed(path, [(16_000, sink)])
    return sink.finish()


def end_to_end(files: list[str]) -> tuple[float, float]:
    """Wall seconds of ``encore scan`` (one worker) and of bliss-audio over ``files``."""
    with tempfile.TemporaryDirectory() as tmp:
        music = Path(tmp) / "music"
        music.mkdir()
        for i, f in enumerate(files):
            (music / f"{i:03d}{Path(f).suffix}").symlink_to(f)
        command = [sys.executable, "-m", "engine", "--home", f"{tmp}/home", "scan", str(music)]
        start = time.perf_counter()
        subprocess.run([*command, "--workers", "1"], check=True, capture_output=True)
        encore = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", BLISS, *files], check=True, capture_output=True)
        return encore, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--music", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=12)
    parser.add_argument("--end-to-end", action="store_true")
    args = parser.parse_args()
    files = sorted(str(p) for p in args.music.rglob("*") if p.suffix in {".ogg", ".mp3", ".flac"})
    files = files[:: max(1, len(files) // args.limit)][: args.limit]
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # as in the analysis workers: one BLAS thread
    import bliss_audio

    msd, mtt = embedding.load_network(None, STEM), embedding.load_network(None, MTT_STEM)
    inputs = {f: patches_of(f) for f in files}
    both = Job(compute=("features", "musicnn"))
    three = Job(compute=("features", "musicnn", "musicnn-mtt"))
    rows = per_four_minutes(
        {
            "decode the excerpts (one decode)": lambda f: read_excerpts_native(
                f, count=EXCERPTS, seconds=EXCERPT_SECONDS
            ),
            "MSD network alone": lambda f: embedding.embed_patches(msd, inputs[f]),
            "MTT network alone": lambda f: embedding.embed_patches(mtt, inputs[f]),
            "first pass alone (its own decode)": analyze_track,
            "second pass alone (its own decode)": embedding.embed_track,
            "both passes, one decode (as Encore runs)": lambda f: analyse_file(f, both),
            "three passes, one decode (MTT on)": lambda f: analyse_file(f, three),
            "bliss-audio": lambda f: bliss_audio.Song(f).analysis,
        },
        files,
    )
    minutes = sum(duration(f) or 0.0 for f in files) / 60
    print(f"{len(files)} files, {minutes:.1f} min of audio; seconds per 4-minute track, one core")
    for name, seconds in rows.items():
        print(f"  {name:<44} {seconds:.3f}")
    bliss = rows["bliss-audio"]
    separate = rows["first pass alone (its own decode)"]
    separate += rows["second pass alone (its own decode)"]
    together = rows["both passes, one decode (as Encore runs)"]
    three = rows["three passes, one decode (MTT on)"]
    print(f"  two decodes (first + second alone)           {separate:.3f}")
    print(f"  bliss-audio / both passes (one decode)       {bliss / together:.2f}x  (goal 1.3x)")
    print(f"  bliss-audio / three passes                   {bliss / three:.2f}x")
    print(f"  saved by one decode                          {separate - together:.3f}")
    floor = rows["decode the excerpts (one decode)"] + rows["MSD network alone"]
    print(f"  floor (decode + MSD network), both passes    {floor:.3f}")
    if args.end_to_end:
        encore, peer = end_to_end(files)
        print(
            f"  end to end: encore scan --workers 1 {encore:.1f} s, bliss-audio {peer:.1f} s, "
            f"bliss / encore {peer / encore:.2f}x"
        )


if __name__ == "__main__":
    main()
