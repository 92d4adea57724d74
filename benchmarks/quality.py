"""Recommendation quality side by side: Encore vs bliss-audio vs the FMA recipe.

Leave-one-out precision@5 (the share of each track's five nearest with its label) on
the same files, each analyser's vectors standardised and compared by Euclidean
distance; Encore in its own model space (standardised, family-weighted). Prints chance
and majority-class rates beside them.

Run: .venv/bin/python benchmarks/quality.py [--music DIR] [--skip-fma]

Without --music: the labelled synthetic library of ``encore demo`` (5 styles x 8 tracks
of 30 s; label: genre). With --music: every file under DIR, labelled by album tag,
top-level folder and genre tag.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from engine.ingest.formats import is_audio_name  # noqa: E402
from engine.ingest.tags import TagError, read_info  # noqa: E402
from engine.similarity.evaluation import precision_at_k  # noqa: E402
from engine.similarity.model import SimilarityModel  # noqa: E402


def bliss_vector(path: str) -> np.ndarray | None:
    import bliss_audio

    try:
        return np.asarray(bliss_audio.Song(path).analysis, dtype=np.float32)
    except BaseException:  # bliss panics (a Rust PanicException) on some Ogg files
        return None


def encore_vector(path: str) -> np.ndarray:
    from engine.analysis.features import analyze_file

    return analyze_file(path)


def fma_vector(path: str) -> np.ndarray:
    from fma_recipe import fma_features

    return np.asarray(fma_features(path), dtype=np.float32)


def _limit_threads() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def vectors(
    fn: Callable[[str], np.ndarray | None], files: list[str]
) -> tuple[list[np.ndarray | None], float]:
    """One vector per file (None where the analyser failed), and the wall time."""
    start = time.perf_counter()
    workers = os.cpu_count() or 1
    with ProcessPoolExecutor(workers, initializer=_limit_threads) as pool:
        out = list(pool.map(fn, files, chunksize=2))
    return out, time.perf_counter() - start


def standardised(X: np.ndarray) -> np.ndarray:
    return (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1.0)


def labelled_files(music: Path | None) -> tuple[list[str], dict[str, list[str]]]:
    if music is None:
        from engine.datasets.synth import make_library

        music = Path.home() / ".cache" / "encore" / "quality-demo"
        if not music.exists():
            make_library(music, per_style=8, seconds=30.0)
    files = sorted(str(p) for p in music.rglob("*") if p.is_file() and is_audio_name(p.name))
    infos = {}
    for f in files:
        try:
            infos[f] = read_info(f, root=str(music))
        except TagError:
            continue
    files = list(infos)
    labels = {"genre": [infos[f].genre for f in files]}
    if any(infos[f].album for f in files) and music.name != "quality-demo":
        labels["album"] = [infos[f].album for f in files]
        labels["top folder"] = [Path(f).relative_to(music).parts[0] for f in files]
    return files, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--music", type=Path, help="a labelled music folder")
    parser.add_argument("--skip-fma", action="store_true", help="skip the slow FMA recipe")
    args = parser.parse_args()
    files, labels = labelled_files(args.music)
    print(f"{len(files)} files; labels: {', '.join(labels)}", flush=True)
    analysers = [("Encore", encore_vector), ("bliss-audio", bliss_vector)]
    if not args.skip_fma:
        analysers.append(("FMA recipe (518)", fma_vector))
    results = {}
    for name, fn in analysers:
        results[name] = vectors(fn, files)
        failed = sum(v is None for v in results[name][0])
        print(f"  {name}: {results[name][1]:.1f} s, {failed} file(s) failed", flush=True)
    # Compare on the files every analyser could read.
    keep = [i for i in range(len(files)) if all(r[0][i] is not None for r in results.values())]
    print(f"compared on {len(keep)} of {len(files)} files")
    labels = {label: [values[i] for i in keep] for label, values in labels.items()}
    rows = []
    for name, (found, seconds) in results.items():
        X = np.nan_to_num(np.stack([found[i] for i in keep]))
        # Encore in the space it ranks in (standardised, family-weighted)
        Z = SimilarityModel(1).fit(X).transform(X) if name == "Encore" else standardised(X)
        scores = {label: precision_at_k(Z, values, 5) for label, values in labels.items()}
        rows.append((name, X.shape[1], seconds, scores))
    print("\n| analyser | dims | " + " | ".join(f"p@5 {label}" for label in labels) + " |")
    print("|---|---|" + "---|" * len(labels))
    for name, dims, _, scores in rows:
        cells = " | ".join(f"{scores[label]['precision']:.1%}" for label in labels)
        print(f"| {name} | {dims} | {cells} |")
    any_scores = rows[0][3]
    chance = " | ".join(f"{any_scores[label]['chance']:.1%}" for label in labels)
    majority = " | ".join(f"{any_scores[label]['majority']:.1%}" for label in labels)
    print(f"| chance | | {chance} |\n| majority class | | {majority} |")


if __name__ == "__main__":
    main()
