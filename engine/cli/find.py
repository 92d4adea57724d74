"""``encore find``: songs that match a description ("calm piano"), by their auto-tags."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from engine.cli.options import positive_int
from engine.cli.output import print_json, say

if TYPE_CHECKING:
    from engine.cli.options import Subcommands
    from engine.library import Library


def add_parser(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "find", parents=[common], help='songs that match a description ("calm piano")'
    )
    p.set_defaults(handler=run)
    p.add_argument("words", nargs="+", metavar="WORD", help="e.g. calm piano, energetic rock")
    p.add_argument("-n", type=positive_int, default=10, help="how many (default 10)")
    p.add_argument("--json", action="store_true", help="print JSON only")


def run(library: Library, args: argparse.Namespace) -> int:
    """Say how the words were read and the songs that match; fail when none can."""
    text = " ".join(args.words)
    found, wanted = library.describe(text, args.n)
    names = library.tag_names()
    if args.json:
        rows = [{**t.to_json(), "score": round(s, 4), "tags": t.autotags} for t, s in found]
        read = {"read_as": wanted.read_as(names), "unknown": list(wanted.unknown)}
        print_json({**read, "tracks": rows})
    else:
        say(f"Read as: {wanted.read_as(names)}")
        if wanted.unknown:
            say(f"  not in the tag vocabulary: {', '.join(wanted.unknown)}")
        for track, score in found:
            say(f"{track.id:6d}  {score:5.0%}  {track.display()}  ({track.autotags})")
    if not wanted.groups:
        say("encore: error: no word of the description names a tag", file=sys.stderr)
        return 1
    if not found:
        _no_tags_yet(library)
        return 1
    return 0


def _no_tags_yet(library: Library) -> None:
    """Say on stderr why nothing was found: no song has tags yet, and how to get them."""
    problem = library.neural_problem()
    advice = (
        f"it cannot run: {problem}"
        if problem
        # a plain `analyze` runs the pass; only --retry-failed retries its verdicts
        else "`encore analyze` runs it, `encore analyze --retry-failed` also tries the "
        "files it failed on again"
    )
    say(
        f"encore: error: no song has been through the second pass yet; {advice}",
        file=sys.stderr,
    )
