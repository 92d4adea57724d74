"""``encore <subcommand>``: the headless command line (no Qt is imported here)."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from engine import __version__
from engine.progress import Progress, run
from engine.tracks import clock, plural

if TYPE_CHECKING:
    from engine.library import Library

T = TypeVar("T")
#: How ``encore`` is used, for both the window and the commands.
USAGE = """encore [--home DIR] [--store URI] [PATH ...]
       encore [--home DIR] [--store URI] COMMAND [options]"""
WINDOW_HELP = (
    "Without a COMMAND, encore opens the window; given PATHs (music files or folders), "
    "it adds them to the library and plays the first file, or a folder's first song."
)


#: What a terminal acts on rather than shows: every C0 control (tab and line feed too:
#: a line break of a tag's own would forge an output line), DEL and the C1 controls
#: (0x9b is CSI by itself). Tags, file names and decoders' messages may hold any of them.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


def shown(text: object) -> str:
    """``text`` as it may reach a terminal: control characters as visible escapes
    (ESC as ``\\x1b``), so a crafted tag can neither clear the screen, retitle the
    terminal, write the clipboard (OSC 52) nor overwrite or forge a line."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def finite(value: Any) -> Any:
    """``value`` with every float that is not a finite number (NaN, ±inf) made None,
    through dicts, lists and tuples: JSON has no such numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def print_json(value: Any) -> None:
    """Print ``value`` as JSON (``--json``): never a bare ``NaN`` or ``Infinity``, which
    is not JSON and breaks the tools that parse it (``allow_nan=False`` proves it)."""
    print(json.dumps(finite(value), indent=2, ensure_ascii=False, allow_nan=False))


def say(line: object = "", *, file: TextIO | None = None) -> None:
    """Print one human-readable line: the only way the commands print, ``--json`` aside
    (JSON escapes control characters itself and must stay byte for byte)."""
    print(shown(line), file=file or sys.stdout)


class ProgressPrinter:
    """A one-line progress bar with an ETA on stderr; sparse plain lines when not a terminal."""

    #: Steps shorter than this are not worth log lines when stderr is not a terminal.
    MIN_LOGGED_TOTAL = 20

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._last = 0.0
        self._step = -1
        self._width = 0
        self._started: dict[str, float] = {}

    def show(self, progress: Progress) -> None:
        """Draw one step's progress (the batch steps' :class:`Progress`)."""
        done, total, message, current = (
            progress.done,
            progress.total,
            shown(progress.message),  # may name a file
            progress.current,
        )
        now = time.monotonic()
        started = self._started.setdefault(message, now)
        if self.tty:
            if now - self._last < 0.1 and done != total:
                return
            columns = shutil.get_terminal_size((80, 24)).columns - 1
            if total:
                eta = ""
                if 0 < done < total and now - started > 2:
                    eta = f" ~{clock((now - started) / done * (total - done))} left"
                head = f"{message} {done}/{total}{eta} "
                bar_width = max(0, min(30, columns - len(head) - 2))
                filled = bar_width * done // total
                line = f"{head}[{'#' * filled}{'.' * (bar_width - filled)}]" if bar_width else head
            else:
                line = message
            if current and len(line) + 3 < columns:
                name = shown(os.path.basename(current))
                line += " " + name[: columns - len(line) - 1]
            line = line[:columns]
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
            self.stream.flush()
        elif total >= self.MIN_LOGGED_TOTAL:
            step = 10 * done // total
            if step != self._step:  # one line per tenth, so logs stay short
                self._step = step
                self.stream.write(f"{message}: {done}/{total}\n")
        self._last = now

    def close(self) -> None:
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
        self._width = 0
        self._step = -1


def drive(steps: Generator[Progress, None, T], printer: ProgressPrinter) -> T:
    """Run a batch step with ``printer`` drawing its progress; return its report."""
    try:
        return run(steps, printer.show)  # type: ignore[return-value] - never cancelled
    finally:
        printer.close()


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
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


def build_parser() -> argparse.ArgumentParser:
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

    p = sub.add_parser("scan", parents=[common], help="index folders and analyse new tracks")
    p.set_defaults(handler=_cmd_scan)
    p.add_argument("folders", nargs="*", metavar="DIR", help="default: the library's folders")
    p.add_argument("--no-analyze", action="store_true", help="only read files and tags")
    p.add_argument(
        "--workers", type=positive_int, metavar="N", help="analysis processes (default: cores)"
    )
    _analysis_options(p)

    p = sub.add_parser("analyze", parents=[common], help="analyse tracks that need it")
    p.set_defaults(handler=_cmd_analyze)
    p.add_argument(
        "--workers", type=positive_int, metavar="N", help="analysis processes (default: cores)"
    )
    _analysis_options(p)

    p = sub.add_parser("train", parents=[common], help="train the similarity model")
    p.set_defaults(handler=_cmd_train)
    p.add_argument(
        "--clusters", type=positive_int, metavar="K", help="clusters (default: from size)"
    )
    p.add_argument(
        "--weights",
        metavar="FAMILY=W,…",
        help="share of the distance per feature family, kept for later trainings "
        "(timbre, spectral, harmony, rhythm, loudness; 'default' restores the defaults)",
    )

    p = sub.add_parser("recommend", parents=[common], help="the songs most like a track")
    p.set_defaults(handler=_cmd_recommend)
    p.add_argument("tracks", nargs="+", metavar="TRACK", help="a file path or a track id")
    p.add_argument("-n", type=positive_int, default=5, help="how many (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.add_argument(
        "--together", action="store_true", help="one list for all TRACKs: more like these"
    )
    p.add_argument(
        "--plain", action="store_true", help="just the nearest songs, without the radio rules"
    )

    p = sub.add_parser(
        "find", parents=[common], help='songs that match a description ("calm piano")'
    )
    p.set_defaults(handler=_cmd_find)
    p.add_argument("words", nargs="+", metavar="WORD", help="e.g. calm piano, energetic rock")
    p.add_argument("-n", type=positive_int, default=10, help="how many (default 10)")
    p.add_argument("--json", action="store_true", help="print JSON only")

    p = sub.add_parser("export-m3u", parents=[common], help="write a playlist (M3U8)")
    p.set_defaults(handler=_cmd_export_m3u)
    p.add_argument("output", metavar="OUT.m3u8")
    p.add_argument("--from", dest="start", metavar="TRACK", help="a song and the ones like it")
    p.add_argument("-n", type=positive_int, default=20, help="songs after TRACK (default 20)")
    p.add_argument("--relative", action="store_true", help="paths relative to the playlist")

    p = sub.add_parser("skips", parents=[common], help="songs skipped early, or --reset them")
    p.set_defaults(handler=_cmd_skips)
    p.add_argument("--reset", nargs="?", const="all", metavar="TRACK", help="all, or one track")
    p.add_argument("--json", action="store_true", help="print JSON only")

    p = sub.add_parser("radio", parents=[common], help="show or change the radio rules")
    p.set_defaults(handler=_cmd_radio)
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

    p = sub.add_parser("evaluate", parents=[common], help="leave-one-out precision@k")
    p.set_defaults(handler=_cmd_evaluate)
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

    p = sub.add_parser("tracks", parents=[common], help="list the library")
    p.set_defaults(handler=_cmd_tracks)
    p.add_argument("--json", action="store_true", help="print JSON only")

    p = sub.add_parser("status", parents=[common], help="counts, failures and the model")
    p.set_defaults(handler=_cmd_status)
    p.add_argument("--json", action="store_true", help="print JSON only")

    p = sub.add_parser(
        "passes", parents=[common], help="the analysis passes: list them, turn them on or off"
    )
    p.set_defaults(handler=_cmd_passes)
    for flag, text in (
        ("--on", "run this later pass from now on"),
        ("--off", "stop running this later pass (what it stored stays)"),
        ("--rank", "let this pass's embedding join the space up next ranks in"),
        ("--no-rank", "rank without this pass's embedding"),
    ):
        p.add_argument(flag, metavar="NAME", action="append", default=[], help=text)
    p.add_argument("--json", action="store_true", help="print JSON only")

    p = sub.add_parser("demo", parents=[common], help="write a synthetic demo library")
    p.set_defaults(handler=_demo, needs_library=False)
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--per-style", type=positive_int, default=8, metavar="N")
    p.add_argument("--seconds", type=float, default=30.0, metavar="S")

    p = sub.add_parser(
        "import-fma", parents=[common], help="tag scanned FMA files from fma_metadata by track id"
    )
    p.set_defaults(handler=_cmd_import_fma)
    p.add_argument("metadata", metavar="METADATA_DIR", help="the unzipped fma_metadata folder")
    p.add_argument("--features", action="store_true", help="also store features.csv (for evaluate)")

    p = sub.add_parser(
        "spark-analyze", parents=[common], help="analyse a big collection on a Spark cluster"
    )
    p.set_defaults(handler=_cmd_spark_analyze)
    p.add_argument(
        "--master",
        default="local[*]",
        metavar="URL",
        help="Spark master: local[N], spark://host:7077, yarn… (default local[*])",
    )
    p.add_argument(
        "--input", required=True, metavar="DIR", help="music folder, same path on every machine"
    )
    p.add_argument("--output", required=True, metavar="DIR", help="for features/ and failures/")

    p = sub.add_parser(
        "import-features", parents=[common], help="add a Spark job's output to the library"
    )
    p.set_defaults(handler=_cmd_import_features)
    p.add_argument("folder", metavar="DIR", help="the job's --output folder")
    return parser


def _analysis_options(p: argparse.ArgumentParser) -> None:
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


def positive_float(text: str) -> float:
    """argparse type: a number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse offers no public way to list subcommands
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


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


