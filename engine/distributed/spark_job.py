"""The Spark job: both analysis passes over every music file under a folder, on a cluster.

Run it with ``spark-submit`` against any master::

    spark-submit --master spark://host:7077 --py-files encore.zip \\
        engine/distributed/spark_job.py --input /shared/music --output /shared/encore-out

or from Encore's command line, which builds the session itself::

    encore spark-analyze --master 'local[*]' --input ~/Music --output /tmp/encore-out

The driver lists the files (so the input folder must be at the same path on every
machine), the executors read tags and run both passes with exactly the code of local
analysis (:func:`engine.ingest.tags.read_info`, then
:func:`engine.passes.worker.analyse_file`: each file decoded once for both passes, with the
network's files shipped with the job and checked against the driver's SHA-256). Under
``--output`` it writes Parquet:

``features/``
    One row per analysed track: path, size, mtime, the tags, duration, root (the input
    folder), feature_version, ``vector`` (98 float32 values), ``neural_features`` (the
    second pass's name, e.g. ``musicnn-2``) and ``neural_vector`` (250 float32 values;
    null when the second pass failed on the file).
``failures/``
    One row per file that could not be read (stage ``scan``) or analysed (stage
    ``analyze``), or heard by the second pass (stage ``neural``: the track is in
    ``features/`` too): path, error, stage, size, mtime, and the tags when they were read.
``encore import-features OUT`` loads them into a desktop library and trains its model
there (KMeans on at most 20,000 sampled tracks: seconds).
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import math
import os
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.analysis.features import FEATURE_VERSION
from engine.analysis.pool import safe_call
from engine.distributed import FAILURES_DIR, FEATURES_DIR
from engine.ingest.scan import walk_audio
from engine.ingest.tags import TagError, read_info
from engine.neural import musicnn
from engine.neural.embedding import (
    MODEL_UNLOADABLE,
    NEURAL_FEATURES,
    vector_problem,
)
from engine.neural.musicnn import ModelFilesError, check_model
from engine.passes import FIRST_PASS, SECOND_PASS
from engine.passes.worker import FileResult, Job, analyse_file
from engine.tracks import TAG_FIELDS

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import SparkSession

#: Files per partition: small enough that a cluster's cores share the work evenly and a
#: retried task redoes little, big enough that task overhead stays negligible (a file
#: takes about a second to analyse).
FILES_PER_PARTITION = 8
#: Rows per Parquet file in ``features/`` (~400 bytes a row: files of ~40 MB).
ROWS_PER_FILE = 100_000
ARROW = "spark.sql.execution.arrow.pyspark.enabled"

#: What the driver hands the executors: one row per file.
INPUT_SCHEMA = "path string, size long, mtime double"
#: The track fields of a row, as in :class:`engine.tracks.TrackInfo`.
TRACK_FIELDS: tuple[str, ...] = ("path", "size", "mtime", *TAG_FIELDS)
#: One row per file, analysed or not (``vector`` or ``error`` is null).
RESULT_SCHEMA = (
    "path string, size long, mtime double, title string, artist string, album string, "
    "albumartist string, genre string, tracknumber int, year int, duration double, "
    "root string, feature_version int, vector array<float>, neural_features string, "
    "neural_vector array<float>, stage string, error string"
)
RESULT_COLUMNS: tuple[str, ...] = tuple(part.split()[0] for part in RESULT_SCHEMA.split(", "))
FAILURE_COLUMNS: tuple[str, ...] = (
    "path",
    "error",
    "stage",
    *(c for c in RESULT_COLUMNS if c not in ("path", "error", "stage", "vector", "neural_vector")),
)
#: The network's files, shipped to every executor with the job.
MODEL_FILES: tuple[str, ...] = tuple(
    f"{musicnn.STEM}.{suffix}" for suffix in ("json", "npz", "onnx")
)


class SparkJobError(Exception):
    """The job cannot run (no Java, no input, no music); the message is meant for the user."""


@dataclass(slots=True)
class JobReport:
    """What a job did."""

    files: int = 0
    analysed: int = 0
    failed: int = 0
    embedded: int = 0  # heard by the second pass
    neural_failed: int = 0
    output: str = ""
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.files} files: {self.analysed} analysed, {self.failed} failed; second "
            f"pass: {self.embedded} heard, {self.neural_failed} failed; "
            f"wrote {self.output} in {self.seconds:.1f} s"
        )


# -- executors ------------------------------------------------------------------------
def file_digests(folder: Path) -> dict[str, str]:
    """SHA-256 of the network's files in ``folder`` (:class:`OSError` when one is missing)."""
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in MODEL_FILES}


