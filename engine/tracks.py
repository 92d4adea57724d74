"""Plain records passed between the scanner, the stores and the front ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: The text tag fields (empty when a file has none; the only ones an import may edit).
TEXT_TAGS: tuple[str, ...] = ("title", "artist", "album", "albumartist", "genre")
#: Every field read from a file's tags and stored per track (the text ones first).
TAG_FIELDS: tuple[str, ...] = (*TEXT_TAGS, "tracknumber", "year", "duration")
#: What every view shows for a track with no artist tag (and no artist in its path).
UNKNOWN_ARTIST = "Unknown artist"


@dataclass(slots=True)
class TrackInfo:
    """What the scanner learns about one file before analysis."""

    path: str
    size: int
    mtime: float
    title: str = ""
    artist: str = ""
    album: str = ""
    albumartist: str = ""
    genre: str = ""
    tracknumber: int | None = None
    year: int | None = None
    duration: float | None = None


@dataclass(slots=True)
class Track(TrackInfo):
    """A track as stored in the library."""

    id: int = 0
    analysed: bool = False
    error: str = ""
    #: What is wrong with a file that could still be analysed ("damaged or incomplete: …").
    note: str = ""
    #: The network's most likely tags ("ambient, chill"): shown, never written to files.
    autotags: str = ""
    #: The network's likeliest genre, for a track whose tags name none.
    guessed_genre: str = ""

    def to_json(self) -> dict[str, Any]:
        """The ``tracks --json`` shape."""
        return {
            "id": self.id,
            "path": self.path,
            "title": self.title,
            "artist": self.artist,
            "album": self.album,
            "genre": self.genre,
            "duration": self.duration,
            "analysed": self.analysed,
        }

    def display(self) -> str:
        """``Artist – Title`` for messages."""
        return f"{self.artist} – {self.title}" if self.artist else self.title

    @property
    def shown_artist(self) -> str:
        """The artist, or :data:`UNKNOWN_ARTIST`: the same words in every view."""
        return self.artist or UNKNOWN_ARTIST


@dataclass(frozen=True, slots=True)
class Failure:
    """A file that could not be read (stage ``scan``) or analysed (stage ``analyze``)."""

    path: str
    stage: str
    reason: str
    size: int = 0
    mtime: float = 0.0


@dataclass(slots=True)
class Recommendation:
    """One suggestion for a query track."""

    track: Track
    distance: float
    reason: str
    families: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        t = self.track
        return {
            "id": t.id,
            "path": t.path,
            "title": t.title,
            "artist": t.artist,
            "album": t.album,
            "distance": round(float(self.distance), 6),
            "reason": self.reason,
        }


def track_from_row(row: dict[str, Any]) -> Track:
    """Build a :class:`Track` from a store row (a mapping of column names)."""
    known = {k: row[k] for k in Track.__dataclass_fields__ if k in row}
    known["analysed"] = bool(known.get("analysed", False))
    known["error"] = known.get("error") or ""
    known["note"] = known.get("note") or ""
    return Track(**known)


def clock(seconds: float | None, *, tenths: bool = False) -> str:
    """A duration as people read it: ``4:05``, ``1:02:03``; ``–:––`` when unknown.

    ``tenths`` shows tenths of a second below ten seconds (``0:00.3``), where whole
    seconds would hide what matters (a file of which 0.3 s decodes).
    """
    if seconds is None or seconds < 0:
        return "–:––"
    if tenths and round(seconds, 1) < 10:
        return f"0:{seconds:04.1f}"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 file``, ``2 files``, ``0 files`` (``words``: an irregular plural)."""
    return f"{count} {word if count == 1 else words or word + 's'}"
