"""``encore passes``: the analysis passes; list them, turn them on or off, let them rank."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from engine.cli.output import print_json, say

if TYPE_CHECKING:
    from engine.cli.options import Subcommands
    from engine.library import Library


def add_parser(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "passes", parents=[common], help="the analysis passes: list them, turn them on or off"
    )
    p.set_defaults(handler=run)
    for flag, text in (
        ("--on", "run this later pass from now on"),
        ("--off", "stop running this later pass (what it stored stays)"),
        ("--rank", "let this pass's embedding join the space up next ranks in"),
        ("--no-rank", "rank without this pass's embedding"),
    ):
        p.add_argument(flag, metavar="NAME", action="append", default=[], help=text)
    p.add_argument("--json", action="store_true", help="print JSON only")


def run(library: Library, args: argparse.Namespace) -> int:
    """Make the changes asked for, then list every pass with its state and counts."""
    for names, change in (
        (args.on, {"on": True}),
        (args.off, {"on": False}),
        (args.rank, {"ranks": True}),
        (args.no_rank, {"ranks": False}),
    ):
        for name in names:
            library.set_pass(name, **change)
    passes = library.pass_status()
    if args.json:
        print_json(passes)
        return 0
    say("features: the hand-made features (always on; the model is trained on them)")
    for each in passes:
        state = ("on" if each["on"] else "off") + (", ranks" if each["ranks"] else "")
        say(
            f"{each['name']}: the {each['title']}, version {each['version']} ({state}): "
            f"{each['embedded']} embedded, {each['pending']} pending, {each['failed']} failed"
        )
    if args.on or args.rank or args.no_rank:
        say("`encore analyze` runs what is pending; up next uses the change at once")
    return 0
