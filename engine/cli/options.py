"""What the parsers share: the usage text, the global options, argument types and the
analysis options of ``scan`` and ``analyze``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    #: What ``ArgumentParser.add_subparsers`` returns: each command adds its parser to it.
    Subcommands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

#: How ``encore`` is used, for both the window and the commands.
USAGE = """encore [--home DIR] [--store URI] [PATH ...]
       encore [--home DIR] [--store URI] COMMAND [options]"""
WINDOW_HELP = (
    "Without a COMMAND, encore opens the window; given PATHs (music files or folders), "
    "it adds them to the library and plays the first file, or a folder's first song."
)


class UsageError(Exception):
    """The command line asks for something impossible: usage, message, exit code 2."""


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def global_options() -> argparse.ArgumentParser:
    """The options every way of running ``encore`` takes, before or after a COMMAND."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--home",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="state folder (default: $ENCORE_HOME or the user data folder)",
    )
    common.add_argument(
        "--store",
        metavar="URI",
        default=argparse.SUPPRESS,
        help="a shared mongodb:// library (default: $ENCORE_STORE, else the SQLite "
        "library in the state folder)",
    )
    return common


def workers_option(p: argparse.ArgumentParser) -> None:
    """``--workers N``: how many analysis processes (``scan``, ``analyze``)."""
    p.add_argument(
        "--workers", type=positive_int, metavar="N", help="analysis processes (default: cores)"
    )


def analysis_options(p: argparse.ArgumentParser) -> None:
    """The options of a run that analyses (``scan``, ``analyze``), after ``--workers``."""
    p.add_argument(
        "--whole-tracks",
        action="store_true",
        help="analyse every sample, not excerpts of long tracks (3x slower, for comparison)",
    )
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="try every file that could not be analysed again (crashes and time-outs are "
        "always tried again)",
    )
    p.add_argument(
        "--time-limit",
        type=positive_float,
        metavar="S",
        help="seconds a file may take before it is given up, kept for later runs (default 60)",
    )
    p.add_argument(
        "--no-train",
        action="store_true",
        help="do not train the similarity model (by default `scan` trains when the library "
        "changed, `analyze` when there is no usable model, so that recommend works)",
    )
    p.add_argument(
        "--fast-only",
        action="store_true",
        help="skip the second pass (the neural embedding and tags); a later run does it",
    )
