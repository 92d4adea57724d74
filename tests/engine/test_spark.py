"""The Spark job end to end: both passes' vectors, failures and recommendations equal local
ones."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.analysis.features import FEATURE_VERSION, N_FEATURES
from engine.datasets.synth import make_library
from engine.neural.embedding import NEURAL_FEATURES, VECTOR_SIZE
from tests.helpers import encore

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (os.environ.get("JAVA_HOME") or shutil.which("java")),
        reason="Spark needs Java 17: no java on PATH and no JAVA_HOME",
    ),
]
REPO = Path(__file__).resolve().parents[2]
STYLES = ("Pulse Techno", "Ambient Pads")
PER_STYLE = 4


def spark(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """``encore ARGS`` with Spark bound to the loopback interface, its scratch files in
    ``cwd`` (out of the repository)."""
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        # executors run this Python (a cluster's workers are told so the same way)
        "PYSPARK_PYTHON": sys.executable,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    return encore(None, *args, env=env, cwd=cwd, timeout=300)


@pytest.fixture
def music(tmp_path: Path) -> Path:
    """8 tagged 3-second clips in two styles, one corrupt file and one without audio."""
    folder = tmp_path / "music"
    make_library(folder, per_style=PER_STYLE, seconds=3.0, formats=("wav", "flac"), styles=STYLES)
    broken = folder / "Broken"
    broken.mkdir()
    (broken / "corrupt.flac").write_bytes(b"this is not audio\n" * 64)
    sf.write(broken / "silence.wav", np.zeros(0, dtype=np.float32), 22050)  # a header only
    return folder


def stored_vectors(home: Path, name: str | None = None) -> dict[str, np.ndarray]:
    """The first pass's vectors by path, or those of the pass called ``name``."""
    from engine.library import Library

    library = Library(home)
    try:
        paths = {t.id: t.path for t in library.tracks()}
        ids, X = library._store.features() if name is None else library.neural()
        return {paths[int(i)]: x for i, x in zip(ids, X, strict=True)}
    finally:
        library.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory):
    """A standalone Spark cluster on loopback: a master and one worker of 2 cores, started
    with pyspark's own ``spark-class`` (no Spark installation); yields the master's URL."""
    import socket
    import time

    import pyspark

    spark_home = Path(pyspark.__file__).parent
    spark_class = str(spark_home / "bin" / "spark-class")
    logs = tmp_path_factory.mktemp("spark-cluster")
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
    }
    port = _free_port()
    url = f"spark://127.0.0.1:{port}"
    started = []
    master_log = logs / "master.log"
    with master_log.open("w") as log:
        started.append(
            subprocess.Popen(
                [
                    spark_class,
                    "org.apache.spark.deploy.master.Master",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--webui-port",
                    str(_free_port()),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, master_log.read_text()[-3000:]
                time.sleep(0.5)
        with (logs / "worker.log").open("w") as log:
            started.append(
                subprocess.Popen(
                    [
                        spark_class,
                        "org.apache.spark.deploy.worker.Worker",
                        url,
                        "--cores",
                        "2",
                        "--memory",
                        "2g",
                        "--webui-port",
                        str(_free_port()),
                        "--work-dir",
                        str(logs / "work"),
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        while "Registering worker" not in master_log.read_text():
            assert time.monotonic() < deadline, master_log.read_text()[-3000:]
            time.sleep(0.5)
        yield url
    finally:
        for proc in started:
            proc.terminate()
        for proc in started:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.parametrize("cluster", ["local", "standalone"])
def test_spark_job_gives_both_passes_and_the_recommendations_of_local_analysis(
    tmp_path, music, cluster, request
):
    import pyarrow.parquet as pq

    from engine.library import Library
    from engine.similarity.model import load_model

    master = "local[2]" if cluster == "local" else request.getfixturevalue("standalone")
    out = tmp_path / "out"
    analyze = ("spark-analyze", "--master", master, "--input", str(music), "--output", str(out))
    job = spark(tmp_path, *analyze)
    assert "10 files: 8 analysed, 2 failed" in job.stdout, job.stdout

    features = pq.read_table(out / "features").to_pylist()
    assert len(features) == 2 * PER_STYLE
    for row in features:
        assert len(row["vector"]) == N_FEATURES and row["feature_version"] == FEATURE_VERSION
        assert row["genre"] in STYLES and row["title"] and row["duration"] == pytest.approx(3.0)
        assert row["root"] == str(music)
        # the second pass ran in the executors too
        assert row["neural_features"] == NEURAL_FEATURES
        assert len(row["neural_vector"]) == VECTOR_SIZE
    failures = {Path(r["path"]).name: r for r in pq.read_table(out / "failures").to_pylist()}
    assert set(failures) == {"corrupt.flac", "silence.wav"}
    assert failures["corrupt.flac"]["stage"] == "scan" and failures["corrupt.flac"]["error"]
    assert failures["silence.wav"]["error"]
    assert not (out / "model").exists()  # the desktop trains: nothing would read one

    spark_home, local_home = tmp_path / "h1", tmp_path / "h2"
    imported = spark(tmp_path, "--home", str(spark_home), "import-features", str(out))
    assert "8 analysed" in imported.stdout and "trained on 8 tracks" in imported.stdout
    # both passes, as the Spark job runs them (scan trains between them)
    spark(tmp_path, "--home", str(local_home), "scan", str(music))

    # the same library, the same failures recorded the same way, the same folder
    status = [
        json.loads(spark(tmp_path, "--home", str(h), "status", "--json").stdout)
        for h in (spark_home, local_home)
    ]
    for key in ("tracks", "analysed", "analysis_failed", "unreadable", "folders", "failures"):
        assert status[0][key] == status[1][key], key
    # the second pass is done after the import: nothing pending, nothing failed
    assert status[0]["neural"] == status[1]["neural"], status[0]["neural"]
    assert status[0]["neural"]["embedded"] == 2 * PER_STYLE
    assert status[0]["neural"]["pending"] == status[0]["neural"]["failed"] == 0
    assert status[0]["neural"]["problem"] is None

    # the very vectors local analysis computes, in the Parquet output and in the store
    spark_vectors, local_vectors = stored_vectors(spark_home), stored_vectors(local_home)
    assert sorted(spark_vectors) == sorted(local_vectors) == sorted(r["path"] for r in features)
    for row in features:
        assert np.allclose(row["vector"], local_vectors[row["path"]], rtol=1e-5, atol=1e-6)
        assert np.allclose(spark_vectors[row["path"]], local_vectors[row["path"]])
    spark_heard, local_heard = (
        stored_vectors(spark_home, "neural"),
        stored_vectors(local_home, "neural"),
    )
    assert sorted(spark_heard) == sorted(local_heard) == sorted(local_vectors)
    for row in features:
        assert np.allclose(row["neural_vector"], local_heard[row["path"]], rtol=1e-4, atol=1e-5)
        assert np.allclose(spark_heard[row["path"]], local_heard[row["path"]], rtol=1e-4, atol=1e-5)

    # the imported library's model standardises as a local training does
    models = []
    for home in (spark_home, local_home):
        library = Library(home)
        models.append(load_model(library.models_path)[0])
        library.close()
    assert np.allclose(models[0].mean_, models[1].mean_, rtol=1e-4, atol=1e-5)
    assert np.allclose(models[0].scale_, models[1].scale_, rtol=1e-4, atol=1e-5)
    assert np.allclose(models[0].weights_, models[1].weights_)

    # up next for every track, ranked with both passes: the same five songs (by path: the
    # two libraries number their tracks in different orders)
    queries = sorted(local_vectors)
    for options in ((), ("--plain", "-n", "3")):
        answers = []
        for home in (spark_home, local_home):
            recommend = ("recommend", *queries, "--json", *options)
            results = json.loads(spark(tmp_path, "--home", str(home), *recommend).stdout)
            answers.append([[r["path"] for r in result["recommendations"]] for result in results])
        assert len(answers[0]) == len(queries), options
        assert all(len(a) == (3 if options else 5) for a in answers[0]), answers[0]
        assert answers[0] == answers[1], options


# -- the second pass's refusals (no Spark session needed) ----------------------------------
def shipped_copy(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the network's files, as an executor receives them, and the driver's digests."""
    from engine.distributed.spark_job import MODEL_FILES, file_digests
    from engine.neural.musicnn import MODELS_DIR

    folder = tmp_path / "shipped"
    folder.mkdir()
    for name in MODEL_FILES:
        shutil.copy(MODELS_DIR / name, folder / name)
    return folder, file_digests(MODELS_DIR)


def test_an_executor_refuses_a_network_copy_that_is_not_the_drivers(tmp_path, music):
    from engine.distributed.spark_job import analyse_row, shipped_model_problem
    from engine.neural.embedding import is_model_failure

    folder, digests = shipped_copy(tmp_path)
    assert shipped_model_problem(folder, digests) == ""
    damaged = bytearray((folder / "musicnn_msd.npz").read_bytes())
    damaged[-100] ^= 0xFF
    (folder / "musicnn_msd.npz").write_bytes(bytes(damaged))
    problem = shipped_model_problem(folder, digests)
    assert "musicnn_msd.npz" in problem and "SHA-256" in problem

    track = next(p for p in sorted(music.rglob("*.wav")) if p.parent.name != "Broken")
    row = analyse_row(str(track), 1, 1.0, str(music), models=folder, model_problem=problem)
    # the first pass stands; the second is a failure row that says why, no verdict on the file
    assert len(row["vector"]) == N_FEATURES and row["neural_vector"] is None
    assert row["stage"] == "neural" and is_model_failure(row["error"]) and problem in row["error"]


def test_the_job_stops_before_spark_when_the_network_cannot_load(tmp_path, music, monkeypatch):
    from engine.distributed import spark_job
    from engine.neural import musicnn

    folder, _ = shipped_copy(tmp_path)
    (folder / "musicnn_msd.onnx").write_bytes(b"not a graph")
    monkeypatch.setattr(musicnn, "MODELS_DIR", folder)
    with pytest.raises(spark_job.SparkJobError, match=r"second pass \(neural\) cannot run: .*onnx"):
        spark_job.analyze_on("local[1]", str(music), str(tmp_path / "out"))


def test_import_refuses_another_neural_version_and_records_neural_failures(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from engine.distributed.spark_job import FAILURE_COLUMNS, RESULT_COLUMNS
    from engine.library import Library, LibraryError

    def row(name: str, **values: object) -> dict[str, object]:
        return {
            **dict.fromkeys(RESULT_COLUMNS),
            "path": str(tmp_path / name),
            "size": 10,
            "mtime": 1.0,
            "title": name,
            "feature_version": FEATURE_VERSION,
            "vector": [0.5] * N_FEATURES,
            "neural_features": NEURAL_FEATURES,
            **values,
        }

    rows = [
        row("a.wav", neural_vector=[0.1] * VECTOR_SIZE),
        row("b.wav", neural_vector=[0.2] * VECTOR_SIZE),
        row("c.wav", stage="neural", error="not decodable audio: boom"),
    ]
    types = {"size": pa.int64(), "tracknumber": pa.int64(), "year": pa.int64()}
    types |= {"feature_version": pa.int64(), "mtime": pa.float64(), "duration": pa.float64()}
    types |= {"vector": pa.list_(pa.float32()), "neural_vector": pa.list_(pa.float32())}
    schema = pa.schema([(c, types.get(c, pa.string())) for c in RESULT_COLUMNS])

    def write(out: Path, rows: list[dict[str, object]]) -> None:
        table = pa.Table.from_pylist(rows, schema=schema)
        (out / "features").mkdir(parents=True, exist_ok=True)
        (out / "failures").mkdir(parents=True, exist_ok=True)
        features = table.filter(pa.compute.is_valid(table["vector"])).drop(["stage", "error"])
        pq.write_table(features, out / "features" / "part-0.parquet")
        failures = table.filter(pa.compute.is_valid(table["error"])).select(list(FAILURE_COLUMNS))
        pq.write_table(failures, out / "failures" / "part-0.parquet")

    good, foreign = tmp_path / "good", tmp_path / "foreign"
    write(good, rows)
    write(foreign, [*rows, row("d.wav", neural_features="musicnn-999", neural_vector=[0.0] * 9)])

    library = Library(tmp_path / "home")
    try:
        with pytest.raises(LibraryError, match="musicnn-999"):
            list(library.import_features(foreign, train=False))
        assert library.tracks() == []  # nothing was imported
        gen = library.import_features(good, train=False)
        try:
            while True:
                next(gen)
        except StopIteration as stop:
            report = stop.value
        assert (report.analysed, report.embedded, report.neural_failed) == (3, 2, 1)
        counts = library.neural_counts()
        assert (counts["embedded"], counts["failed"], counts["pending"]) == (2, 1, 0)
        (failure,) = [f for f in library.failures() if f.stage == "neural"]
        assert failure.path.endswith("c.wav") and failure.reason == "not decodable audio: boom"
    finally:
        library.close()
