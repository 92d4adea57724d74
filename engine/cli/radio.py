"""``encore radio``: show or change the radio rules (what up next may offer)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from engine.cli.options import UsageError
from engine.cli.output import say

if TYPE_CHECKING:
    from engine.cli.options import Subcommands
    from engine.library import Library


def add_parser(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("radio", parents=[common], help="show or change the radio rules")
    p.set_defaults(handler=run)
    p.add_argument("--artist-window", type=int, metavar="N", help="no artist twice in N songs")
    p.add_argument("--repeat-window", type=int, metavar="N", help="no repeat of the last N")
    p.add_argument(
        "--album-back-to-back",
        action=argparse.BooleanOptionalAction,
        help="allow two songs of one album in a row",
    )
    p.add_argument("--min-duration", type=float, metavar="S", help="shortest song (seconds)")
    p.add_argument("--max-duration", type=float, metavar="S", help="longest song (seconds)")
    p.add_argument("--exclude-genre", action="append", metavar="GENRE", help="repeatable")
    p.add_argument(
        "--variety-tolerance",
        type=float,
        metavar="SHARE",
        help="the artist and album rules give way when every song they allow is more than "
        "SHARE farther (default 0.1 = 10%%)",
    )
    p.add_argument(
        "--variety-always", action="store_true", help="the artist and album rules never give way"
    )
    p.add_argument("--reset", action="store_true", help="back to the defaults")


def run(library: Library, args: argparse.Namespace) -> int:
    """Apply the changes asked for (after ``--reset``), keep them, and say every rule."""
    from dataclasses import asdict, replace

    from engine.similarity.radio import RadioRules

    rules = RadioRules() if args.reset else library.radio_rules()
    changes = _changes(args)
    if changes or args.reset:
        rules = replace(rules, **changes)
        library.set_radio_rules(rules)
    for key, value in asdict(rules).items():
        say(f"{key.replace('_', ' ')}: {value}")
    return 0


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    """The :class:`RadioRules` fields the options set, by name."""
    changes: dict[str, Any] = {
        "artist_window": args.artist_window,
        "repeat_window": args.repeat_window,
        "min_duration": args.min_duration,
        "max_duration": args.max_duration,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if args.album_back_to_back is not None:
        changes["no_album_back_to_back"] = not args.album_back_to_back
    if args.exclude_genre is not None:
        changes["excluded_genres"] = tuple(g for g in args.exclude_genre if g)
    if args.variety_tolerance is not None:
        if not args.variety_tolerance >= 0:
            raise UsageError("--variety-tolerance must be 0 or more")
        changes["variety_tolerance"] = args.variety_tolerance
    if args.variety_always:
        changes["variety_tolerance"] = None
    return changes
