"""``encore export-m3u``: write a playlist (M3U8) of the library, or of a song and the
ones like it."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from engine.cli.options import positive_int
from engine.cli.output import say, warn_damaged_neural

if TYPE_CHECKING:
    from engine.cli.options import Subcommands
    from engine.library import Library


def add_parser(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("export-m3u", parents=[common], help="write a playlist (M3U8)")
    p.set_defaults(handler=run)
    p.add_argument("output", metavar="OUT.m3u8")
    p.add_argument("--from", dest="start", metavar="TRACK", help="a song and the ones like it")
    p.add_argument("-n", type=positive_int, default=20, help="songs after TRACK (default 20)")
    p.add_argument("--relative", action="store_true", help="paths relative to the playlist")


def run(library: Library, args: argparse.Namespace) -> int:
    """Write the playlist, warning about each song no playlist line can name."""
    from engine.playlist import PlaylistError, write_m3u8

    warn_damaged_neural(library)
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
