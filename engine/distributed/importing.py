"""Read a Spark job's Parquet output for ``encore import-features OUT``.

Reads ``features/`` and ``failures/`` with pyarrow (no Spark needed) as a local scan and
both analysis passes would have found them: tracks with their tags and vectors (the
hand-made features and the neural embedding), files that could not be read, tracks that
could not be analysed or heard with their error.
:meth:`engine.library.Library.import_features` records them and trains the model.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.analysis.features import FEATURE_VERSION, N_FEATURES
from engine.distributed import FAILURES_DIR, FEATURES_DIR
from engine.neural.embedding import NEURAL_FEATURES, VECTOR_SIZE
from engine.tracks import TAG_FIELDS, TEXT_TAGS, Failure, TrackInfo, plural

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds

#: Rows read and written per transaction.
BATCH = 2_000


class SparkOutputError(ValueError):
    """The folder holds no usable Spark output; the message is meant for the user."""


@dataclass(slots=True)
class ImportReport:
    """What an import added to the library."""

    analysed: int = 0
    analysis_failed: int = 0
    unreadable: int = 0
    embedded: int = 0  # with the second pass's vector
    neural_failed: int = 0
    folders: tuple[str, ...] = ()
    trained_on: int = 0
    k: int = 0

    def summary(self) -> str:
        text = (
            f"{self.analysed + self.analysis_failed} tracks ({self.analysed} analysed, "
            f"{self.analysis_failed} could not be analysed), {self.unreadable} unreadable; "
            f"second pass: {self.embedded} heard, {self.neural_failed} could not be"
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


def _has_neural(dataset: ds.Dataset | None) -> bool:
    """True when ``dataset`` has the second pass's columns (an older job wrote none)."""
    return dataset is not None and "neural_features" in dataset.schema.names


def _foreign(dataset: ds.Dataset, column: str, expected: object, what: str) -> str:
    """How many rows hold a ``column`` value other than ``expected`` ("3 rows of …"), or
    "" when none does."""
    import pyarrow.compute as pc

    values = dataset.to_table(columns=[column]).column(column)
    counts = {v["values"]: v["counts"] for v in pc.value_counts(values).to_pylist()}
    foreign = {v: n for v, n in counts.items() if v is not None and v != expected}
    return ", ".join(f"{plural(n, 'row')} of {what}{v}" for v, n in sorted(foreign.items()))


def _check_versions(dataset: ds.Dataset | None, name: str) -> None:
    """Refuse the import when any row was made by another feature or neural version."""
    if dataset is None:
        return
    rerun = "rerun the Spark job with this Encore version on every machine; nothing was imported"
    found = _has_neural(dataset) and _foreign(dataset, "neural_features", NEURAL_FEATURES, "")
    if found:
        raise SparkOutputError(
            f"{name}/ holds neural vectors this Encore cannot use ({found}; this Encore "
            f"computes {NEURAL_FEATURES}): {rerun}"
        )
    found = _foreign(dataset, "feature_version", FEATURE_VERSION, "version ")
    if found:
        raise SparkOutputError(
            f"{name}/ holds features this Encore cannot use ({found}; this Encore computes "
            f"version {FEATURE_VERSION}): {rerun}"
        )


def _batches(dataset: ds.Dataset | None, columns: list[str]) -> Iterator[pa.RecordBatch]:
    if dataset is None:
        return
    for batch in dataset.to_batches(columns=columns, batch_size=BATCH):
        if batch.num_rows:
            yield batch


def _lists(batch: pa.RecordBatch, names: list[str]) -> dict[str, list[Any]]:
    return {name: batch.column(name).to_pylist() for name in names}


def _matrix(column: pa.Array, size: int = N_FEATURES) -> np.ndarray:
    """An Arrow list<float> column without nulls as an (n, size) float32 matrix, checked."""
    import pyarrow.compute as pc

    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    if column.null_count or not np.all(lengths == size):
        raise SparkOutputError(f"features/ holds vectors that are not {size} values long")
    values = column.flatten().to_numpy(zero_copy_only=False)
    return values.astype(np.float32, copy=False).reshape(-1, size)


