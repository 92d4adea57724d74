"""``encore tracks``: list the library."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from engine.cli.output import print_json, say, warn_damaged_neural
from engine.tracks import clock

if TYPE_CHECKING:
    from engine.cli.options import Subcommands
    from engine.library import Library


def add_parser(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("tracks", parents=[common], help="list the library")
    p.set_defaults(handler=run)
    p.add_argument("--json", action="store_true", help="print JSON only")


def run(library: Library, args: argparse.Namespace) -> int:
    """One line per track (id, analysed or failed, length, names), or JSON."""
    tracks = library.tracks()
    warn_damaged_neural(library)
    problem = library.auto_tags_problem()
    if problem:  # the list is still right; only the auto-tags are missing
        say(f"encore: warning: no auto-tags: {problem}", file=sys.stderr)
    if args.json:
        print_json([t.to_json() for t in tracks])
        return 0
    for t in tracks:
        mark = "*" if t.analysed else ("!" if t.error else " ")
        say(f"{t.id:6d} {mark} {clock(t.duration):>6}  {t.display()}  ({t.album})")
    say(f"{len(tracks)} tracks (* analysed, ! failed)", file=sys.stderr)
    return 0
