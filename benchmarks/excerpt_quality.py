"""Does analysing excerpts of long tracks cost recommendation quality?

Analyses every audio file under a folder twice, from excerpts (what Encore does) and
whole, and prints leave-one-out precision@5 of both in the model's space, by album
tag and by top-level folder (e.g. one folder per soundtrack).

Run: .venv/bin/python benchmarks/excerpt_quality.py MUSIC_DIR
"""

from __future__ import annotations

import os
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.analysis.features import analyze_file
from engine.analysis.pool import analyze_paths
from engine.ingest.formats import is_audio_name
from engine.ingest.tags import TagError, read_info
from engine.similarity.evaluation import precision_at_k
from engine.similarity.model import SimilarityModel


def main(root: Path) -> None:
    files = sorted(str(p) for p in root.rglob("*") if p.is_file() and is_audio_name(p.name))
    infos = {}
    for path in files:
        try:
            infos[path] = read_info(path, root=str(root))
        except TagError:
            continue
    items = list(enumerate(infos))
    print(f"{len(items)} tracks under {root}")
    labels = {
        "album tag": [infos[p].album for _, p in items],
        "top folder": [Path(p).relative_to(root).parts[0] for _, p in items],
    }
    whole = partial(analyze_file, whole=True)
    for name, fn in (("excerpts", analyze_file), ("whole track", whole)):
        start = time.perf_counter()
        vectors = {o.track_id: o.vector for o in analyze_paths(items, fn) if o.vector is not None}
        seconds = time.perf_counter() - start
        keep = [i for i, _ in items if i in vectors]
        X = np.stack([vectors[i] for i in keep])
        Z = SimilarityModel(1).fit(X).transform(X)
        scores = []
        for label, values in labels.items():
            r = precision_at_k(Z, [values[i] for i in keep], 5)
            scores.append(f"{label} {r['precision']:.1%} (chance {r['chance']:.1%})")
        print(f"{name:12s} {seconds:6.1f} s on {os.cpu_count()} cores   " + "   ".join(scores))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
