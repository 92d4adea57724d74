"""Every command, in the order ``encore --help`` lists them, and the parser they make."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from engine import __version__
from engine.cli import (
    analyze,
    demo,
    evaluate,
    export_m3u,
    find,
    import_features,
    import_fma,
    passes,
    radio,
    recommend,
    scan,
    skips,
    spark_analyze,
    status,
    tracks,
    train,
)
from engine.cli.options import USAGE, WINDOW_HELP, global_options

if TYPE_CHECKING:
    from engine.cli.options import Subcommands

#: How a command module adds its parser (with its handler as the ``handler`` default).
AddParser: TypeAlias = Callable[["Subcommands", argparse.ArgumentParser], None]

#: Each command's ``add_parser``, in the order ``encore --help`` lists them.
PARSERS: tuple[AddParser, ...] = (
    scan.add_parser,
    analyze.add_parser,
    train.add_parser,
    recommend.add_parser,
    find.add_parser,
    export_m3u.add_parser,
    skips.add_parser,
    radio.add_parser,
    evaluate.add_parser,
    tracks.add_parser,
    status.add_parser,
    passes.add_parser,
    demo.add_parser,
    import_fma.add_parser,
    spark_analyze.add_parser,
    import_features.add_parser,
)


def build_parser() -> argparse.ArgumentParser:
    """``encore``'s parser: the global options and every command's own parser."""
    common = global_options()
    parser = argparse.ArgumentParser(
        prog="encore",
        usage=USAGE,
        description="Encore: a music player that knows which of your songs sound alike. "
        + WINDOW_HELP,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"encore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, prog="encore")
    for add_parser in PARSERS:
        add_parser(sub, common)
    return parser


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """``parser``'s subcommands by name."""
    for action in parser._actions:  # argparse offers no public way to list subcommands
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


#: Every subcommand, as the parser knows them.
COMMANDS: tuple[str, ...] = tuple(subcommands(build_parser()))
