"""``encore analyze``: analyse the tracks that need it."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from engine.cli.options import analysis_options, workers_option
from engine.cli.pipeline import run_pipeline

if TYPE_CHECKING:
    from engine.cli.options import Subcommands
    from engine.library import Library


def add_parser(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("analyze", parents=[common], help="analyse tracks that need it")
    p.set_defaults(handler=run)
    workers_option(p)
    analysis_options(p)


def run(library: Library, args: argparse.Namespace) -> int:
    """Run every pass on what is pending; train only when there is no usable model."""
    train = False if args.no_train else None  # only when there is no usable model
    return run_pipeline(library, args, None, scan=False, analyze=True, train=train)
