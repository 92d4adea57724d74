"""Starting over from a damaged library database, keeping the damaged file."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from engine.store.sqlite import SQLITE_FILE, SQLiteStore


def recover(database: Path, *, feature_version: int) -> Path:
    """Move the damaged ``database`` aside and start a new one; return where it went.

    Nothing is deleted: ``library.sqlite3`` and its ``-wal``/``-shm`` files are renamed
    to ``library.sqlite3.damaged-<timestamp>`` (plus the same suffixes) in its folder.
    The library folders it lists, as far as they can still be read, are carried into a
    new, empty library; scanning them rebuilds it (``encore scan``, or the window, which
    rescans its folders when it opens). The trained model is kept.
    """
    folder = database.parent
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = folder / f"{SQLITE_FILE}.damaged-{stamp}"
    for n in range(2, 1000):
        if not any(Path(f"{target}{s}").exists() for s in ("", "-wal", "-shm", "-journal")):
            break
        target = folder / f"{SQLITE_FILE}.damaged-{stamp}-{n}"
    # The side files first: a write-ahead log left beside a new database would be
    # replayed into it. Renamed with the database's new name, SQLite still pairs them.
    for suffix in ("-wal", "-shm", "-journal"):
        side = folder / f"{SQLITE_FILE}{suffix}"
        if side.exists():
            os.replace(side, f"{target}{suffix}")
    os.replace(database, target)
    fresh = SQLiteStore(database, feature_version=feature_version)
    try:
        fresh.add_folders(damaged_store_folders(target))
    finally:
        fresh.close()
    return target


def damaged_store_folders(path: str | os.PathLike[str]) -> list[str]:
    """The library folders listed in a (damaged) database, or ``[]`` if unreadable.

    Opened read-only, so the damaged file stays exactly as it was.
    """
    uri = Path(path).resolve().as_uri()
    # mode=ro reads its write-ahead log too; immutable=1 when that cannot be opened
    for options in ("mode=ro", "immutable=1"):
        try:
            con = sqlite3.connect(f"{uri}?{options}", uri=True)
        except sqlite3.Error:
            continue
        try:
            rows = con.execute("SELECT path FROM folders ORDER BY added_at, path").fetchall()
        except sqlite3.Error:
            continue
        finally:
            con.close()
        return [
            p.decode("utf-8", "surrogateescape") if isinstance(p, bytes) else p for (p,) in rows
        ]
    return []
