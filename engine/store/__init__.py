"""Stores behind one interface; SQLite is the embedded default, MongoDB the shared one."""

from __future__ import annotations

import os
from pathlib import Path

from engine.paths import store_setting
from engine.store.base import DamagedStoreError, Store, StoreError
from engine.store.sqlite import SQLITE_FILE, SQLiteStore

__all__ = [
    "SQLITE_FILE",
    "DamagedStoreError",
    "SQLiteStore",
    "Store",
    "StoreError",
    "open_store",
    "store_uri",
]


def store_uri(home: Path, uri: str | None = None) -> str | None:
    """The store to use: ``uri`` (``--store``), else ``$ENCORE_STORE``, else the one
    chosen in the window, else None (the SQLite library in ``home``)."""
    return uri or os.environ.get("ENCORE_STORE") or store_setting(home)


def open_store(
    home: Path, *, feature_version: int, feature_size: int | None = None, uri: str | None = None
) -> Store:
    """Open the library: MongoDB for a ``mongodb://`` URI, else SQLite in ``home``.

    ``feature_size``: the values in a feature vector (see :class:`Store`).
    """
    from engine.store.mongo import MongoStore, is_mongo_uri

    chosen = store_uri(home, uri)
    if chosen is None:
        return SQLiteStore(
            home / SQLITE_FILE, feature_version=feature_version, feature_size=feature_size
        )
    if not is_mongo_uri(chosen):
        raise StoreError(
            "the store must be a mongodb:// or mongodb+srv:// URI "
            "(leave it out for the library on this computer)"
        )
    return MongoStore(chosen, feature_version=feature_version, feature_size=feature_size)
