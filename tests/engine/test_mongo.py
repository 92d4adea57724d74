"""The MongoDB store as a user meets it: a shared library, clear errors, no leaked password."""

import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from functools import partial
from pathlib import Path

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


def test_redact_keeps_only_the_hosts_and_the_database() -> None:
    from engine.store.mongo import HIDDEN, describe_uri

    assert redact("mongodb://ann:s3cret@db.lan:27017/music") == "mongodb://db.lan:27017/music"
    assert redact("mongodb://a:pw@h1:1,h2:2/x?replicaSet=r") == "mongodb://h1:1,h2:2/x"
    assert redact("mongodb://db.lan") == "mongodb://db.lan:27017/encore"
    assert redact("mongodb+srv://a:pw@cluster.example.net/x?w=1") == (
        "mongodb+srv://cluster.example.net/x"
    )
    assert redact("mongodb://[::1]:5/x") == "mongodb://[::1]:5/x"
    assert redact("mongodb://ann:pa/ss@db.lan/music") == HIDDEN  # cannot be read
    assert describe_uri("mongodb://ann:pa#ss@DB.lan:1/music") == "db.lan:1/music"


def test_an_unreachable_server_is_one_clear_line_without_the_password(tmp_path):
    port = free_port()
    uri = f"mongodb://ann:s3cret@127.0.0.1:{port}/music?serverSelectionTimeoutMS=300"
    with pytest.raises(StoreError, match="cannot reach MongoDB") as caught:
        MongoStore(uri, feature_version=1)
    assert "s3cret" not in str(caught.value) and f"127.0.0.1:{port}/music" in str(caught.value)
    result = encore(tmp_path / "home", "--store", uri, "status", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("encore: error: cannot reach MongoDB")
    assert "s3cret" not in result.stderr + result.stdout and "Traceback" not in result.stderr


def test_a_refused_login_never_shows_the_password(mongo_server):
    # the test server has no users: a login is refused
    uri = mongo_server.replace("mongodb://", "mongodb://ann:s3cret@") + "/music"
    with pytest.raises(StoreError) as caught:
        MongoStore(uri, feature_version=1)
    assert "s3cret" not in str(caught.value) and "ann" not in str(caught.value)
    assert "/music" in str(caught.value)


#: In every URI below; it must never be printed, logged or shown.
SECRET = "Zq9xS3cr3tToken"


def nasty_uris(host: str) -> list[str]:
    """URIs whose secret the old ``urlsplit`` redaction printed, or that pymongo cannot
    parse (then nothing of them may be echoed), for a server at ``host``."""
    quick = "serverSelectionTimeoutMS=300"
    return [
        f"mongodb://ann:pa/{SECRET}@{host}/music?{quick}",  # unescaped "/" in the password
        f"mongodb://ann:pa#{SECRET}@{host}/music?{quick}",  # unescaped "#"
        f"mongodb://ann:pa?{SECRET}@{host}/music?{quick}",  # unescaped "?"
        f"mongodb://ann:12/{SECRET}@{host}/music?{quick}",  # "ann:12" looks like a host
        f"mongodb://ann:12?{quick}&x={SECRET}@{host}",  # pymongo dials "ann", port 12
        f"mongodb://ann:pa:{SECRET}@{host}/music",  # unescaped ":": a parse failure
        f"mongodb://ann:{SECRET}@/music",  # no host
        f"mongodb+srv://ann:{SECRET}@{host}/music",  # SRV with a port
        f"mongodb://ann:{SECRET}@{host}/mu sic",  # a bad database name
        f"mongodb://{host}/music?{quick}&authMechanism=MONGODB-AWS"
        f"&authMechanismProperties=AWS_SESSION_TOKEN:{SECRET}",
        f"mongodb://{host}/music?{quick}&authMechanism=SCRAM-SHA-256"
        f"&authMechanismProperties=AWS_SESSION_TOKEN:{SECRET}",  # refused by the parser
        f"mongodb://ann:{SECRET}@{host}/music?{quick}&readPreference={SECRET}",  # warned
        f"mongodb://{host}/music?{quick}&compressors={SECRET}",  # warned, with the value
    ]


def _files_text(folder: Path) -> str:
    """Everything written in ``folder`` (state folder: logs, settings, databases)."""
    return "".join(
        p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file()
    )


@pytest.mark.parametrize("reachable", [False, True], ids=["unreachable", "reachable"])
def test_no_uri_leaks_its_secret_through_the_cli(
    tmp_path: Path, mongo_server: str, reachable: bool
) -> None:
    """Point 4 of the bug report: ``encore --store URI status`` with passwords holding an
    unescaped ``/ # ?``, option tokens and URIs pymongo cannot parse."""
    host = mongo_server.split("//")[1] if reachable else f"127.0.0.1:{free_port()}"
    for i, uri in enumerate(nasty_uris(host)):
        home = tmp_path / f"home{i}"
        result = encore(home, "--store", uri, "status", check=False)
        shown = result.stdout + result.stderr
        assert SECRET.lower() not in shown.lower(), (uri, shown)
        assert "Traceback" not in shown and "arning" not in shown, (uri, shown)
        # a library that opens (the server ignores a bad compressor) prints its status
        # alone; one that does not, one line: the error
        assert result.stderr.count("\n") == (result.returncode == 1), (uri, shown)
        assert SECRET not in _files_text(home), uri


class _Records(logging.Handler):
    """Every log record that reaches the root logger, where an application's console
    (or file) handler would print it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_no_uri_leaks_its_secret_through_the_engine(
    tmp_path: Path,
    mongo_server: str,
    capfd: pytest.CaptureFixture[str],
    recwarn: pytest.WarningsRecorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same URIs through the API the window uses: errors, warnings, log records and
    the status bar's location show no secret."""
    seen = _Records()
    root = logging.getLogger()
    monkeypatch.setattr(root, "level", logging.DEBUG)  # as an app logging everything
    root.addHandler(seen)
    try:
        host = mongo_server.split("//")[1]
        for uri in nasty_uris(host) + nasty_uris(f"127.0.0.1:{free_port()}"):
            for opening in (
                partial(MongoStore, uri, feature_version=1),
                partial(Library, tmp_path / "home", store_uri=uri),
                partial(Library.connect_shared_store, uri),
            ):
                try:
                    opened = opening()
                except StoreError as exc:
                    assert SECRET.lower() not in str(exc).lower(), (uri, str(exc))
                else:  # a bad compressor only warns: the store opens
                    assert "compressors" in uri
                    if not isinstance(opened, str):
                        opened.close()
            assert SECRET not in redact(uri)
    finally:
        root.removeHandler(seen)
    out, err = capfd.readouterr()
    assert SECRET not in out + err
    assert not [r for r in seen.records if r.name.startswith("pymongo")]
    assert not [w for w in recwarn if SECRET in str(w.message)]
    assert SECRET not in _files_text(tmp_path / "home")
    # a library that opens shows its host and database alone (the window's status bar)
    uri = f"{mongo_server}/music?appName={SECRET}&compressors={SECRET}"
    library = Library(tmp_path / "home", store_uri=uri)
    assert library.location == f"{mongo_server}/music"
    library.close()
    assert Library.connect_shared_store(uri) == f"{mongo_server}/music"


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
