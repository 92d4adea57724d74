"""Plain records passed between the scanner, the stores and the front ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Tag fields read from files and stored per track.
TAG_FIELDS: tuple[str, ...] = (
    "title",
    "artist",
    "album",
    "albumartist",
    "genre",
    "tracknumber",
    "year",
    "duration",
)


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
