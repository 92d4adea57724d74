"""``encore <subcommand>``: the headless command line (no Qt is imported here).

One module per command holds its parser and its handler side by side
(:mod:`engine.cli.commands` lists them in ``encore --help`` order); what they share is
in :mod:`~engine.cli.options` (the parsers), :mod:`~engine.cli.output` (printing),
:mod:`~engine.cli.progress` and :mod:`~engine.cli.pipeline` (running batch steps), and
:mod:`~engine.cli.entry` (starting: a command or the window, errors and signals).
"""

from engine.cli.commands import COMMANDS, build_parser
from engine.cli.entry import Terminated, main, wants_cli, window_parser
from engine.cli.options import (
    USAGE,
    WINDOW_HELP,
    UsageError,
    global_options,
    positive_float,
    positive_int,
)
from engine.cli.output import finite, print_json, say, shown
from engine.cli.progress import ProgressPrinter, drive

__all__ = [
    "COMMANDS",
    "USAGE",
    "WINDOW_HELP",
    "ProgressPrinter",
    "Terminated",
    "UsageError",
    "build_parser",
    "drive",
    "finite",
    "global_options",
    "main",
    "positive_float",
    "positive_int",
    "print_json",
    "say",
    "shown",
    "wants_cli",
    "window_parser",
]
