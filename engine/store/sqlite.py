"""The embedded default store: one SQLite file in WAL mode.

One connection per thread (SQLite connections must not be shared across
threads), explicit transactions, and a recorded schema version with ordered
migrations.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from engine.store.base import (
    DamagedStoreError,
    Store,
    StoreError,
    checked_vector_rows,
    count_summary,
    vector_rows,
)
from engine.tracks import Failure, Track, TrackInfo, track_from_row

#: The library database's file name in the state folder.
SQLITE_FILE = "library.sqlite3"
#: SQLite's primary result codes for a damaged file: SQLITE_CORRUPT, SQLITE_NOTADB.
_DAMAGE_CODES = frozenset({11, 26})
#: SQLite's primary result codes for faults of the machine, not the file, in words.
_FAULTS = {
    5: "the library is busy in another Encore process; try again in a moment",  # BUSY
    6: "the library is busy in another Encore process; try again in a moment",  # LOCKED
    8: "the library database is read-only",  # READONLY
    10: "input/output error on the library database",  # IOERR
    13: "the disk is full",  # FULL
    14: "the library database cannot be opened",  # CANTOPEN
}
F = TypeVar("F", bound=Callable[..., Any])

# Each entry migrates the schema from version i to i + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE tracks (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime REAL NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        artist TEXT NOT NULL DEFAULT '',
        album TEXT NOT NULL DEFAULT '',
        albumartist TEXT NOT NULL DEFAULT '',
        genre TEXT NOT NULL DEFAULT '',
        tracknumber INTEGER,
        year INTEGER,
        duration REAL,
        error TEXT NOT NULL DEFAULT '',
        added_at REAL NOT NULL
    );
    CREATE TABLE features (
        track_id INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        vector BLOB NOT NULL,
        analysed_at REAL NOT NULL
    );
    CREATE INDEX features_version ON features(version);
    CREATE TABLE scan_failures (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime REAL NOT NULL,
        reason TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE TABLE folders (
        path TEXT PRIMARY KEY,
        added_at REAL NOT NULL
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE skips (
        seed_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
        track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
        count INTEGER NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (seed_id, track_id)
    );
    CREATE INDEX skips_track ON skips(track_id);
    CREATE TABLE external_features (
        track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (name, track_id)
    );
    """,
    # what analysis found wrong with a track it could still analyse (damaged, incomplete)
    "ALTER TABLE tracks ADD COLUMN note TEXT NOT NULL DEFAULT ''",
    # why a pass after the first (the neural embedding) failed on a track
    """
    CREATE TABLE pass_errors (
        track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        reason TEXT NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (name, track_id)
    );
    CREATE INDEX pass_errors_track ON pass_errors(track_id);
    """,
)

_TRACK_COLUMNS = (
    "id, path, size, mtime, title, artist, album, albumartist, genre, tracknumber, year, "
    "duration, error, note, (SELECT version FROM features f WHERE f.track_id = t.id) AS fversion"
)


def _db_path(path: str) -> str | bytes:
    """A path as SQLite can store it.

    File names on Linux are bytes; Python keeps undecodable ones as lone
    surrogates, which SQLite's UTF-8 text cannot hold. Those are stored as the
    raw bytes (a BLOB) instead, so every file can be in the library.
    """
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape")
    return path


def _py_path(value: str | bytes) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