def shipped_model_problem(folder: Path, expected: dict[str, str]) -> str:
    """Why the network's files in ``folder`` must not be used ("" when they may): they must
    be the driver's (``expected``: their SHA-256) and pass the card's own checks."""
    try:
        found = file_digests(folder)
    except OSError as exc:
        return f"the job's copy of the network's files is missing on this executor: {exc}"
    wrong = sorted(name for name in MODEL_FILES if found[name] != expected.get(name))
    if wrong:
        return (
            f"the job's copy of {', '.join(wrong)} on this executor is not the driver's (SHA-256)"
        )
    try:
        check_model(folder)
    except ModelFilesError as exc:
        return str(exc)
    return ""


def analyse_row(
    path: str,
    size: int,
    mtime: float,
    root: str,
    *,
    models: Path | None = None,
    model_problem: str = "",
) -> dict[str, Any]:
    """One result row for one file: tags and both passes' vectors, or the reason one failed.

    ``models``: the checked folder of the network's files (``None``: first pass only);
    ``model_problem``: why they cannot be used, the second pass's error for every file.
    Errors are worded as local scanning and analysis word them (the same functions
    raise them), and no exception escapes: one bad file must not fail a task.
    """
    row: dict[str, Any] = dict.fromkeys(RESULT_COLUMNS)
    row.update(path=path, size=size, mtime=mtime, root=root, feature_version=FEATURE_VERSION)
    try:
        info = read_info(path, root=root)
    except TagError as exc:
        row.update(stage="scan", error=str(exc))
        return row
    except Exception as exc:  # a tag reader bug must not fail the task either
        row.update(stage="scan", error=f"cannot read tags: {type(exc).__name__}: {exc}")
        return row
    row.update({name: getattr(info, name) for name in TRACK_FIELDS})
    if model_problem:  # no verdict on the file: the desktop's next analyze retries it
        row.update(neural_features=NEURAL_FEATURES, stage="neural")
        row.update(error=MODEL_UNLOADABLE + model_problem)
    second = () if models is None or model_problem else (SECOND_PASS,)
    job = Job(compute=(FIRST_PASS, *second), models_dir=str(models) if second else None)
    result, error = safe_call(analyse_file, path, job)  # one decode for both passes
    vector = result.vectors.get(FIRST_PASS) if isinstance(result, FileResult) else None
    if result is not None and vector is None:
        error = result.errors.get(FIRST_PASS, "no vector")
    if vector is None:
        row.update(neural_features=None, stage="analyze", error=error)
        return row  # as locally: the second pass hears analysed tracks only
    row["vector"] = vector
    if not second:
        return row
    row["neural_features"] = NEURAL_FEATURES
    heard = result.vectors.get(SECOND_PASS)
    unusable = result.unusable.get(SECOND_PASS, "")
    problem = unusable or result.errors.get(SECOND_PASS) or vector_problem(heard)
    if problem:
        row.update(stage="neural", error=problem)
    else:
        row["neural_vector"] = heard
    return row


def analyse_batches(
    batches: Iterator[pd.DataFrame], root: str, digests: dict[str, str] | None = None
) -> Iterator[pd.DataFrame]:
    """``mapInPandas`` body: a result row for every ``(path, size, mtime)`` row.

    ``digests``: SHA-256 of the network's files on the driver, shipped with the job
    (``SparkContext.addFile``); ``None`` runs the first pass only.
    """
    import pandas as pd
    from threadpoolctl import threadpool_limits

    models, problem = None, ""
    if digests is not None:
        from pyspark import SparkFiles

        # addFile puts them in this executor's SparkFiles folder; checked once per task
        # (~10 ms), so a copy damaged on its way fails loudly instead of embedding wrongly
        models = Path(SparkFiles.getRootDirectory())
        problem = shipped_model_problem(models, digests)

    # Spark runs one Python worker per task slot, a slot per core. numpy's BLAS would
    # start a thread per core in each of them, and they fight over the cores (measured
    # locally: 2.4x slower per track): one BLAS thread each, as engine/analysis/pool.py does.
    # onnxruntime likewise gets one intra-op thread (engine.neural.embedding's network).
    with threadpool_limits(1):
        for batch in batches:
            rows = [
                analyse_row(str(p), int(s), float(m), root, models=models, model_problem=problem)
                for p, s, m in zip(batch["path"], batch["size"], batch["mtime"], strict=True)
            ]
            # object columns: nullable ints stay ints (not NaN floats) on their way to Arrow
            yield pd.DataFrame(
                {c: pd.Series([r[c] for r in rows], dtype=object) for c in RESULT_COLUMNS}
            )


