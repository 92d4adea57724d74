"""The library as a player's browser shows it: artists, their albums, and counts.

Built off the GUI thread from the track list (linear time: 100k tracks take well
under a second), so the browser pane only shows prepared rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.tracks import UNKNOWN_ARTIST, Track, plural

#: The album of tracks whose album tag (and folder) says nothing.
UNKNOWN_ALBUM = "Unknown album"
#: Genres named per artist or album: the most common ones.
GENRES_SHOWN = 3


@dataclass(slots=True)
class Album:
    """One album of one artist, with the ids of its tracks in album order."""

    artist: str
    title: str
    track_ids: list[int]
    paths: list[str]  # in album order: where its cover is looked for
    genres: list[str]
    year: int | None = None

    @property
    def key(self) -> str:
        """Stable across launches (cover thumbnails are cached under it)."""
        return f"{self.artist.casefold()}\x00{self.title.casefold()}"

    def summary(self) -> str:
        year = f"{self.year} · " if self.year else ""
        genres = f" · {', '.join(self.genres)}" if self.genres else ""
        return f"{year}{plural(len(self.track_ids), 'song')}{genres}"


@dataclass(slots=True)
class Artist:
    """An artist (the album artist when a file names one) and its albums, A–Z."""

    name: str
    albums: list[Album] = field(default_factory=list)
    genres: list[str] = field(default_factory=list)

    @property
    def track_ids(self) -> list[int]:
        return [i for album in self.albums for i in album.track_ids]

    @property
    def size(self) -> int:
        return sum(len(album.track_ids) for album in self.albums)

    def summary(self) -> str:
        albums = plural(len(self.albums), "album")
        genres = f" · {', '.join(self.genres)}" if self.genres else ""
        return f"{albums} · {plural(self.size, 'song')}{genres}"


def _top(genres: Sequence[str]) -> list[str]:
    """The most common genres, most common first (no Counter for the usual one genre)."""
    distinct = set(genres)
    if len(distinct) <= 1:
        return list(distinct)
    return [name for name, _ in Counter(genres).most_common(GENRES_SHOWN)]


@dataclass(frozen=True, slots=True)
class Collection:
    """Artists A–Z, and where each album is (so a view never searches for one)."""

    artists: list[Artist] = field(default_factory=list)
    #: Album key -> (index of its artist, index among the artist's albums).
    albums: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """How many tracks."""
        return sum(artist.size for artist in self.artists)

    def artist_named(self, name: str) -> int | None:
        """The index of the artist called ``name`` (ignoring case), if there is one."""
        folded = name.casefold()
        return next((i for i, a in enumerate(self.artists) if a.name.casefold() == folded), None)


def build_collection(tracks: Sequence[Track]) -> Collection:
    """Artists A–Z (unknown last), each with its albums A–Z and tracks in disc order.

    Tracks group under their album artist when they have one, so a compilation stays
    one album; names group case-insensitively and show their first spelling.
    """
    groups: dict[str, dict[str, list[Track]]] = {}
    names: dict[str, str] = {}  # casefolded artist or artist+album -> first spelling
    for track in tracks:
        artist = track.albumartist or track.artist or UNKNOWN_ARTIST
        album = track.album or UNKNOWN_ALBUM
        akey, bkey = artist.casefold(), album.casefold()
        albums = groups.get(akey)
        if albums is None:
            albums = groups[akey] = {}
            names[akey] = artist
        members = albums.get(bkey)
        if members is None:
            members = albums[bkey] = []
            names[f"{akey}\x00{bkey}"] = album
        members.append(track)

    artists: list[Artist] = []
    for akey, albums in groups.items():
        artist = Artist(names[akey])
        genres: list[str] = []
        for bkey, members in albums.items():
            if len(members) > 1:
                members.sort(key=lambda t: (t.tracknumber or 0, t.title.casefold(), t.path))
            album_genres = [t.genre for t in members if t.genre]
            genres += album_genres
            years = [t.year for t in members if t.year]
            artist.albums.append(
                Album(
                    artist=artist.name,
                    title=names[f"{akey}\x00{bkey}"],
                    track_ids=[t.id for t in members],
                    paths=[t.path for t in members],
                    genres=_top(album_genres),
                    year=min(years) if years else None,
                )
            )
        artist.albums.sort(key=lambda a: (a.title == UNKNOWN_ALBUM, a.title.casefold()))
        artist.genres = _top(genres)
        artists.append(artist)
    artists.sort(key=lambda a: (a.name == UNKNOWN_ARTIST, a.name.casefold()))
    where = {album.key: (i, j) for i, a in enumerate(artists) for j, album in enumerate(a.albums)}
    return Collection(artists, where)
