"""The FMA dataset (Free Music Archive): attach ``fma_metadata`` to a scanned library.

FMA audio files are named by their zero-padded track id (``fma_large/000/000002.mp3``
is track 2). ``fma_metadata/tracks.csv`` gives each id its title, artist, album and
genre, and ``features.csv`` a 518-number feature row computed by the dataset's authors,
which ``encore evaluate --features fma`` compares with Encore's own features.

The CSV layouts are those of https://github.com/mdeff/fma (read as its ``utils.py``
does): ``tracks.csv`` has two header rows (``track``/``title``, ``artist``/``name``, …)
and ``features.csv`` three (``feature``/``statistics``/``number``); both then have a
``track_id,,,…`` line, which pandas takes as the index name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.similarity.evaluation import label_of, precision_at_k
from engine.store.base import Store

#: The name FMA's feature rows are stored under in the store's external features.
FEATURES_NAME = "fma"

#: Encore tag -> the tracks.csv column (two header levels) that holds it.
TAG_COLUMNS: dict[str, tuple[str, str]] = {
    "title": ("track", "title"),
    "artist": ("artist", "name"),
    "album": ("album", "title"),
    "genre": ("track", "genre_top"),
}
#: Genre ids such as "[21, 76]", for tracks without a top-level genre.
GENRE_IDS_COLUMN = ("track", "genres")
FEATURE_LEVELS = ["feature", "statistics", "number"]

# Exactly six digits, as FMA names its files: a looser rule would also take the "01.mp3"
# of an ordinary album for FMA track 1.
_FMA_NAME = re.compile(r"[0-9]{6}")
# Features are parsed in blocks so the full 106,574 x 518 file never sits in float64.
_FEATURE_CHUNK = 10_000


class FmaError(ValueError):
    """``fma_metadata`` is missing or not in the expected layout; the message is for the user."""


@dataclass(slots=True)
class FmaReport:
    """What :func:`import_metadata` matched and changed."""

    matched: int = 0
    unmatched: int = 0
    tags_updated: int = 0
    features_imported: int = 0

    def summary(self) -> str:
        return (
            f"{self.matched} FMA tracks matched by id, {self.unmatched} other files, "
            f"{self.tags_updated} retagged, {self.features_imported} feature rows imported"
        )


def track_id_from_path(path: str | os.PathLike[str]) -> int | None:
    """The FMA track id a file name encodes (``000/000002.mp3`` -> 2), else ``None``."""
    stem = Path(path).stem
    return int(stem) if _FMA_NAME.fullmatch(stem) else None


def _csv(metadata_dir: str | os.PathLike[str], name: str) -> Path:
    folder = Path(metadata_dir)
    if not folder.is_dir():
        raise FmaError(f"FMA metadata folder not found: {folder}")
    path = folder / name
    if not path.is_file():
        raise FmaError(
            f"no {name} in {folder}: give the unzipped fma_metadata folder "
            "(tracks.csv, genres.csv, features.csv)"
        )
    return path


def _read_csv(path: Path, layout: str, **options: Any) -> Any:
    """``pd.read_csv`` with its errors as :class:`FmaError` naming the expected ``layout``."""
    try:
        return pd.read_csv(path, **options)
    except (ValueError, pd.errors.ParserError) as exc:  # EmptyDataError is a ValueError
        raise FmaError(f"{path} does not have the fma_metadata layout ({layout}): {exc}") from exc
    except OSError as exc:
        raise FmaError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _track_id(value: Any, path: Path) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise FmaError(
            f"{path} does not have the fma_metadata layout: track id {value!r} is not a number"
        ) from None


def read_genres(metadata_dir: str | os.PathLike[str]) -> dict[int, str]:
    """``genre_id -> title`` from ``genres.csv``; empty when the file is absent."""
    try:
        path = _csv(metadata_dir, "genres.csv")
    except FmaError:
        return {}  # only needed for tracks without a top-level genre
    layout = "the header genre_id,#tracks,parent,title,top_level"
    frame = _read_csv(path, layout, index_col=0, dtype=str, keep_default_na=False)
    if frame.index.name != "genre_id" or "title" not in frame.columns:
        raise FmaError(f"{path} does not have the fma_metadata layout ({layout})")
    titles = frame["title"].tolist()
    return {_track_id(i, path): str(t).strip() for i, t in zip(frame.index, titles, strict=True)}


def read_tracks(metadata_dir: str | os.PathLike[str]) -> dict[int, dict[str, str]]:
    """``track_id -> {title, artist, album, genre}`` from ``tracks.csv`` (empty when unknown).

    A track without a top-level genre gets the title of its first genre id.
    """
    path = _csv(metadata_dir, "tracks.csv")
    # Everything as text, and "" for blanks: "NA" or "nan" can be a real title.
    layout = "two header rows, such as track/title and artist/name"
    frame = _read_csv(path, layout, index_col=0, header=[0, 1], dtype=str, keep_default_na=False)
    wanted = [*TAG_COLUMNS.values(), GENRE_IDS_COLUMN]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise FmaError(
            f"{path} does not have the fma_metadata layout ({layout}); missing columns: "
            + ", ".join("/".join(c) for c in missing)
        )
    genres = read_genres(metadata_dir)
    columns = {tag: frame[column].tolist() for tag, column in TAG_COLUMNS.items()}
    genre_ids = frame[GENRE_IDS_COLUMN].tolist()
    out: dict[int, dict[str, str]] = {}
    for row, value in enumerate(frame.index):
        tags = {tag: str(values[row]).strip() for tag, values in columns.items()}
        if not tags["genre"]:
            # "[21, 76]": a regex, not literal_eval, so a stray value cannot break the import
            first = re.search(r"[0-9]+", str(genre_ids[row]))
            if first:
                tags["genre"] = genres.get(int(first.group()), "")
        out[_track_id(value, path)] = tags
    return out


def read_features(
    metadata_dir: str | os.PathLike[str],
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(ids, matrix, names)`` from ``features.csv``: int64 track ids, float32 rows and
    column names such as ``mfcc/mean/01``."""
    path = _csv(metadata_dir, "features.csv")
    layout = "three header rows: feature, statistics, number"
    # The header alone first: a file with fewer header rows would otherwise parse as no rows.
    head = _read_csv(path, layout, index_col=0, header=[0, 1, 2], nrows=0)
    if list(head.columns.names) != FEATURE_LEVELS:
        raise FmaError(f"{path} does not have the fma_metadata layout ({layout})")
    names = ["/".join(map(str, c)) for c in head.columns]
    ids: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    blocks: list[np.ndarray] = [np.zeros((0, len(names)), dtype=np.float32)]
    reader = _read_csv(path, layout, index_col=0, header=[0, 1, 2], chunksize=_FEATURE_CHUNK)
    with reader:
        while (chunk := _next_chunk(reader, path, layout)) is not None:
            if not pd.api.types.is_integer_dtype(chunk.index):
                bad = next((i for i in chunk.index if not str(i).isdigit()), chunk.index[0])
                raise FmaError(f"{path}: track id {bad!r} is not a whole number")
            text = [c for c, t in chunk.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
            if text:
                raise FmaError(f"{path}: column {'/'.join(map(str, text[0]))} is not numeric")
            ids.append(chunk.index.to_numpy(dtype=np.int64))
            blocks.append(chunk.to_numpy(dtype=np.float32))
    return np.concatenate(ids), np.concatenate(blocks), names


def _next_chunk(reader: Any, path: Path, layout: str) -> pd.DataFrame | None:
    """The next block of a chunked ``read_csv``, or ``None`` at the end."""
    try:
        return next(reader)
    except StopIteration:
        return None
    except (ValueError, pd.errors.ParserError) as exc:  # a short or garbled row
        raise FmaError(f"{path} does not have the fma_metadata layout ({layout}): {exc}") from exc


def import_metadata(
    store: Store, metadata_dir: str | os.PathLike[str], *, features: bool
) -> FmaReport:
    """Give every stored FMA file (named by its track id) the tags of ``tracks.csv``, and
    with ``features`` store its ``features.csv`` row under :data:`FEATURES_NAME`.

    Both files are read and checked before anything is written. Empty FMA values keep
    the file's own tag. A rescan re-reads tags only of files that changed on disk.
    """
    metadata = read_tracks(metadata_dir)
    feature_ids, matrix, _ = read_features(metadata_dir) if features else (None, None, None)
    report = FmaReport()
    retag: list[tuple[int, dict[str, str]]] = []
    fma_ids: dict[int, int] = {}  # FMA id -> store id
    for track in store.tracks():
        fma_id = track_id_from_path(track.path)
        tags = metadata.get(fma_id) if fma_id is not None else None
        if tags is None:
            report.unmatched += 1
            continue
        report.matched += 1
        fma_ids[fma_id] = track.id
        changed = {k: v for k, v in tags.items() if v and v != getattr(track, k)}
        if changed:
            retag.append((track.id, changed))
    if retag:
        report.tags_updated = store.update_tags(retag)
    if feature_ids is not None and matrix is not None:
        rows = [
            (fma_ids[int(fid)], matrix[row])
            for row, fid in enumerate(feature_ids)
            if int(fid) in fma_ids
        ]
        if rows:
            store.put_external_features(FEATURES_NAME, rows)
        report.features_imported = len(rows)
    return report


def standardize(matrix: np.ndarray) -> np.ndarray:
    """Zero mean and unit variance per column (constant columns become 0), as float32.

    FMA's columns mix scales (kurtosis near 1, spectral centroids in the thousands);
    unscaled, a few columns would decide every Euclidean distance.
    """
    X = np.asarray(matrix, dtype=np.float32)
    if not len(X):
        return X.copy()
    mean = X.mean(axis=0, dtype=np.float64).astype(np.float32)
    std = X.std(axis=0, dtype=np.float64).astype(np.float32)
    std[~(std > 0)] = 1.0
    # a NaN or infinite input value must not spread through every distance
    return np.nan_to_num((X - mean) / std, nan=0.0, posinf=0.0, neginf=0.0)


def evaluate(store: Store, label: str = "genre", k: int = 5) -> dict[str, Any]:
    """Leave-one-out precision@k of the standardised FMA features for ``label``, over the
    tracks that have them (same result keys as ``Library.evaluate``)."""
    ids, matrix = store.external_features(FEATURES_NAME)
    if not len(ids):
        raise FmaError(
            "no FMA features in the library: run `encore import-fma FMA_METADATA_DIR "
            "--features` after scanning the FMA audio"
        )
    tracks = store.tracks_by_ids(ids.tolist())
    labels = [label_of(tracks[int(i)], label) for i in ids]
    return {"label": label, **precision_at_k(standardize(matrix), labels, k)}
