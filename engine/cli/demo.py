"""``encore demo``: write a synthetic demo library (no library is opened)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from engine.cli.options import positive_int
from engine.cli.output import say

if TYPE_CHECKING:
    from engine.cli.options import Subcommands


def add_parser(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("demo", parents=[common], help="write a synthetic demo library")
    p.set_defaults(handler=run, needs_library=False)
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--per-style", type=positive_int, default=8, metavar="N")
    p.add_argument("--seconds", type=float, default=30.0, metavar="S")


def run(args: argparse.Namespace) -> int:
    """Write the demo's songs to DIR."""
    from engine.datasets.synth import make_library

    files = make_library(Path(args.folder), per_style=args.per_style, seconds=args.seconds)
    say(f"Wrote {len(files)} tracks to {args.folder}")
    return 0
