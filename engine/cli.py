"""``encore <subcommand>``: the headless command line (no Qt is imported here)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any, TextIO, TypeVar

from engine import __version__

T = TypeVar("T")
COMMANDS = ("scan", "analyze", "train", "recommend", "evaluate", "tracks", "status", "demo")


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

    def update(self, done: int, total: int, message: str, current: str = "") -> None:
        now = time.monotonic()
        started = self._started.setdefault(message, now)
        if self.tty:
            if now - self._last < 0.1 and done != total:
                return
            columns = shutil.get_terminal_size((80, 24)).columns - 1
            if total:
                eta = ""
                if 0 < done < total and now - started > 2:
                    eta = f" ~{_clock((now - started) / done * (total - done))} left"
                head = f"{message} {done}/{total}{eta} "
                bar_width = max(0, min(30, columns - len(head) - 2))
                filled = bar_width * done // total
                line = f"{head}[{'#' * filled}{'.' * (bar_width - filled)}]" if bar_width else head
            else:
                line = message
            if current and len(line) + 3 < columns:
                name = os.path.basename(current)
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


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def drive(steps: Generator[Any, None, T], printer: ProgressPrinter) -> T:
    """Run a batch generator, drawing its progress; return its report."""
    try:
        while True:
            p = next(steps)
            printer.update(p.done, p.total, p.message, p.current)
    except StopIteration as stop:
        return stop.value
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


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--home",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="state folder (default: $ENCORE_HOME or the user data folder)",
    )
    parser = argparse.ArgumentParser(
        prog="encore",
        description="Encore: a music player that knows which of your songs sound alike.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"encore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("scan", parents=[common], help="index folders and analyse new tracks")
    p.add_argument("folders", nargs="*", metavar="DIR", help="default: the library's folders")
    p.add_argument("--no-analyze", action="store_true", help="only read files and tags")
    p.add_argument(
        "--workers", type=positive_int, metavar="N", help="analysis processes (default: cores)"
    )
    p.add_argument(
        "--whole-tracks",
        action="store_true",
        help="analyse every sample, not excerpts of long tracks (3x slower, for comparison)",
    )

    p = sub.add_parser("analyze", parents=[common], help="analyse tracks that need it")
    p.add_argument(
        "--workers", type=positive_int, metavar="N", help="analysis processes (default: cores)"
    )
    p.add_argument(
        "--whole-tracks",
        action="store_true",
        help="analyse every sample, not excerpts of long tracks (3x slower, for comparison)",
    )

    p = sub.add_parser("train", parents=[common], help="train the similarity model")
    p.add_argument(
        "--clusters", type=positive_int, metavar="K", help="clusters (default: from size)"
    )

    p = sub.add_parser("recommend", parents=[common], help="the songs most like a track")
    p.add_argument("tracks", nargs="+", metavar="TRACK", help="a file path or a track id")
    p.add_argument("-n", type=positive_int, default=5, help="how many (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON only")

    p = sub.add_parser("evaluate", parents=[common], help="leave-one-out precision@k")
    p.add_argument("--label", choices=("genre", "artist", "album", "folder"), default="genre")
    p.add_argument("-k", type=positive_int, default=5, help="neighbours per query (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON only")

    p = sub.add_parser("tracks", parents=[common], help="list the library")
    p.add_argument("--json", action="store_true", help="print JSON only")

    p = sub.add_parser("status", parents=[common], help="counts, failures and the model")
    p.add_argument("--json", action="store_true", help="print JSON only")

    p = sub.add_parser("demo", parents=[common], help="write a synthetic demo library")
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--per-style", type=positive_int, default=8, metavar="N")
    p.add_argument("--seconds", type=float, default=30.0, metavar="S")
    return parser


class UsageError(Exception):
    pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; return the process exit code (0 ok, 1 failure, 2 usage)."""
    # Paths with undecodable bytes print as \udcXX escapes instead of crashing output.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    from engine.library import LibraryError
    from engine.model import ModelError
    from engine.store import StoreError

    try:
        return _dispatch(args)
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"encore: error: {exc}", file=sys.stderr)
        return 2
    except (LibraryError, ModelError, StoreError, ValueError) as exc:
        print(f"encore: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nencore: interrupted; finished work was saved", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `encore tracks | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "demo":
        return _demo(args)
    from engine.library import Library

    library = Library(getattr(args, "home", None))
    try:
        handler = globals()[f"_cmd_{args.command}"]
        return int(handler(library, args))
    finally:
        library.close()


def _cmd_scan(library: Any, args: argparse.Namespace) -> int:
    folders = args.folders or library.folders()
    if not folders:
        raise UsageError("no folders given and the library has none yet: encore scan DIR…")
    printer = ProgressPrinter()
    report = drive(library.scan(folders), printer)
    for folder in report.missing_folders:
        print(f"encore: warning: folder not found: {folder}", file=sys.stderr)
    for problem in report.problems:
        print(f"encore: warning: cannot read folder {problem}", file=sys.stderr)
    if report.missing_folders and len(report.missing_folders) == len(folders):
        return 1
    print(f"Scan: {report.summary()}")
    if not args.no_analyze:
        _cmd_analyze(library, args, printer)
    return 0


def _cmd_analyze(library: Any, args: argparse.Namespace, printer: Any = None) -> int:
    started = time.monotonic()
    report = drive(
        library.analyze(workers=args.workers, whole=args.whole_tracks), printer or ProgressPrinter()
    )
    seconds = time.monotonic() - started
    rate = f" in {seconds:.1f} s" if report.analysed else ""
    print(f"Analysis: {report.summary()}{rate}")
    if report.failed:
        print("  see `encore status` for the reasons")
    return 0


def _cmd_train(library: Any, args: argparse.Namespace) -> int:
    card = drive(library.train(args.clusters), ProgressPrinter())
    print(f"Trained on {card['library_size']} tracks with k={card['k']} clusters.")
    return 0


def _cmd_recommend(library: Any, args: argparse.Namespace) -> int:
    queries = [library.resolve(t) for t in args.tracks]
    results = [(q, library.similar(q, args.n)) for q in queries]
    if args.json:
        out = [
            {
                "query": {"id": q.id, "path": q.path, "title": q.title, "artist": q.artist},
                "recommendations": [r.to_json() for r in recs],
            }
            for q, recs in results
        ]
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    for q, recs in results:
        print(f"Like {q.display()}  [{q.path}]")
        for i, r in enumerate(recs, 1):
            album = f"  ({r.track.album})" if r.track.album else ""
            print(f"  {i}. {r.track.display()}{album}  distance {r.distance:.2f}: {r.reason}")
    return 0


def _cmd_evaluate(library: Any, args: argparse.Namespace) -> int:
    result = library.evaluate(args.label, args.k)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    if result["precision"] is None:
        print(f"Not enough tracks with a {args.label} label to evaluate ({result['n']}).")
        return 0
    print(
        f"precision@{result['k']} by {args.label} over {result['n']} tracks: "
        f"{result['precision']:.1%}  (chance {result['chance']:.1%}, "
        f"majority class {result['majority']:.1%})"
    )
    for label, value in result["per_label"].items():
        print(f"  {value:6.1%}  {label}")
    return 0


def _duration(seconds: float | None) -> str:
    if not seconds:
        return "--:--"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def _cmd_tracks(library: Any, args: argparse.Namespace) -> int:
    tracks = library.tracks()
    if args.json:
        print(json.dumps([t.to_json() for t in tracks], indent=2, ensure_ascii=False))
        return 0
    for t in tracks:
        mark = "*" if t.analysed else ("!" if t.error else " ")
        print(f"{t.id:6d} {mark} {_duration(t.duration):>6}  {t.display()}  ({t.album})")
    print(f"{len(tracks)} tracks (* analysed, ! failed)", file=sys.stderr)
    return 0


def _cmd_status(library: Any, args: argparse.Namespace) -> int:
    status = library.status()
    if args.json:
        print(json.dumps(status, indent=2, ensure_ascii=False))
        return 0
    print(f"State folder: {status['home']}")
    print(f"Folders: {', '.join(status['folders']) or '(none yet)'}")
    print(
        f"Tracks: {status['tracks']}  analysed: {status['analysed']}  "
        f"pending: {status['pending']}  could not be analysed: {status['analysis_failed']}"
    )
    print(f"Unreadable files (not in the library): {status['unreadable']}")
    card = status["model"]
    if card:
        print(
            f"Model: k={card.get('k')} trained on {card.get('library_size')} tracks "
            f"at {card.get('trained_at')} (feature version {card.get('feature_version')})"
        )
        newer = status["analysed"] - int(card.get("library_size", 0))
        if newer > 0:
            print(
                f"  {newer} track(s) were analysed after training: they are recommended "
                "already; `encore train` folds them into the clusters"
            )
    else:
        print("Model: none yet (run `encore train`)")
    if status["failures"]:
        print("Failures:")
        for f in status["failures"]:
            print(f"  [{f['stage']}] {f['path']}: {f['reason']}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from engine.synth import make_library

    files = make_library(Path(args.folder), per_style=args.per_style, seconds=args.seconds)
    print(f"Wrote {len(files)} tracks to {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
