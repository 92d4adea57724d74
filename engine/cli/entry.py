"""How ``encore`` starts: a command or the window, and running one command to its exit
code (errors and signals included)."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator, Sequence

from engine.cli.commands import COMMANDS, build_parser
from engine.cli.options import USAGE, WINDOW_HELP, UsageError, global_options
from engine.cli.output import say


def wants_cli(argv: Sequence[str]) -> bool:
    """True when ``argv`` names a subcommand or asks for help or the version.

    Global options are read by the parser the commands use, in every spelling
    (``--home DIR``, ``--home=DIR``, ``--store URI`` …), so none of them is ever
    taken for a path to open in the window.
    """
    probe = argparse.ArgumentParser(add_help=False, parents=[global_options()], exit_on_error=False)
    try:
        _, rest = probe.parse_known_args(list(argv))
    except argparse.ArgumentError:
        return True  # e.g. --home with no value: the command line parser says what is wrong
    if any(arg in ("-h", "--help", "--version") for arg in rest):
        return True
    positional = [arg for arg in rest if not arg.startswith("-")]
    return bool(positional) and positional[0] in COMMANDS


def window_parser() -> argparse.ArgumentParser:
    """The window's command line: global options, ``--self-check`` and PATHs."""
    parser = argparse.ArgumentParser(
        prog="encore", usage=USAGE, description=WINDOW_HELP, parents=[global_options()]
    )
    parser.add_argument(
        "--self-check",
        action="store_true",
        help="play a song, fill up next, report and exit (checks an installation)",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="music files or folders to play")
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: stop like Ctrl+C, keeping finished work."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP (systemd, ``timeout``, logging out) into :class:`Terminated`,
    so every batch step saves what it finished, as it does on Ctrl+C."""

    def stop(signum: int, _frame: object) -> None:
        raise Terminated(signum)

    wanted = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    try:
        previous = {sig: signal.signal(sig, stop) for sig in wanted}
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; return the process exit code (0 ok, 1 failure, 2 usage)."""
    # Paths with undecodable bytes print as \udcXX escapes instead of crashing output.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    from engine.errors import describe
    from engine.library import LibraryError
    from engine.similarity.model import ModelError
    from engine.store import StoreError

    try:
        with _stop_on_signals():
            return _dispatch(args)
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        say(f"encore: error: {exc}", file=sys.stderr)
        return 2
    except (LibraryError, ModelError, StoreError, ValueError) as exc:
        say(f"encore: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        say(f"encore: error: {describe(exc)}", file=sys.stderr)
        return 1
    except Terminated as stop:
        name = signal.Signals(stop.signum).name
        say(file=sys.stderr)  # end the progress line
        say(f"encore: stopped by {name}; finished work was saved", file=sys.stderr)
        return 128 + stop.signum
    except KeyboardInterrupt:
        say(file=sys.stderr)  # end the progress line
        say("encore: interrupted; finished work was saved", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `encore tracks | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _dispatch(args: argparse.Namespace) -> int:
    """Run the command's handler, with the library open unless it needs none."""
    if not getattr(args, "needs_library", True):
        return int(args.handler(args))
    from engine.library import Library

    library = Library(getattr(args, "home", None), store_uri=getattr(args, "store", None))
    try:
        return int(args.handler(library, args))
    finally:
        library.close()