def _heard(batch: pa.RecordBatch, paths: list[str]) -> list[tuple[str, np.ndarray]]:
    """The second pass's vectors of a features batch, by path (null: not heard)."""
    import pyarrow.compute as pc

    column = batch.column("neural_vector")
    keep = pc.is_valid(column)
    vectors = _matrix(pc.filter(column, keep), VECTOR_SIZE)
    kept = [p for p, k in zip(paths, keep.to_pylist(), strict=True) if k]
    return list(zip(kept, vectors, strict=True))


def _info(rows: dict[str, list[Any]], i: int) -> TrackInfo:
    tags = {name: rows[name][i] for name in TAG_FIELDS}
    for name in TEXT_TAGS:
        tags[name] = tags[name] or ""
    return TrackInfo(path=rows["path"][i], size=rows["size"][i], mtime=rows["mtime"][i], **tags)


@dataclass(slots=True)
class OutputBatch:
    """Rows of a Spark job's output, as a local scan and analysis would have found them."""

    analysed: list[tuple[TrackInfo, np.ndarray]]  # tracks and their vectors
    failed: list[tuple[TrackInfo, str]]  # tracks that could not be analysed, and why
    unreadable: list[Failure]  # files that are not tracks
    roots: set[str]  # the job's input folders
    heard: list[tuple[str, np.ndarray]]  # analysed tracks' neural vectors, by path
    unheard: list[tuple[str, str]]  # analysed tracks the second pass failed on, and why
    done: int  # rows read so far …
    total: int  # … of this many
    last: str  # the last path read


def read_output(folder: str | os.PathLike[str]) -> Iterator[OutputBatch]:
    """Read the output of :mod:`engine.distributed.spark_job` in ``folder``, batch by batch.

    Only reads; :meth:`engine.library.Library.import_features` records what it yields.
    Raises :class:`SparkOutputError` before yielding anything when there is no output or
    any row has another feature or neural version. A batch's neural rows are about
    tracks in its own or an earlier batch (``features/`` is read first).
    """
    try:
        import pyarrow  # noqa: F401 - only to tell the user what is missing
    except ImportError:
        raise SparkOutputError(
            "import-features reads Parquet with pyarrow: pip install 'encore[spark]'"
        ) from None
    out = Path(folder).expanduser()
    features = _dataset(out / FEATURES_DIR)
    failures = _dataset(out / FAILURES_DIR)
    if features is None and failures is None:
        raise SparkOutputError(
            f"no Spark job output in {folder} (no Parquet in {FEATURES_DIR}/ or {FAILURES_DIR}/)"
        )
    _check_versions(features, FEATURES_DIR)
    _check_versions(failures, FAILURES_DIR)
    total = sum(d.count_rows() for d in (features, failures) if d is not None)
    done = 0
    columns = ["path", "size", "mtime", *TAG_FIELDS, "root"]
    neural = ["neural_vector"] if _has_neural(features) else []
    for batch in _batches(features, [*columns, "vector", *neural]):
        rows = _lists(batch, columns)
        vectors = _matrix(batch.column("vector"))
        n = len(rows["path"])
        done += n
        analysed = [(_info(rows, i), vectors[i]) for i in range(n)]
        heard = _heard(batch, rows["path"]) if neural else []
        roots = {r for r in rows["root"] if r}
        yield OutputBatch(analysed, [], [], roots, heard, [], done, total, rows["path"][-1])
    for batch in _batches(failures, [*columns, "stage", "error"]):
        rows = _lists(batch, [*columns, "stage", "error"])
        n = len(rows["path"])
        done += n
        # As a local scan records them: an unreadable file is not a track, and a track
        # that could not be analysed is a track with an error.
        unreadable = [
            Failure(rows["path"][i], "scan", rows["error"][i], rows["size"][i], rows["mtime"][i])
            for i in range(n)
            if rows["stage"][i] not in ("analyze", "neural")
        ]
        failed = [
            (_info(rows, i), rows["error"][i]) for i in range(n) if rows["stage"][i] == "analyze"
        ]
        unheard = [
            (rows["path"][i], rows["error"][i]) for i in range(n) if rows["stage"][i] == "neural"
        ]
        roots = {r for r in rows["root"] if r}
        yield OutputBatch([], failed, unreadable, roots, [], unheard, done, total, rows["path"][-1])
