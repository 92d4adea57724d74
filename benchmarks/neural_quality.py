"""Precision@5 of the hand-made features, the musicnn embedding, and their combinations.

Run on a library whose tracks went through both passes (``encore scan DIR``) and whose
labels are the folders the files sit in (one folder per source or composer)::

    python benchmarks/neural_quality.py --home HOME [--label folder|genre|artist]

Each track queries the others (leave-one-out); precision@5 is the share of its five
nearest with the same label. Prints one row per space, so the combination the library
ships (engine.similarity.combined) can be chosen by measurement.
"""

from __future__ import annotations

import argparse

import numpy as np

from engine.analysis.features import N_FEATURES
from engine.library import Library
from engine.neural.embedding import split
from engine.similarity.combined import NEURAL_SHARE, neural_space, typical_distance
from engine.similarity.evaluation import label_of, precision_at_k


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--label", default="folder")
    parser.add_argument("-k", type=int, default=5)
    args = parser.parse_args()
    library = Library(args.home)
    index = library.index()  # the hand-made features in the model's space
    hand_ids = index.ids
    ids, vectors = library.neural()
    common = np.intersect1d(hand_ids, ids)
    row = {int(t): i for i, t in enumerate(hand_ids)}
    nrow = {int(t): i for i, t in enumerate(ids)}
    shipped = np.stack([index.vectors[row[int(t)]] for t in common])
    H = shipped[:, :N_FEATURES]
    E = split(np.stack([vectors[nrow[int(t)]] for t in common]))[0]
    tracks = library.tracks_by_ids(common.tolist())
    labels = [label_of(tracks[int(t)], args.label) for t in common]

    def score(name: str, Z: np.ndarray) -> None:
        result = precision_at_k(Z, labels, args.k)
        print(f"{name:<44} {result['precision']:.3f}")

    n_labels = len(set(labels))
    print(f"{len(common)} tracks, {n_labels} labels ({args.label}); precision@{args.k}")
    first = precision_at_k(H, labels, args.k)
    print(f"{'chance / majority':<44} {first['chance']:.3f} / {first['majority']:.3f}")
    score("hand-made features (today's model space)", H)
    Ez = (E - E.mean(0)) / np.where(E.std(0) > 1e-6, E.std(0), 1.0)
    score("musicnn embedding, raw", E)
    score("musicnn embedding, z-scored", Ez)
    score("musicnn embedding, z-scored, cosine", Ez / np.linalg.norm(Ez, axis=1, keepdims=True))
    N = neural_space(E)
    score("musicnn embedding, as shipped (neural_space)", N)
    h, n = typical_distance(H), typical_distance(N)
    for share in (0.25, 0.4, 0.5, 0.6, 0.75):
        # share = the neural family's part of a typical distance
        Z = np.hstack([H / h * np.sqrt(1 - share), N / n * np.sqrt(share)])
        score(f"combined, neural share {share:.2f}", Z)
    score(f"as the library ranks today (share {NEURAL_SHARE})", shipped)
    library.close()


if __name__ == "__main__":
    main()
