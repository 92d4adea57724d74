"""``encore spark-analyze``: analyse a big collection on a Spark cluster."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from engine.cli.output import say

if TYPE_CHECKING:
    from engine.cli.options import Subcommands
    from engine.library import Library


def add_parser(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "spark-analyze", parents=[common], help="analyse a big collection on a Spark cluster"
    )
    p.set_defaults(handler=run)
    p.add_argument(
        "--master",
        default="local[*]",
        metavar="URL",
        help="Spark master: local[N], spark://host:7077, yarn… (default local[*])",
    )
    p.add_argument(
        "--input", required=True, metavar="DIR", help="music folder, same path on every machine"
    )
    p.add_argument("--output", required=True, metavar="DIR", help="for features/ and failures/")


def run(library: Library, args: argparse.Namespace) -> int:
    """Be the Spark job's driver; the library is not touched (import-features fills it)."""
    import importlib

    from engine.library import LibraryError

    # By name: the packaged app cannot drive Spark (executors need a Python with Encore),
    # so its bundler must not follow this import into pyspark.
    job = importlib.import_module("engine.distributed.spark_job")

    def warn(message: str) -> None:
        say(f"encore: warning: {message}", file=sys.stderr)

    try:
        report = job.analyze_on(args.master, args.input, args.output, warn=warn)
    except job.SparkJobError as exc:
        raise LibraryError(str(exc)) from None
    say(f"Spark: {report.summary()}")
    say(f"  add it to a library with: encore import-features {report.output}")
    return 0
