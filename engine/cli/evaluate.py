"""``encore evaluate``: leave-one-out precision@k by a label (genre, artist…)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from engine.cli.options import positive_int
from engine.cli.output import print_json, say

if TYPE_CHECKING:
    from engine.cli.options import Subcommands
    from engine.library import Library


def add_parser(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("evaluate", parents=[common], help="leave-one-out precision@k")
    p.set_defaults(handler=run)
    p.add_argument("--label", choices=("genre", "artist", "album", "folder"), default="genre")
    p.add_argument("-k", type=positive_int, default=5, help="neighbours per query (default 5)")
    p.add_argument(
        "--features",
        choices=("encore", "hand", "neural", "fma"),
        default="encore",
        help="encore: the space the library ranks in, both passes (default); hand: the "
        "hand-made features alone; neural: the musicnn embedding alone; fma: FMA's own "
        "features, standardised, of the tracks given them by import-fma",
    )
    p.add_argument(
        "--radio",
        action="store_true",
        help="score what up next offers, with the radio rules as shipped (like `recommend`)",
    )
    p.add_argument("--json", action="store_true", help="print JSON only")


def run(library: Library, args: argparse.Namespace) -> int:
    """Evaluate in the space ``--features`` names; print the result as text or JSON."""
    if args.features == "fma":
        result = library.evaluate_fma(args.label, args.k)
    else:
        family = "both" if args.features == "encore" else args.features
        result = library.evaluate(args.label, args.k, family=family, radio=args.radio)
    if args.json:
        print_json(result)
    else:
        _say_result(result, args)
    return 0


def _say_result(result: dict[str, Any], args: argparse.Namespace) -> None:
    """The precision overall (with chance and the majority class, when known), then per
    label; or why there is none."""
    if result["precision"] is None:
        say(f"Not enough tracks with a {args.label} label to evaluate ({result['n']}).")
        return
    what = "up next with the radio rules" if args.radio else args.features
    chance = (
        f"  (chance {result['chance']:.1%}, majority class {result['majority']:.1%})"
        if "chance" in result
        else ""
    )
    say(
        f"precision@{result['k']} by {args.label} over {result['n']} tracks ({what}): "
        f"{result['precision']:.1%}{chance}"
    )
    for label, value in result["per_label"].items():
        say(f"  {value:6.1%}  {label}")
