"""``encore import-features``: add a Spark job's output to the library."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from engine.cli.output import say
from engine.cli.progress import ProgressPrinter, drive

if TYPE_CHECKING:
    from engine.cli.options import Subcommands
    from engine.library import Library


def add_parser(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "import-features", parents=[common], help="add a Spark job's output to the library"
    )
    p.set_defaults(handler=run)
    p.add_argument("folder", metavar="DIR", help="the job's --output folder")


def run(library: Library, args: argparse.Namespace) -> int:
    """Import the job's features and failures; say what came in and from which folders."""
    report = drive(library.import_features(args.folder), ProgressPrinter())
    say(f"Import: {report.summary()}")
    for folder in report.folders:
        say(f"  library folder: {folder}")
    return 0
