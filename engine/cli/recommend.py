"""``encore recommend``: the songs most like a track, or like several together."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, TypeAlias

from engine.cli.options import positive_int
from engine.cli.output import print_json, say, warn_damaged_neural

if TYPE_CHECKING:
    from engine.cli.options import Subcommands
    from engine.library import Library
    from engine.tracks import Recommendation, Track

    #: Each list: the tracks it is like, and the songs recommended.
    Results: TypeAlias = list[tuple[list[Track], list[Recommendation]]]


def add_parser(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("recommend", parents=[common], help="the songs most like a track")
    p.set_defaults(handler=run)
    p.add_argument("tracks", nargs="+", metavar="TRACK", help="a file path or a track id")
    p.add_argument("-n", type=positive_int, default=5, help="how many (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.add_argument(
        "--together", action="store_true", help="one list for all TRACKs: more like these"
    )
    p.add_argument(
        "--plain", action="store_true", help="just the nearest songs, without the radio rules"
    )


def run(library: Library, args: argparse.Namespace) -> int:
    """One list per TRACK (or one for all with ``--together``), as text or JSON."""
    warn_damaged_neural(library)
    queries = library.analyze_now(args.tracks)  # a song not analysed yet is, first
    radio = not args.plain
    if args.together:
        results = [(queries, library.similar(queries, args.n, radio=radio))]
    else:
        results = [([q], library.similar(q, args.n, radio=radio)) for q in queries]
    if args.json:
        print_json(_as_json(results, together=args.together))
        return 0
    for seeds, recs in results:
        say("Like " + " + ".join(f"{q.display()}  [{q.path}]" for q in seeds))
        for i, r in enumerate(recs, 1):
            album = f"  ({r.track.album})" if r.track.album else ""
            say(f"  {i}. {r.track.display()}{album}  distance {r.distance:.2f}: {r.reason}")
    return 0


def _as_json(results: Results, *, together: bool) -> list[dict[str, Any]]:
    """``--json``: each query (a list of them ``together``) with its recommendations."""
    out = []
    for seeds, recs in results:
        query = [{"id": q.id, "path": q.path, "title": q.title, "artist": q.artist} for q in seeds]
        out.append(
            {
                "query": query if together else query[0],
                "recommendations": [r.to_json() for r in recs],
            }
        )
    return out
