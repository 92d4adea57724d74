"""The MongoDB store as a user meets it: a shared library, clear errors, no leaked password."""

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid

import pytest

from engine.datasets.synth import make_library
from engine.library import Library, run
from engine.store import StoreError
from engine.store.mongo import MongoStore, redact
from engine.tracks import TrackInfo
from tests.helpers import encore


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_redact_hides_only_the_password():
    assert (
        redact("mongodb://ann:s3cret@db.lan:27017/music") == "mongodb://ann:***@db.lan:27017/music"
    )
    assert (
        redact("mongodb://a:pw@h1:1,h2:2/x?replicaSet=r")
        == "mongodb://a:***@h1:1,h2:2/x?replicaSet=r"
    )
    assert redact("mongodb://db.lan/music") == "mongodb://db.lan/music"


def test_an_unreachable_server_is_one_clear_line_without_the_password(tmp_path):
    uri = f"mongodb://ann:s3cret@127.0.0.1:{free_port()}/music?serverSelectionTimeoutMS=300"
    with pytest.raises(StoreError, match="cannot reach MongoDB") as caught:
        MongoStore(uri, feature_version=1)
    assert "s3cret" not in str(caught.value) and "ann:***@" in str(caught.value)
    result = encore(tmp_path / "home", "--store", uri, "status", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("encore: error: cannot reach MongoDB")
    assert "s3cret" not in result.stderr + result.stdout and "Traceback" not in result.stderr


def test_a_refused_login_never_shows_the_password(mongo_server):
    # the test server has no users: a login is refused
    uri = mongo_server.replace("mongodb://", "mongodb://ann:s3cret@") + "/music"
    with pytest.raises(StoreError) as caught:
        MongoStore(uri, feature_version=1)
    assert "s3cret" not in str(caught.value) and "ann:***@" in str(caught.value)


def test_not_a_mongodb_uri_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("ENCORE_STORE", "postgres://db/music")
    with pytest.raises(StoreError, match="mongodb://"):
        Library(tmp_path / "home")


def test_losing_the_server_mid_use_gives_a_store_error_and_loses_nothing(tmp_path):
    port = free_port()
    exe = shutil.which("nx-27017", path=os.path.dirname(sys.executable))
    data = tmp_path / "server-data"
    data.mkdir()

    def start() -> subprocess.Popen:
        args = [exe, "--data-dir", str(data), "--host", "127.0.0.1", "-p", str(port)]
        args += ["--pid-file", str(tmp_path / "nx.pid")]
        return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    server = start()
    uri = f"mongodb://127.0.0.1:{port}/music?serverSelectionTimeoutMS=400"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                store = MongoStore(uri, feature_version=1)
                break
            except StoreError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        store.upsert_tracks([TrackInfo(path="/m/a.mp3", size=1, mtime=1.0, title="A")])
        server.terminate()
        server.wait(10)
        with pytest.raises(StoreError, match=r"(cannot reach|lost the connection to) MongoDB"):
            store.tracks()
        server = start()  # back again: the same client carries on, the data is there
        deadline = time.monotonic() + 20
        while True:
            try:
                assert [t.title for t in store.tracks()] == ["A"]
                break
            except StoreError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        store.close()
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.slow
def test_a_library_on_mongodb_recommends_exactly_like_one_on_sqlite(tmp_path, mongo_server):
    music = tmp_path / "music"
    make_library(music, per_style=4, seconds=4.0, formats=("wav", "flac"))
    uri = f"{mongo_server}/lib{uuid.uuid4().hex}"
    results = []
    for store_uri in (None, uri):
        library = Library(
            tmp_path / ("home-mongo" if store_uri else "home-sqlite"), store_uri=store_uri
        )
        run(library.scan([str(music)]))
        run(library.analyze())
        run(library.train())
        first = library.tracks()[0]
        recs = library.similar(first.path, 5)
        results.append((sorted(t.path for t in library.tracks()), [r.track.path for r in recs]))
        library.close()
    assert results[0] == results[1]
    # the CLI reaches the same shared library by URI
    listed = encore(tmp_path / "elsewhere", "--store", uri, "tracks").stdout
    assert len(listed.strip().splitlines()) == 4 * 5