class UsageError(Exception):
    pass


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
    if not getattr(args, "needs_library", True):
        return int(args.handler(args))
    from engine.library import Library

    library = Library(getattr(args, "home", None), store_uri=getattr(args, "store", None))
    try:
        return int(args.handler(library, args))
    finally:
        library.close()


def _cmd_scan(library: Library, args: argparse.Namespace) -> int:
    folders = args.folders or library.folders()
    if not folders:
        raise UsageError("no folders given and the library has none yet: encore scan DIR…")
    train = not args.no_train  # trains when the library changed, as the window does
    return _run_pipeline(
        library, args, folders, scan=True, analyze=not args.no_analyze, train=train
    )


def _cmd_analyze(library: Library, args: argparse.Namespace) -> int:
    train = False if args.no_train else None  # only when there is no usable model
    return _run_pipeline(library, args, None, scan=False, analyze=True, train=train)


def _run_pipeline(
    library: Library,
    args: argparse.Namespace,
    folders: Sequence[str] | None,
    *,
    scan: bool,
    analyze: bool,
    train: bool | None,
) -> int:
    """Drive the engine's pipeline (as the window does), saying what each step did."""
    from engine.pipeline import FIRST_PASS, MODEL_READY, PASS_DONE, SCANNED, Milestone, pipeline

    if getattr(args, "time_limit", None) is not None:
        library.set_time_limit(args.time_limit)
    printer = ProgressPrinter()
    started = time.monotonic()
    failed = False

    def step(item: object) -> None:
        nonlocal started, failed
        if not isinstance(item, Milestone):
            printer.show(item)  # type: ignore[arg-type] - the pipeline yields Progress
            return
        printer.close()
        seconds = time.monotonic() - started
        started = time.monotonic()
        report: Any = item.report
        if item.kind == SCANNED:
            for folder in report.missing_folders:
                say(f"encore: warning: folder not found: {folder}", file=sys.stderr)
            for problem in report.problems:
                say(f"encore: warning: {problem}", file=sys.stderr)
            if len(report.missing_folders) + len(report.not_music) == len(folders or ()):
                failed = True  # none of them: the pipeline stops here
            else:
                say(f"Scan: {report.summary()}")
        elif item.kind == PASS_DONE and item.detail == FIRST_PASS:
            rate = f" in {seconds:.1f} s" if report.done else ""
            say(f"Analysis: {report.summary()}{rate}")
            if report.failed or report.damaged:
                say("  see `encore status` for the reasons")
            if report.failed and not report.done:
                say("encore: error: no file could be analysed", file=sys.stderr)
                failed = True
        elif item.kind == MODEL_READY:
            say(f"Model ready: {report.library_size} tracks, k={report.k} (recommend works now)")
        elif item.kind == PASS_DONE:
            # passes that ran in one sweep end together: the time is the first one's
            rate = f" in {seconds:.1f} s" if report.done and seconds >= 0.1 else ""
            say(f"{report.title[:1].upper()}{report.title[1:]}: {report.summary()}{rate}")

    steps = pipeline(
        library,
        folders=folders,
        scan=scan,
        analyze=analyze,
        train=train,
        later_passes_too=not getattr(args, "fast_only", False),
        retry_failed=getattr(args, "retry_failed", False),
        workers=getattr(args, "workers", None),
        whole=getattr(args, "whole_tracks", False),
    )
    try:
        result = run(steps, step)
    finally:
        printer.close()
    for note in result.notes if result is not None else ():
        say(note)
    if result is not None and result.later_pass_problem:  # the rest stands; status says why
        say(f"encore: error: {result.later_pass_problem}", file=sys.stderr)
        failed = True
    return 1 if failed else 0


