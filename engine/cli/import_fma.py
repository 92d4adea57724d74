"""``encore import-fma``: tag scanned FMA files from fma_metadata by their track id."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from engine.cli.output import say

if TYPE_CHECKING:
    from engine.cli.options import Subcommands
    from engine.library import Library


def add_parser(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "import-fma", parents=[common], help="tag scanned FMA files from fma_metadata by track id"
    )
    p.set_defaults(handler=run)
    p.add_argument("metadata", metavar="METADATA_DIR", help="the unzipped fma_metadata folder")
    p.add_argument("--features", action="store_true", help="also store features.csv (for evaluate)")


def run(library: Library, args: argparse.Namespace) -> int:
    """Import the metadata (and FMA's features with ``--features``); say what changed."""
    report = library.import_fma(args.metadata, features=args.features)
    say(f"FMA import: {report.summary()}")
    return 0