# -- driver ---------------------------------------------------------------------------
def list_files(root: str, problems: list[str]) -> list[tuple[str, int, float]]:
    """``(path, size, mtime)`` of the music files under ``root``, as a local scan finds them.

    Names that are not valid UTF-8 cannot travel as Parquet strings: they are left out
    and reported in ``problems`` (a local ``encore scan`` still indexes them).
    """
    files = []
    for path, size, mtime in walk_audio(root, problems):
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:
            shown = path.encode("utf-8", "backslashreplace").decode("utf-8")
            problems.append(f"{shown}: skipped, the file name is not valid UTF-8")
            continue
        files.append((path, size, mtime))
    return files


def find_models() -> Path:
    """The driver's checked folder of the network's files, or :class:`SparkJobError`.

    ``models/`` beside the engine package; when the engine was imported from a zip
    (``spark-submit --py-files encore.zip`` from a checkout), ``./models``.
    """
    folder = musicnn.MODELS_DIR
    if not folder.is_dir() and (Path.cwd() / "models").is_dir():
        folder = Path.cwd() / "models"
    try:
        check_model(folder)
    except ModelFilesError as exc:
        # the expensive half cannot run anywhere: say so before Spark starts
        raise SparkJobError(f"the second pass (neural) cannot run: {exc}") from None
    return folder


def _output_uri(output: str) -> str:
    """A local output folder made absolute (executors resolve relative paths elsewhere)."""
    if "://" in output or output.startswith("file:"):
        return output.rstrip("/")
    return os.path.abspath(os.path.expanduser(output))


def run(
    spark: SparkSession,
    input_dir: str,
    output_dir: str,
    *,
    warn: Callable[[str], None] | None = None,
) -> JobReport:
    """Analyse the music under ``input_dir`` on ``spark``'s cluster; write ``output_dir``.

    Both passes run in the executors, the network's files shipped with the job. Files
    that cannot be read or analysed become rows of ``failures/``, never job failures.
    ``features/`` and ``failures/`` are replaced if they exist.
    """
    from pyspark import StorageLevel

    started = time.monotonic()
    root = os.path.abspath(os.path.expanduser(input_dir))
    if not os.path.isdir(root):
        raise SparkJobError(f"input folder not found: {input_dir}")
    out = _output_uri(output_dir)
    report = JobReport(output=out)
    files = list_files(root, report.problems)
    for problem in report.problems:
        (warn or _warn)(problem)
    if not files:
        raise SparkJobError(f"no music files under {root}")
    models = find_models()
    report.files = len(files)
    spark.conf.set(ARROW, "true")  # toPandas() of the vectors goes through Arrow
    sc = spark.sparkContext
    for name in MODEL_FILES:  # 3.3 MB, fetched once per executor
        sc.addFile(str(models / name))
    digests = file_digests(models)
    slices = min(
        len(files), max(math.ceil(len(files) / FILES_PER_PARTITION), 2 * sc.defaultParallelism)
    )
    listed = spark.createDataFrame(sc.parallelize(files, slices), INPUT_SCHEMA)
    analysed = listed.mapInPandas(
        partial(analyse_batches, root=root, digests=digests), RESULT_SCHEMA
    )
    # The results are read twice (features, failures): keep them rather than analyse
    # again, spilling to disk when memory is short.
    analysed = analysed.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        analysed.count()  # analyses every file now, one task per partition
        features = analysed.where("vector IS NOT NULL").drop("stage", "error")
        failures = analysed.where("error IS NOT NULL").select(*FAILURE_COLUMNS)
        report.analysed = features.count()
        report.failed = report.files - report.analysed
        report.embedded = features.where("neural_vector IS NOT NULL").count()
        report.neural_failed = report.analysed - report.embedded
        # coalesce only now: before the cache is filled it would shrink the analysis
        # itself to that many tasks. A few big files read faster than thousands of tiny ones.
        parts = max(1, math.ceil(report.analysed / ROWS_PER_FILE))
        features.coalesce(parts).write.mode("overwrite").parquet(f"{out}/{FEATURES_DIR}")
        failures.coalesce(1).write.mode("overwrite").parquet(f"{out}/{FAILURES_DIR}")
    finally:
        analysed.unpersist()
    report.seconds = time.monotonic() - started
    return report


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def build_session(master: str | None = None, app_name: str = "encore-analyze") -> SparkSession:
    """A SparkSession for the job; ``master=None`` takes spark-submit's ``--master``.

    The executors get this Encore's ``engine`` package (when it is a folder, not
    already a zip from ``--py-files``), so they run exactly the driver's code.
    """
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise SparkJobError("Spark needs Java 17: install it, or set JAVA_HOME")
    import warnings

    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    # pyspark 4 warns, at every pandas conversion, that pandas 3 is "not yet fully
    # supported"; the job's conversions (mapInPandas of object columns, toPandas of the
    # vectors) are checked with pandas 3 by tests/engine/test_spark.py.
    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
    )
    effective = master or SparkConf().get("spark.master", "")
    if effective.startswith("local"):
        # Local executors are started on this machine: use this very interpreter (the
        # venv with Encore's dependencies), not whichever python3 is first on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.appName(app_name)
        .config(ARROW, "true")
        # a decoder that crashes a Python worker leaves its traceback in the task error
        .config("spark.python.worker.faulthandler.enabled", "true")
        .config("spark.ui.showConsoleProgress", str(sys.stderr.isatty()).lower())
    )
    if master:
        builder = builder.master(master)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    _ship_engine(spark)
    return spark