def _cmd_train(library: Library, args: argparse.Namespace) -> int:
    if args.weights is not None:
        from engine.similarity.model import parse_weights

        try:
            weights = None if args.weights == "default" else parse_weights(args.weights)
        except ValueError as exc:
            raise UsageError(f"--weights: {exc}") from None
        library.set_family_weights(weights)
    card = drive(library.train(args.clusters), ProgressPrinter())
    if card is None:
        return 130  # cancelled (Ctrl+C is handled before it gets here)
    say(f"Trained on {card.library_size} tracks with k={card.k} clusters.")
    from engine.analysis.pool import DAMAGED_FEATURES_REASON

    damaged = sum(f.reason == DAMAGED_FEATURES_REASON for f in library.failures())
    if damaged:
        say(
            f"encore: warning: left out {plural(damaged, 'track')} whose stored features "
            "were damaged; `encore analyze` analyses them again",
            file=sys.stderr,
        )
    return 0


def _warn_damaged_neural(library: Library) -> None:
    """Say on stderr when stored neural vectors were left out as not usable (reads skip
    them; the next second pass records and redoes them)."""
    damaged = library.damaged_neural()
    if damaged:
        say(
            "encore: warning: left out the stored neural vectors of "
            f"{plural(len(damaged), 'track')} (a wrong length, NaN or infinite values); "
            "`encore analyze` embeds them again",
            file=sys.stderr,
        )


