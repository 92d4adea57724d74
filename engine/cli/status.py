"""``encore status``: counts, each pass, failures and the model."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from engine.cli.output import print_json, say
from engine.tracks import plural

if TYPE_CHECKING:
    from engine.cli.options import Subcommands
    from engine.library import Library


def add_parser(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("status", parents=[common], help="counts, failures and the model")
    p.set_defaults(handler=run)
    p.add_argument("--json", action="store_true", help="print JSON only")


def run(library: Library, args: argparse.Namespace) -> int:
    """The library's status (``Library.status``) as text or JSON."""
    status = library.status()
    if args.json:
        print_json(status)
        return 0
    say(f"State folder: {status['home']}")
    say(f"Folders: {', '.join(status['folders']) or '(none yet)'}")
    say(
        f"Tracks: {status['tracks']}  analysed: {status['analysed']}  "
        f"pending: {status['pending']}  could not be analysed: {status['analysis_failed']}"
    )
    for each in status["passes"]:
        _say_pass(each)
    say(f"Unreadable files (not in the library): {status['unreadable']}")
    _say_model(status["model"], status["analysed"])
    if status["failures"]:
        _say_failures(status["failures"])
    return 0


def _say_pass(each: dict[str, Any]) -> None:
    """A later pass: off, or its counts and why it cannot run."""
    title = each["title"][:1].upper() + each["title"][1:]
    name = title.replace(")", f", version {each['version']})", 1)
    if not each["on"]:
        say(f"{title}: off (`encore passes --on {each['name']}` turns it on)")
        return
    say(
        f"{name}: {each['embedded']} embedded  pending: {each['pending']}  "
        f"could not be embedded: {each['failed']}"
    )
    if each["problem"]:
        say(f"  cannot run: {each['problem']} (the pending tracks wait for it)")


def _say_model(card: dict[str, Any] | None, analysed: int) -> None:
    """The model's card, and how many tracks were analysed after it was trained."""
    if not card:
        say("Model: none yet (run `encore train`)")
        return
    say(
        f"Model: k={card['k']} trained on {card['library_size']} tracks "
        f"at {card['trained_at']} (feature version {card['feature_version']})"
    )
    newer = analysed - card["library_size"]
    if newer > 0:
        say(
            f"  {plural(newer, 'track')} analysed after training: recommended "
            "already; `encore train` folds them into the clusters"
        )


def _say_failures(failures: list[dict[str, Any]]) -> None:
    """Every failure with its stage and reason, and which stages a retry tries again."""
    say("Failures:")
    for f in failures:
        say(f"  [{f['stage']}] {f['path']}: {f['reason']}")
    retried = sorted({f["stage"] for f in failures} - {"scan", "damaged"})
    if retried:
        stages = " and ".join(f"[{stage}]" for stage in retried)
        say(f"  `encore analyze --retry-failed` tries the {stages} ones again")