def _ship_engine(spark: SparkSession) -> None:
    import engine

    package = Path(engine.__file__).parent
    if not package.is_dir():  # imported from a zip: spark-submit --py-files shipped it
        return
    fd, name = tempfile.mkstemp(prefix="encore-engine-", suffix=".zip")
    os.close(fd)
    atexit.register(Path(name).unlink, missing_ok=True)
    with zipfile.ZipFile(name, "w", zipfile.ZIP_DEFLATED) as zf:
        for source in sorted(package.rglob("*.py")):
            zf.write(source, source.relative_to(package.parent))
    spark.sparkContext.addPyFile(name)


def analyze_on(
    master: str | None,
    input_dir: str,
    output_dir: str,
    *,
    warn: Callable[[str], None] | None = None,
) -> JobReport:
    """Start a session on ``master`` (``None``: spark-submit's), :func:`run` the job, stop.

    Spark's own failures (a lost cluster, a crashed executor) become :class:`SparkJobError`.
    """
    try:
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException
    except ImportError:
        raise SparkJobError("Spark is not installed: pip install 'encore[spark]'") from None
    if not os.path.isdir(os.path.expanduser(input_dir)):  # before Spark's slow start
        raise SparkJobError(f"input folder not found: {input_dir}")
    find_models()  # likewise
    try:
        spark = build_session(master)
        try:
            return run(spark, input_dir, output_dir, warn=warn)
        finally:
            spark.stop()
    except (PySparkException, Py4JError) as exc:
        # Py4J's text is a Java stack trace: its first lines name the cause
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = " ".join(lines[:2])[:400] or type(exc).__name__
        raise SparkJobError(f"Spark failed (its log above has the details): {reason}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    """``spark-submit engine/distributed/spark_job.py --input DIR --output DIR``."""
    parser = argparse.ArgumentParser(
        prog="spark_job.py",
        description="Analyse a music folder with Spark for `encore import-features`.",
    )
    parser.add_argument("--input", required=True, metavar="DIR", help="the music folder")
    parser.add_argument("--output", required=True, metavar="DIR", help="where Parquet goes")
    args = parser.parse_args(argv)
    try:
        report = analyze_on(None, args.input, args.output)
    except SparkJobError as exc:
        print(f"spark_job.py: error: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


if __name__ == "__main__":
    # Run through the importable module, not this __main__ copy: Spark then pickles the
    # executors' functions by reference to engine.distributed.spark_job (the engine the
    # executors import) instead of by value.
    from engine.distributed.spark_job import main as _main

    sys.exit(_main())