def _cmd_recommend(library: Library, args: argparse.Namespace) -> int:
    _warn_damaged_neural(library)
    queries = library.analyze_now(args.tracks)  # a song not analysed yet is, first
    radio = not args.plain
    if args.together:
        results = [(queries, library.similar(queries, args.n, radio=radio))]
    else:
        results = [([q], library.similar(q, args.n, radio=radio)) for q in queries]
    if args.json:
        out = []
        for seeds, recs in results:
            query = [
                {"id": q.id, "path": q.path, "title": q.title, "artist": q.artist} for q in seeds
            ]
            out.append(
                {
                    "query": query if args.together else query[0],
                    "recommendations": [r.to_json() for r in recs],
                }
            )
        print_json(out)
        return 0
    for seeds, recs in results:
        say("Like " + " + ".join(f"{q.display()}  [{q.path}]" for q in seeds))
        for i, r in enumerate(recs, 1):
            album = f"  ({r.track.album})" if r.track.album else ""
            say(f"  {i}. {r.track.display()}{album}  distance {r.distance:.2f}: {r.reason}")
    return 0


def _cmd_export_m3u(library: Library, args: argparse.Namespace) -> int:
    from engine.playlist import PlaylistError, write_m3u8

    _warn_damaged_neural(library)
    if args.start:
        (start,) = library.analyze_now([args.start])
        tracks = [start, *(r.track for r in library.similar(start, args.n))]
    else:
        tracks = library.tracks()
    try:
        skipped = write_m3u8(args.output, tracks, relative=args.relative)
    except PlaylistError as exc:
        raise ValueError(str(exc)) from None
    for path in skipped:
        say(
            f"encore: warning: left out {path!r}: no playlist line can hold its name",
            file=sys.stderr,
        )
    say(f"Wrote {len(tracks) - len(skipped)} songs to {args.output}")
    return 0


def _cmd_skips(library: Library, args: argparse.Namespace) -> int:
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


