"""``encore skips``: the songs skipped early, or ``--reset`` to forget them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from engine.cli.output import print_json, say
from engine.tracks import plural

if TYPE_CHECKING:
    from engine.cli.options import Subcommands
    from engine.library import Library


def add_parser(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("skips", parents=[common], help="songs skipped early, or --reset them")
    p.set_defaults(handler=run)
    p.add_argument("--reset", nargs="?", const="all", metavar="TRACK", help="all, or one track")
    p.add_argument("--json", action="store_true", help="print JSON only")


def run(library: Library, args: argparse.Namespace) -> int:
    """List the skipped songs with their counts, or forget them."""
    if args.reset:
        forgotten = library.reset_skips(None if args.reset == "all" else args.reset)
        say(f"Forgot {plural(forgotten, 'skip record')}.")
        return 0
    skips = library.skips()
    if args.json:
        rows = [{**t.to_json(), "skips": count} for t, count in skips]
        print_json(rows)
        return 0
    if not skips:
        say("No songs skipped early yet.")
    for track, count in skips:
        say(f"{count:4d}×  {track.display()}  [{track.id}]")
    return 0
