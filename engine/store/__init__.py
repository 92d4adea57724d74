"""Stores behind one interface; SQLite is the embedded default."""

from __future__ import annotations

from pathlib import Path

from engine.store.base import Store, StoreError
from engine.store.sqlite import SQLiteStore

__all__ = ["SQLiteStore", "Store", "StoreError", "open_store"]


def open_store(home: Path, *, feature_version: int) -> Store:
    """Open the library database in ``home``."""
    return SQLiteStore(home / "library.sqlite3", feature_version=feature_version)