def _cmd_radio(library: Library, args: argparse.Namespace) -> int:
    from dataclasses import asdict, replace

    from engine.similarity.radio import RadioRules

    rules = RadioRules() if args.reset else library.radio_rules()
    changes = {
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
    if changes or args.reset:
        rules = replace(rules, **changes)
        library.set_radio_rules(rules)
    for key, value in asdict(rules).items():
        say(f"{key.replace('_', ' ')}: {value}")
    return 0


def _cmd_evaluate(library: Library, args: argparse.Namespace) -> int:
    if args.features == "fma":
        result = library.evaluate_fma(args.label, args.k)
    else:
        family = "both" if args.features == "encore" else args.features
        result = library.evaluate(args.label, args.k, family=family, radio=args.radio)
    if args.json:
        print_json(result)
        return 0
    if result["precision"] is None:
        say(f"Not enough tracks with a {args.label} label to evaluate ({result['n']}).")
        return 0
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
    return 0


def _cmd_import_fma(library: Library, args: argparse.Namespace) -> int:

    report = library.import_fma(args.metadata, features=args.features)
    say(f"FMA import: {report.summary()}")
    return 0


def _cmd_spark_analyze(library: Library, args: argparse.Namespace) -> int:
    """Be the Spark job's driver; the library is not touched (import-features fills it)."""
    import importlib

    from engine.library import LibraryError

    # By name: the packaged app cannot drive Spark (executors need a Python with Encore),
    # so its bundler must not follow this import into pyspark.
    job = importlib.import_module("engine.distributed.spark_job")

    def warn(message: str) -> None:
        say(f"encore: warning: {message}", file=sys.stderr)

    try:
        report = job.analyze_on(args.master, args.input, args.output, warn=warn)
    except job.SparkJobError as exc:
        raise LibraryError(str(exc)) from None
    say(f"Spark: {report.summary()}")
    say(f"  add it to a library with: encore import-features {report.output}")
    return 0


def _cmd_import_features(library: Library, args: argparse.Namespace) -> int:
    report = drive(library.import_features(args.folder), ProgressPrinter())
    say(f"Import: {report.summary()}")
    for folder in report.folders:
        say(f"  library folder: {folder}")
    return 0


def _cmd_tracks(library: Library, args: argparse.Namespace) -> int:
    tracks = library.tracks()
    _warn_damaged_neural(library)
    problem = library.auto_tags_problem()
    if problem:  # the list is still right; only the auto-tags are missing
        say(f"encore: warning: no auto-tags: {problem}", file=sys.stderr)
    if args.json:
        print_json([t.to_json() for t in tracks])
        return 0
    for t in tracks:
        mark = "*" if t.analysed else ("!" if t.error else " ")
        say(f"{t.id:6d} {mark} {clock(t.duration):>6}  {t.display()}  ({t.album})")
    say(f"{len(tracks)} tracks (* analysed, ! failed)", file=sys.stderr)
    return 0


def _cmd_find(library: Library, args: argparse.Namespace) -> int:
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
        return 1
    return 0


def _cmd_status(library: Library, args: argparse.Namespace) -> int:
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
        title = each["title"][:1].upper() + each["title"][1:]
        name = title.replace(")", f", version {each['version']})", 1)
        if not each["on"]:
            say(f"{title}: off (`encore passes --on {each['name']}` turns it on)")
            continue
        say(
            f"{name}: {each['embedded']} embedded  pending: {each['pending']}  "
            f"could not be embedded: {each['failed']}"
        )
        if each["problem"]:
            say(f"  cannot run: {each['problem']} (the pending tracks wait for it)")
    say(f"Unreadable files (not in the library): {status['unreadable']}")
    card = status["model"]
    if card:
        say(
            f"Model: k={card['k']} trained on {card['library_size']} tracks "
            f"at {card['trained_at']} (feature version {card['feature_version']})"
        )
        newer = status["analysed"] - card["library_size"]
        if newer > 0:
            say(
                f"  {plural(newer, 'track')} analysed after training: recommended "
                "already; `encore train` folds them into the clusters"
            )
    else:
        say("Model: none yet (run `encore train`)")
    if status["failures"]:
        say("Failures:")
        for f in status["failures"]:
            say(f"  [{f['stage']}] {f['path']}: {f['reason']}")
        retried = sorted({f["stage"] for f in status["failures"]} - {"scan", "damaged"})
        if retried:
            stages = " and ".join(f"[{stage}]" for stage in retried)
            say(f"  `encore analyze --retry-failed` tries the {stages} ones again")
    return 0


def _cmd_passes(library: Library, args: argparse.Namespace) -> int:
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


def _demo(args: argparse.Namespace) -> int:
    from engine.datasets.synth import make_library

    files = make_library(Path(args.folder), per_style=args.per_style, seconds=args.seconds)
    say(f"Wrote {len(files)} tracks to {args.folder}")
    return 0


#: Every subcommand, as the parser knows them.
COMMANDS: tuple[str, ...] = tuple(_subcommands(build_parser()))

if __name__ == "__main__":
    sys.exit(main())
