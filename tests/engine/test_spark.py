"""The Spark job end to end: its features, failures and recommendations equal local ones."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.analysis.features import FEATURE_VERSION, N_FEATURES
from engine.datasets.synth import make_library
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


def stored_vectors(home: Path) -> dict[str, np.ndarray]:
    from engine.library import Library

    library = Library(home)
    try:
        paths = {t.id: t.path for t in library.tracks()}
        ids, X = library._store.features()
        return {paths[int(i)]: x for i, x in zip(ids, X, strict=True)}
    finally:
        library.close()


def test_spark_job_gives_the_features_and_recommendations_of_local_analysis(tmp_path, music):
    import pyarrow.parquet as pq

    from engine.library import Library
    from engine.similarity.model import load_model

    out = tmp_path / "out"
    analyze = ("spark-analyze", "--master", "local[2]", "--input", str(music), "--output", str(out))
    job = spark(tmp_path, *analyze)
    assert "10 files: 8 analysed, 2 failed" in job.stdout, job.stdout

    features = pq.read_table(out / "features").to_pylist()
    assert len(features) == 2 * PER_STYLE
    for row in features:
        assert len(row["vector"]) == N_FEATURES and row["feature_version"] == FEATURE_VERSION
        assert row["genre"] in STYLES and row["title"] and row["duration"] == pytest.approx(3.0)
        assert row["root"] == str(music)
    failures = {Path(r["path"]).name: r for r in pq.read_table(out / "failures").to_pylist()}
    assert set(failures) == {"corrupt.flac", "silence.wav"}
    assert failures["corrupt.flac"]["stage"] == "scan" and failures["corrupt.flac"]["error"]
    assert failures["silence.wav"]["error"]
    assert not (out / "model").exists()  # the desktop trains: nothing would read one

    spark_home, local_home = tmp_path / "h1", tmp_path / "h2"
    imported = spark(tmp_path, "--home", str(spark_home), "import-features", str(out))
    assert "8 analysed" in imported.stdout and "trained on 8 tracks" in imported.stdout
    # the first pass only, as the Spark job does (the second runs on the desktop)
    spark(tmp_path, "--home", str(local_home), "scan", str(music), "--fast-only")
    spark(tmp_path, "--home", str(local_home), "train")

    # the same library, the same failures recorded the same way, the same folder
    status = [
        json.loads(spark(tmp_path, "--home", str(h), "status", "--json").stdout)
        for h in (spark_home, local_home)
    ]
    for key in ("tracks", "analysed", "analysis_failed", "unreadable", "folders", "failures"):
        assert status[0][key] == status[1][key], key

    # the very vectors local analysis computes, in the Parquet output and in the store
    spark_vectors, local_vectors = stored_vectors(spark_home), stored_vectors(local_home)
    assert sorted(spark_vectors) == sorted(local_vectors) == sorted(r["path"] for r in features)
    for row in features:
        assert np.allclose(row["vector"], local_vectors[row["path"]], rtol=1e-5, atol=1e-6)
        assert np.allclose(spark_vectors[row["path"]], local_vectors[row["path"]])

    # the imported library's model standardises as a local training does
    models = []
    for home in (spark_home, local_home):
        library = Library(home)
        models.append(load_model(library.models_path)[0])
        library.close()
    assert np.allclose(models[0].mean_, models[1].mean_, rtol=1e-4, atol=1e-5)
    assert np.allclose(models[0].scale_, models[1].scale_, rtol=1e-4, atol=1e-5)
    assert np.allclose(models[0].weights_, models[1].weights_)

    queries = sorted(local_vectors)[::3]
    answers = []
    for home in (spark_home, local_home):
        recommend = ("recommend", *queries, "--json", "--plain", "-n", "3")
        results = json.loads(spark(tmp_path, "--home", str(home), *recommend).stdout)
        answers.append([[r["path"] for r in result["recommendations"]] for result in results])
    assert len(answers[0]) == len(queries) and all(len(a) == 3 for a in answers[0])
    assert answers[0] == answers[1]
