"""``encore import-features OUT``: bring a Spark job's Parquet output into a library.

Reads ``features/`` and ``failures/`` with pyarrow (no Spark needed) and records them
as a local scan and analysis would have: tracks with their tags and vectors, files
that could not be read as scan failures, tracks that could not be analysed with their
error. Then it trains the library's model, so recommendations work at once.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.analysis.features import FEATURE_VERSION, N_FEATURES
from engine.distributed import FAILURES_DIR, FEATURES_DIR
from engine.library import Library, LibraryError
from engine.progress import Progress
from engine.tracks import TAG_FIELDS, Failure, TrackInfo

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds

#: Rows read and written per transaction.
BATCH = 2_000


@dataclass(slots=True)
class ImportReport:
    """What an import added to the library."""

    analysed: int = 0
    analysis_failed: int = 0
    unreadable: int = 0
    folders: tuple[str, ...] = ()
    trained_on: int = 0
    k: int = 0

    def summary(self) -> str:
        text = (
            f"{self.analysed + self.analysis_failed} tracks ({self.analysed} analysed, "
            f"{self.analysis_failed} could not be analysed), {self.unreadable} unreadable"
        )
        if self.trained_on:
            text += f"; trained on {self.trained_on} tracks with k={self.k} clusters"
        else:
            text += "; not trained (fewer than 2 analysed tracks)"
        return text


def _dataset(folder: Path) -> ds.Dataset | None:
    """The Parquet files of ``folder`` (Spark's ``_SUCCESS`` and ``.crc`` files are skipped)."""
    import pyarrow.dataset as ds

    if not folder.is_dir():
        return None
    dataset = ds.dataset(folder, format="parquet")
    return dataset if dataset.files else None


def _check_versions(dataset: ds.Dataset | None, name: str) -> None:
    """Refuse the import when any row was made by another feature version."""
    import pyarrow.compute as pc

    if dataset is None:
        return
    versions = dataset.to_table(columns=["feature_version"]).column("feature_version")
    counts = {v["values"]: v["counts"] for v in pc.value_counts(versions).to_pylist()}
    foreign = {v: n for v, n in counts.items() if v is not None and v != FEATURE_VERSION}
    if foreign:
        found = ", ".join(f"{n} row(s) of version {v}" for v, n in sorted(foreign.items()))
        raise LibraryError(
            f"{name}/ holds features this Encore cannot use ({found}; this Encore computes "
            f"version {FEATURE_VERSION}): rerun the Spark job with this Encore version on "
            "every machine; nothing was imported"
        )


def _batches(dataset: ds.Dataset | None, columns: list[str]) -> Iterator[pa.RecordBatch]:
    if dataset is None:
        return
    for batch in dataset.to_batches(columns=columns, batch_size=BATCH):
        if batch.num_rows:
            yield batch


def _lists(batch: pa.RecordBatch, names: list[str]) -> dict[str, list[Any]]:
    return {name: batch.column(name).to_pylist() for name in names}


def _matrix(column: pa.Array) -> np.ndarray:
    """An Arrow list<float> column as an (n, N_FEATURES) float32 matrix, checked."""
    import pyarrow.compute as pc

    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    if column.null_count or not np.all(lengths == N_FEATURES):
        raise LibraryError(f"features/ holds vectors that are not {N_FEATURES} values long")
    values = column.flatten().to_numpy(zero_copy_only=False)
    return values.astype(np.float32, copy=False).reshape(-1, N_FEATURES)


def _info(rows: dict[str, list[Any]], i: int) -> TrackInfo:
    tags = {name: rows[name][i] for name in TAG_FIELDS}
    for name in ("title", "artist", "album", "albumartist", "genre"):
        tags[name] = tags[name] or ""
    return TrackInfo(path=rows["path"][i], size=rows["size"][i], mtime=rows["mtime"][i], **tags)


def import_features(
    library: Library, folder: str | os.PathLike[str], *, train: bool = True
) -> Generator[Progress, None, ImportReport]:
    """Import the output of :mod:`engine.distributed.spark_job` in ``folder``.

    Adds each input folder of the job to the library's folders when it exists on this
    machine (so later rescans keep the tracks up to date), and trains the model unless
    ``train`` is false. Nothing is written when any row has another feature version.
    """
    try:
        import pyarrow  # noqa: F401 - only to tell the user what is missing
    except ImportError:
        raise LibraryError(
            "import-features reads Parquet with pyarrow: pip install 'encore[spark]'"
        ) from None
    out = Path(folder).expanduser()
    features = _dataset(out / FEATURES_DIR)
    failures = _dataset(out / FAILURES_DIR)
    if features is None and failures is None:
        raise LibraryError(
            f"no Spark job output in {folder} (no Parquet in {FEATURES_DIR}/ or {FAILURES_DIR}/)"
        )
    _check_versions(features, FEATURES_DIR)
    _check_versions(failures, FAILURES_DIR)
    total = sum(d.count_rows() for d in (features, failures) if d is not None)
    store = library.store
    report = ImportReport()
    roots: set[str] = set()
    done = 0
    yield Progress(0, total, "", "Importing features")

    columns = ["path", "size", "mtime", *TAG_FIELDS, "root"]
    for batch in _batches(features, [*columns, "vector"]):
        rows = _lists(batch, columns)
        vectors = _matrix(batch.column("vector"))
        n = len(rows["path"])
        store.upsert_tracks([_info(rows, i) for i in range(n)])
        tracks = [store.track_by_path(p) for p in rows["path"]]
        # A track whose earlier local analysis failed keeps its error through an upsert
        # of the same file: clear it, or it would stay listed as failed.
        stale = [(t.id, "") for t in tracks if t is not None and t.error]
        if stale:
            store.put_analysis_errors(stale)
        found = [(t.id, v) for t, v in zip(tracks, vectors, strict=True) if t is not None]
        store.put_features(found, FEATURE_VERSION)
        report.analysed += len(found)
        roots.update(r for r in rows["root"] if r)
        done += n
        yield Progress(done, total, rows["path"][-1], "Importing features")

    for batch in _batches(failures, [*columns, "stage", "error"]):
        rows = _lists(batch, [*columns, "stage", "error"])
        n = len(rows["path"])
        # As a local scan records them: an unreadable file is not a track...
        unreadable = [
            Failure(rows["path"][i], "scan", rows["error"][i], rows["size"][i], rows["mtime"][i])
            for i in range(n)
            if rows["stage"][i] != "analyze"
        ]
        store.record_scan_failures(unreadable)
        # ...and a track that could not be analysed is a track with an error.
        failed = [i for i in range(n) if rows["stage"][i] == "analyze"]
        store.upsert_tracks([_info(rows, i) for i in failed])
        errors = []
        for i in failed:
            track = store.track_by_path(rows["path"][i])
            if track is not None:
                errors.append((track.id, rows["error"][i]))
        store.put_analysis_errors(errors)
        report.unreadable += len(unreadable)
        report.analysis_failed += len(errors)
        roots.update(r for r in rows["root"] if r)
        done += n
        yield Progress(done, total, rows["path"][-1], "Importing features")

    report.folders = tuple(sorted(r for r in roots if os.path.isdir(r)))
    store.add_folders(report.folders)
    if train and store.counts(FEATURE_VERSION)["analysed"] >= 2:
        card = yield from library.train()
        report.trained_on, report.k = int(card.get("library_size", 0)), int(card.get("k", 0))
    return report
