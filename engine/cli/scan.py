"""``encore scan``: index folders and analyse new tracks."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from engine.cli.options import UsageError, analysis_options, workers_option
from engine.cli.pipeline import run_pipeline

if TYPE_CHECKING:
    from engine.cli.options import Subcommands
    from engine.library import Library


def add_parser(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("scan", parents=[common], help="index folders and analyse new tracks")
    p.set_defaults(handler=run)
    p.add_argument("folders", nargs="*", metavar="DIR", help="default: the library's folders")
    p.add_argument("--no-analyze", action="store_true", help="only read files and tags")
    workers_option(p)
    analysis_options(p)


def run(library: Library, args: argparse.Namespace) -> int:
    """Scan the folders given, or the library's; analyse and train unless told not to."""
    folders = args.folders or library.folders()
    if not folders:
        raise UsageError("no folders given and the library has none yet: encore scan DIR…")
    train = not args.no_train  # trains when the library changed, as the window does
    return run_pipeline(library, args, folders, scan=True, analyze=not args.no_analyze, train=train)