def is_damage(exc: sqlite3.Error) -> bool:
    """True when SQLite says the file itself is damaged (not locked, full or missing)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _DAMAGE_CODES


def fault(exc: sqlite3.Error, path: Path) -> StoreError:
    """The user-facing error for an SQLite error: damage, a full disk, a lock…"""
    if is_damage(exc):
        return DamagedStoreError(str(path), str(exc))
    code = getattr(exc, "sqlite_errorcode", None)
    cause = _FAULTS.get(code & 0xFF) if code is not None else None
    if cause is not None and code is not None and code & 0xFF in (10, 14) and _disk_full(path):
        cause = _FAULTS[13]  # SQLite could not even create its side files: no space left
    elif cause is not None and code is not None and code & 0xFF in (8, 14) and _read_only_fs(path):
        cause = "the file system is read-only"  # what the user can do something about
    if cause is not None:
        return StoreError(f"{cause}: {path} ({exc}); nothing written before was lost")
    return StoreError(f"the library database {path} is unusable: {exc}")


def _disk_full(path: Path) -> bool:
    try:
        return os.statvfs(path.parent).f_bavail == 0
    except (OSError, AttributeError):  # gone, or not POSIX
        return False


def _read_only_fs(path: Path) -> bool:
    try:
        return bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # gone, or not POSIX
        return False


def _writable(path: Path) -> bool:
    """True when this process may write the database and create its side files."""
    folder_ok = os.access(path.parent, os.W_OK)
    return folder_ok and (not path.exists() or os.access(path, os.W_OK))


def _damage_reported(method: F) -> F:
    """Turn SQLite's errors into one-line :class:`StoreError` s (a damaged file into a
    :class:`DamagedStoreError`).

    A file damaged past its first page opens normally; the damage shows when a query
    reaches it, and must reach the user as advice, not as a traceback. A full disk or
    a lock held too long by another process must read as what it is.
    """

    @functools.wraps(method)
    def guarded(self: SQLiteStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise fault(exc, self.path) from exc

    return guarded  # type: ignore[return-value]


class SQLiteStore(Store):
    """SQLite store at ``path`` (created and migrated on open).

    Opening only reads unless the schema needs creating or migrating, so a process that
    holds the write lock never makes another wait just to look. A database this process
    cannot write (a read-only file system or folder) is opened read-only: reading works,
    and a write fails with a one-line reason.
    """

    def __init__(
        self, path: str | Path, *, feature_version: int, feature_size: int | None = None
    ) -> None:
        self.path = Path(path)
        self._feature_version = feature_version
        self._feature_size = feature_size
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        #: The URI options of read-only connections, once the first one found them.
        self._read_only: str | None = None
        try:
            self._migrate()
        except sqlite3.Error as exc:
            self.close()
            raise fault(exc, self.path) from exc
        except BaseException:
            self.close()
            raise

    # -- plumbing ---------------------------------------------------------------
    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            if self._read_only is None and _writable(self.path):
                con = sqlite3.connect(self.path, isolation_level=None, timeout=30)
                con.execute("PRAGMA journal_mode=WAL")
                con.execute("PRAGMA synchronous=NORMAL")
            else:
                con = self._connect_read_only()
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA foreign_keys=ON")
            self._local.con = con
            with self._lock:
                self._all.append(con)
        return con

    def _connect_read_only(self) -> sqlite3.Connection:
        """A connection that never writes, for a database this process cannot write.

        ``mode=ro`` still needs the write-ahead log's index (``-shm``), which cannot be
        created where nothing can be written; ``immutable=1`` reads the file alone, which
        is all there is then (the log and its index exist while any writer has it open).
        """
        uri = self.path.resolve().as_uri()
        tried = (self._read_only,) if self._read_only else ("mode=ro", "mode=ro&immutable=1")
        failure: sqlite3.Error | None = None
        for options in tried:
            con = sqlite3.connect(f"{uri}?{options}", uri=True, isolation_level=None, timeout=30)
            try:
                con.execute("PRAGMA user_version").fetchone()  # opens the file and its log
            except sqlite3.Error as exc:
                con.close()
                failure = exc
                continue
            self._read_only = options
            return con
        assert failure is not None
        raise failure

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        con = self._con()
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        else:
            con.execute("COMMIT")

    def _migrate(self) -> None:
        # A library that is up to date is only read: no write lock, so opening never
        # waits for another process's write, and works where nothing can be written.
        version = self._schema_version(self._con())
        if version == len(MIGRATIONS):
            return
        # Read again inside the write transaction: another process opening the same new
        # library at the same moment waits, then finds the schema done.
        with self._tx() as tx:
            version = self._schema_version(tx)
            for number in range(version, len(MIGRATIONS)):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        tx.execute(statement)
                tx.execute(f"PRAGMA user_version = {number + 1}")

    def _schema_version(self, con: sqlite3.Connection) -> int:
        """The recorded schema version; :class:`StoreError` when no Encore can use it."""
        version = int(con.execute("PRAGMA user_version").fetchone()[0])
        if version < 0:  # no Encore writes one: damaged, or another program's database
            raise DamagedStoreError(
                str(self.path), f"its schema version is {version}, which no Encore writes"
            )
        if version > len(MIGRATIONS):
            raise StoreError(
                f"the library database {self.path} was written by a newer Encore "
                f"(schema {version}, this version knows {len(MIGRATIONS)})"
            )
        return version

    def check(self) -> None:
        """Read every page (``PRAGMA quick_check``): 65 ms for 100k tracks, warm."""
        problems = [r[0] for r in self._con().execute("PRAGMA quick_check(3)")]
        if problems != ["ok"]:
            raise DamagedStoreError(str(self.path), "; ".join(problems))

    def close(self) -> None:
        with self._lock:
            for con in self._all:
                # a connection made in a thread that has since ended may refuse
                with suppress(sqlite3.ProgrammingError):
                    con.close()
            self._all.clear()
        self._local = threading.local()

    def _row_track(self, row: sqlite3.Row) -> Track:
        data = dict(row)
        data["path"] = _py_path(data["path"])
        data["analysed"] = data.pop("fversion") == self._feature_version
        return track_from_row(data)

    # -- folders and settings -------------------------------------------------
    def folders(self) -> list[str]:
        rows = self._con().execute("SELECT path FROM folders ORDER BY added_at, path")
        return [_py_path(r[0]) for r in rows]

    def add_folders(self, folders: Iterable[str]) -> None:
        now = time.time()
        with self._tx() as tx:
            tx.executemany(
                "INSERT OR IGNORE INTO folders(path, added_at) VALUES (?, ?)",
                [(_db_path(f), now) for f in folders],
            )

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._con().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as tx:
            tx.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # -- tracks ----------------------------------------------------------------
    def tracks(self) -> list[Track]:
        rows = self._con().execute(f"SELECT {_TRACK_COLUMNS} FROM tracks t ORDER BY id")
        return [self._row_track(r) for r in rows]

    def tracks_by_ids(self, ids: Sequence[int]) -> dict[int, Track]:
        out: dict[int, Track] = {}
        con = self._con()
        ids = [int(i) for i in ids]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for r in con.execute(
                f"SELECT {_TRACK_COLUMNS} FROM tracks t WHERE id IN ({marks})", chunk
            ):
                track = self._row_track(r)
                out[track.id] = track
        return out

    def track_by_path(self, path: str) -> Track | None:
        row = (
            self._con()
            .execute(f"SELECT {_TRACK_COLUMNS} FROM tracks t WHERE path = ?", (_db_path(path),))
            .fetchone()
        )
        return self._row_track(row) if row else None

    def file_states(self) -> dict[str, tuple[int, float]]:
        con = self._con()
        states = {
            _py_path(r[0]): (r[1], r[2])
            for r in con.execute("SELECT path, size, mtime FROM tracks")
        }
        for r in con.execute("SELECT path, size, mtime FROM scan_failures"):
            states.setdefault(_py_path(r[0]), (r[1], r[2]))
        return states

    def upsert_tracks(self, infos: Sequence[TrackInfo]) -> None:
        now = time.time()
        with self._tx() as tx:
            for info in infos:
                path = _db_path(info.path)
                old = tx.execute(
                    "SELECT id, size, mtime FROM tracks WHERE path = ?", (path,)
                ).fetchone()
                values = (
                    info.size,
                    info.mtime,
                    info.title,
                    info.artist,
                    info.album,
                    info.albumartist,
                    info.genre,
                    info.tracknumber,
                    info.year,
                    info.duration,
                )
                if old is None:
                    tx.execute(
                        "INSERT INTO tracks(path, size, mtime, title, artist, album, albumartist,"
                        " genre, tracknumber, year, duration, added_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (path, *values, now),
                    )
                    continue
                changed = (old["size"], old["mtime"]) != (info.size, info.mtime)
                tx.execute(
                    "UPDATE tracks SET size=?, mtime=?, title=?, artist=?, album=?, albumartist=?,"
                    " genre=?, tracknumber=?, year=?, duration=?"
                    + (", error='', note=''" if changed else "")
                    + " WHERE id=?",
                    (*values, old["id"]),
                )
                if changed:  # what was learnt from the old file is no longer true
                    tx.execute("DELETE FROM features WHERE track_id = ?", (old["id"],))
                    tx.execute("DELETE FROM external_features WHERE track_id = ?", (old["id"],))
                    tx.execute("DELETE FROM pass_errors WHERE track_id = ?", (old["id"],))
            tx.executemany(
                "DELETE FROM scan_failures WHERE path = ?", [(_db_path(i.path),) for i in infos]
            )

    def remove_paths(self, paths: Iterable[str]) -> int:
        removed = 0
        with self._tx() as tx:
            for path in map(_db_path, paths):
                removed += tx.execute("DELETE FROM tracks WHERE path = ?", (path,)).rowcount
                tx.execute("DELETE FROM scan_failures WHERE path = ?", (path,))
        return removed

    # -- failures ----------------------------------------------------------------
    def record_scan_failures(self, failures: Sequence[Failure]) -> None:
        now = time.time()
        with self._tx() as tx:
            for f in failures:
                path = _db_path(f.path)
                # A file that became unreadable is no longer a playable track.
                tx.execute("DELETE FROM tracks WHERE path = ?", (path,))
                tx.execute(
                    "INSERT OR REPLACE INTO scan_failures(path, size, mtime, reason, at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (path, f.size, f.mtime, f.reason, now),
                )

    def failures(self) -> list[Failure]:
        con = self._con()
        out = [
            Failure(_py_path(r[0]), "scan", r[3], r[1], r[2])
            for r in con.execute(
                "SELECT path, size, mtime, reason FROM scan_failures ORDER BY path"
            )
        ]
        out += [
            Failure(_py_path(r[0]), "analyze", r[3], r[1], r[2])
            for r in con.execute(
                "SELECT path, size, mtime, error FROM tracks WHERE error != '' ORDER BY path"
            )
        ]
        out += [
            Failure(_py_path(r[0]), "damaged", r[3], r[1], r[2])
            for r in con.execute(
                "SELECT path, size, mtime, note FROM tracks WHERE note != '' ORDER BY path"
            )
        ]
        return out

    # -- features ----------------------------------------------------------------
    def pending_analysis(self, retry: Callable[[str], bool] | None = None) -> list[tuple[int, str]]:
        rows = self._con().execute(
            "SELECT t.id, t.path, t.error FROM tracks t LEFT JOIN features f"
            " ON f.track_id = t.id AND f.version = ?"
            " WHERE f.track_id IS NULL ORDER BY t.id",
            (self._feature_version,),
        )
        return [
            (r[0], _py_path(r[1])) for r in rows if not r[2] or (retry is not None and retry(r[2]))
        ]

    def missing_external(
        self, name: str, retry: Callable[[str], bool] | None = None
    ) -> list[tuple[int, str]]:
        rows = self._con().execute(
            "SELECT t.id, t.path, p.reason FROM tracks t JOIN features f"
            " ON f.track_id = t.id AND f.version = ?"
            " LEFT JOIN external_features e ON e.track_id = t.id AND e.name = ?"
            " LEFT JOIN pass_errors p ON p.track_id = t.id AND p.name = ?"
            " WHERE e.track_id IS NULL ORDER BY t.id",
            (self._feature_version, name, name),
        )
        return [
            (r[0], _py_path(r[1]))
            for r in rows
            if r[2] is None or (retry is not None and retry(r[2]))
        ]

    def put_features(self, rows: Sequence[tuple[int, np.ndarray]]) -> None:
        now, version = time.time(), self._feature_version
        with self._tx() as tx:
            tx.executemany(
                "INSERT OR REPLACE INTO features(track_id, version, vector, analysed_at)"
                " SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM tracks WHERE id = ?)",
                [
                    (int(i), version, np.asarray(v, dtype=np.float32).tobytes(), now, int(i))
                    for i, v in rows
                ],
            )
            # analysed at last (a retry after a crash): no longer a failure
            tx.executemany(
                "UPDATE tracks SET error = '' WHERE id = ? AND error != ''",
                [(int(i),) for i, _ in rows],
            )

    def put_analysis_errors(self, rows: Sequence[tuple[int, str]]) -> None:
        with self._tx() as tx:
            tx.executemany(
                "UPDATE tracks SET error = ? WHERE id = ?", [(e, int(i)) for i, e in rows]
            )
            tx.executemany("DELETE FROM features WHERE track_id = ?", [(int(i),) for i, _ in rows])

    def put_decoded(self, rows: Sequence[tuple[int, float, str]]) -> None:
        with self._tx() as tx:
            tx.executemany(
                "UPDATE tracks SET duration = ?, note = ? WHERE id = ?",
                [(float(d), note, int(i)) for i, d, note in rows],
            )

    def _feature_rows(self) -> tuple[np.ndarray, np.ndarray, list[int]]:
        sql = "SELECT track_id, vector FROM features WHERE version = ? ORDER BY track_id"
        rows = self._con().execute(sql, (self._feature_version,)).fetchall()
        return checked_vector_rows(rows, self._feature_size)

    def features(self) -> tuple[np.ndarray, np.ndarray]:
        ids, matrix, _ = self._feature_rows()
        return ids, matrix

    def damaged_features(self) -> list[int]:
        return self._feature_rows()[2]

    # -- listening feedback ---------------------------------------------------------
    def record_skip(self, seed_id: int, track_id: int, at: float) -> None:
        with self._tx() as con:
            con.execute(
                "INSERT INTO skips(seed_id, track_id, count, at) VALUES (?, ?, 1, ?) "
                "ON CONFLICT(seed_id, track_id) DO UPDATE SET count = count + 1, at = excluded.at",
                (seed_id, track_id, at),
            )

    def skips_for_seed(self, seed_id: int) -> dict[int, int]:
        rows = self._con().execute(
            "SELECT track_id, count FROM skips WHERE seed_id = ?", (seed_id,)
        )
        return {r[0]: r[1] for r in rows}

    def skip_totals(self) -> dict[int, int]:
        rows = self._con().execute("SELECT track_id, SUM(count) FROM skips GROUP BY track_id")
        return {r[0]: r[1] for r in rows}

    def reset_skips(self, track_id: int | None = None) -> int:
        with self._tx() as con:
            if track_id is None:
                return con.execute("DELETE FROM skips").rowcount
            return con.execute(
                "DELETE FROM skips WHERE seed_id = ? OR track_id = ?", (track_id, track_id)
            ).rowcount

    # -- imported metadata and features (engine/datasets/fma.py) ---------------------------------
    def update_tags(self, rows: Sequence[tuple[int, dict[str, str]]]) -> int:
        unknown = {key for _, tags in rows for key in tags} - set(self.EDITABLE_TAGS)
        if unknown:  # column names go into the SQL text, so only known ones may pass
            raise ValueError(f"not a tag field: {', '.join(sorted(unknown))}")
        updated = 0
        with self._tx() as tx:
            for track_id, tags in rows:
                if not tags:
                    continue
                assignments = ", ".join(f"{key} = ?" for key in tags)
                updated += tx.execute(
                    f"UPDATE tracks SET {assignments} WHERE id = ?",
                    (*(str(v) for v in tags.values()), int(track_id)),
                ).rowcount
        return updated

    def put_external_features(self, name: str, rows: Sequence[tuple[int, np.ndarray]]) -> None:
        blobs = [(int(i), np.asarray(v, dtype=np.float32).ravel().tobytes()) for i, v in rows]
        with self._tx() as tx:
            stored = tx.execute(
                "SELECT length(vector) FROM external_features WHERE name = ? LIMIT 1", (name,)
            ).fetchone()
            # one length per name, or external_features() could not reshape the rows
            sizes = {len(b) for _, b in blobs} | ({stored[0]} if stored else set())
            if len(sizes) > 1:
                raise ValueError(
                    f"{name} feature vectors must all have one length, not "
                    + " and ".join(str(s // 4) for s in sorted(sizes))
                )
            tx.executemany(
                "INSERT OR REPLACE INTO external_features(track_id, name, vector)"
                " SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM tracks WHERE id = ?)",
                [(i, name, blob, i) for i, blob in blobs],
            )
            # done at last (a retry): no longer a failure of this pass
            tx.executemany(
                "DELETE FROM pass_errors WHERE name = ? AND track_id = ?",
                [(name, i) for i, _ in blobs],
            )

    def _external_rows(self, name: str) -> list[tuple[int, object]]:
        sql = "SELECT track_id, vector FROM external_features WHERE name = ? ORDER BY track_id"
        return self._con().execute(sql, (name,)).fetchall()

    def external_features(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return vector_rows(self._external_rows(name))

    def checked_external_features(
        self, name: str, size: int
    ) -> tuple[np.ndarray, np.ndarray, list[int]]:
        return checked_vector_rows(self._external_rows(name), size)

    # -- per-pass errors --------------------------------------------------------------
    def put_pass_errors(self, name: str, rows: Sequence[tuple[int, str]]) -> None:
        now = time.time()
        with self._tx() as tx:
            tx.executemany(
                "INSERT OR REPLACE INTO pass_errors(track_id, name, reason, at)"
                " SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM tracks WHERE id = ?)",
                [(int(i), name, reason, now, int(i)) for i, reason in rows],
            )
            tx.executemany(
                "DELETE FROM external_features WHERE name = ? AND track_id = ?",
                [(name, int(i)) for i, _ in rows],
            )

    def pass_failures(self, name: str) -> list[Failure]:
        rows = self._con().execute(
            "SELECT t.path, t.size, t.mtime, p.reason FROM pass_errors p"
            " JOIN tracks t ON t.id = p.track_id WHERE p.name = ? ORDER BY t.path",
            (name,),
        )
        return [Failure(_py_path(r[0]), name, r[3], r[1], r[2]) for r in rows]

    def clear_pass_errors(self, name: str) -> int:
        with self._tx() as tx:
            return tx.execute("DELETE FROM pass_errors WHERE name = ?", (name,)).rowcount

    def counts(self) -> dict[str, int]:
        con = self._con()
        tracks = con.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]
        analysed = con.execute(
            "SELECT COUNT(*) FROM features WHERE version = ?", (self._feature_version,)
        ).fetchone()[0]
        errors = con.execute("SELECT COUNT(*) FROM tracks WHERE error != ''").fetchone()[0]
        scan_failed = con.execute("SELECT COUNT(*) FROM scan_failures").fetchone()[0]
        return count_summary(tracks, analysed, errors, scan_failed)


# Every public method reports a damaged file the same way (close() only releases).
for _name, _method in list(vars(SQLiteStore).items()):
    if not _name.startswith("_") and _name != "close" and callable(_method):
        setattr(SQLiteStore, _name, _damage_reported(_method))
