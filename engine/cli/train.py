"""``encore train``: train the similarity model."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from engine.cli.options import UsageError, positive_int
from engine.cli.output import say
from engine.cli.progress import ProgressPrinter, drive
from engine.tracks import plural

if TYPE_CHECKING:
    from engine.cli.options import Subcommands
    from engine.library import Library


def add_parser(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("train", parents=[common], help="train the similarity model")
    p.set_defaults(handler=run)
    p.add_argument(
        "--clusters", type=positive_int, metavar="K", help="clusters (default: from size)"
    )
    p.add_argument(
        "--weights",
        metavar="FAMILY=W,…",
        help="share of the distance per feature family, kept for later trainings "
        "(timbre, spectral, harmony, rhythm, loudness; 'default' restores the defaults)",
    )


def run(library: Library, args: argparse.Namespace) -> int:
    """Keep the ``--weights`` asked for, then train and say on what."""
    if args.weights is not None:
        from engine.similarity.model import parse_weights

        try:
            weights = None if args.weights == "default" else parse_weights(args.weights)
        except ValueError as exc:
            raise UsageError(f"--weights: {exc}") from None
        library.set_family_weights(weights)
    card = drive(library.train(args.clusters), ProgressPrinter())
    if card is None:
        return 130  # cancelled (Ctrl+C is handled before it gets here)
    say(f"Trained on {card.library_size} tracks with k={card.k} clusters.")
    from engine.analysis.pool import DAMAGED_FEATURES_REASON

    damaged = sum(f.reason == DAMAGED_FEATURES_REASON for f in library.failures())
    if damaged:
        say(
            f"encore: warning: left out {plural(damaged, 'track')} whose stored features "
            "were damaged; `encore analyze` analyses them again",
            file=sys.stderr,
        )
    return 0
