"""MongoDB store (pymongo): one catalogue shared by several machines.

Chosen with a ``mongodb://`` (or ``mongodb+srv://``) URI. The database is the URI's
path (default ``encore``). Collections:

``tracks``
    ``{_id: int, path, size, mtime, title, …, error, added_at}``; unique index on path.
``features``
    ``{_id: track id, version, vector: float32 bytes, analysed_at}``; index on version.
``scan_failures``, ``folders``, ``meta``
    Keyed by path or key.
``skips``, ``external_features``
    Listening feedback and imported feature sets (unique compound indexes).
``pass_errors``
    ``{name, track, reason, at}``: why a pass after the first failed on a track (unique
    on name and track).
``counters``
    Integer track ids, shared by every writer (one atomic ``$inc`` per batch).

MongoDB only has multi-document transactions on replica sets, so every write here
is idempotent and ordered so that an interruption at any point leaves whole
documents and a consistent library: features are dropped *before* their track's
size/mtime change (an interrupted rescan re-analyses the track rather than keeping
stale features), a track's features go before the track, and each document is
written whole by one atomic upsert. Plain pymongo only, so it works unchanged
against MongoDB proper.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import unquote_plus

import numpy as np

from engine.store.base import Store, StoreError, checked_vector_rows, count_summary, vector_rows
from engine.tracks import TAG_FIELDS, TEXT_TAGS, Failure, Track, TrackInfo, track_from_row

F = TypeVar("F", bound=Callable[..., Any])

#: How long to look for a server before saying it is unreachable.
SERVER_TIMEOUT_MS = 5000


def is_mongo_uri(text: str | None) -> bool:
    return bool(text) and str(text).startswith(("mongodb://", "mongodb+srv://"))


#: Shown instead of the address of a URI that cannot be read safely.
HIDDEN = "MongoDB (its address is not shown: the URI cannot be read safely)"
#: Where a URI's parts split, for finding its pieces in an error message.
_DELIMITERS = re.compile(r"[\s:/?#@&=,;\[\]%+]")


def describe_uri(uri: str) -> str | None:
    """Only the host(s) and database of ``uri`` (``db.lan:27017/encore``), as pymongo
    reads them; None when that cannot be done safely.

    The text is built from pymongo's parsed hosts and database, never cut out of the
    URI, so credentials and options (``authMechanismProperties`` tokens…) cannot be in
    it. A URI with an ``@`` after its host list is not described: an unescaped ``/``,
    ``?`` or ``#`` in a password moved the password there, and the "hosts" before it
    would be pieces of the password.
    """
    from pymongo.uri_parser import parse_uri

    scheme, sep, rest = uri.partition("://")
    if not sep or scheme not in ("mongodb", "mongodb+srv"):
        return None
    head, _, query = rest.partition("?")  # pymongo splits off the options first, too
    _, _, db_part = head.partition("/")
    if "@" in db_part or "@" in query:
        return None
    try:
        with _quiet():  # the options are left out: no DNS look-up, nothing to warn about
            parsed = parse_uri(f"mongodb://{head}", default_port=None, validate=False)
    except Exception:  # any failure to read it means: do not show it
        return None
    nodes = parsed["nodelist"]
    if scheme == "mongodb+srv" and (len(nodes) != 1 or nodes[0][1] is not None):
        return None
    if scheme == "mongodb":  # as the client will use them: 27017 unless given
        nodes = [(h, None if h.endswith(".sock") else port or 27017) for h, port in nodes]
    hosts = ",".join(
        (f"[{host}]" if ":" in host else host) + ("" if port is None else f":{port}")
        for host, port in nodes
    )
    text = f"{hosts}/{parsed['database'] or 'encore'}"
    if not text.isprintable() or any(c.isspace() for c in text):
        return None  # control characters have no place in a message or the status bar
    return text


def redact(uri: str) -> str:
    """``uri`` for messages and the window: scheme, host(s) and database only
    (``mongodb://db.lan:27017/encore``); :data:`HIDDEN` for a URI that cannot be read."""
    described = describe_uri(uri)
    return f"{uri.partition('://')[0]}://{described}" if described else HIDDEN


def _private_pieces(uri: str) -> set[str]:
    """The parts of ``uri`` an error message must not quote: what may be a password
    (everything between the first ``:`` and the last ``@``), every option value but flags
    and numbers and, for a URI that cannot be read, all of it; whole, percent-decoded
    and split at the URI's delimiters (pieces of 3+ characters, casefolded). Read loosely
    on purpose: it must also cover a URI pymongo cannot parse."""
    rest = uri.partition("://")[2]
    private = [rest.rpartition("@")[0].partition(":")[2]]
    if describe_uri(uri) is None:  # which part is the password is anyone's guess
        private.append(rest)
    values = [option.partition("=")[2] for option in re.split("[&;]", rest.partition("?")[2])]
    # Flags and numbers are no secret, and messages about them ("…loadBalanced=true")
    # say what is wrong.
    private += [v for v in values if not (v.isdigit() or v.lower() in ("true", "false"))]
    pieces = set()
    for text in private:
        for form in (text, unquote_plus(text)):
            pieces.update(p.casefold() for p in [form, *_DELIMITERS.split(form)] if len(p) >= 3)
    return pieces


def _safe_detail(text: str, uri: str) -> str | None:
    """pymongo's message ``text`` when it quotes no private part of ``uri``, else None."""
    folded = text.casefold()
    if any(piece in folded for piece in _private_pieces(uri)):
        return None
    return text


@contextmanager
def _quiet() -> Iterator[None]:
    """No pymongo warning or log record reaches the terminal: they can quote the URI or
    its options (an unknown option named after a piece of a password, a malformed
    ``authMechanismProperties`` value…).

    pymongo's loggers end in a NullHandler and stop there (nothing reaches the root
    logger's handlers or logging's last-resort stderr handler); its warnings are ignored
    wherever they are raised from, and the ones it attributes to the caller's code are
    ignored while the client is made here."""
    logger = logging.getLogger("pymongo")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    logger.propagate = False
    warnings.filterwarnings("ignore", module=r"pymongo(\.|$)")  # e.g. monitor threads
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _db_path(path: str) -> str:
    """Paths as BSON strings. A name that is not UTF-8 (BSON strings must be) is kept as
    U+FFFE (a Unicode noncharacter, which no real path starts with) + the hex of its
    bytes: unlike a binary value, a string matches in every server's queries."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "\ufffe" + os.fsencode(path).hex()
    return path


def _py_path(value: str) -> str:
    return os.fsdecode(bytes.fromhex(value[1:])) if value.startswith("\ufffe") else value


def _translated(method: F) -> F:
    """Turn pymongo's errors into one-line StoreErrors without the password."""

    @functools.wraps(method)
    def wrapper(self: MongoStore, *args: Any, **kwargs: Any) -> Any:
        from pymongo.errors import PyMongoError

        try:
            return method(self, *args, **kwargs)
        except PyMongoError as exc:
            raise StoreError(self._describe(exc)) from None

    return wrapper  # type: ignore[return-value]


class MongoStore(Store):
    """A :class:`Store` in a MongoDB database at ``uri``."""

    def __init__(self, uri: str, *, feature_version: int, feature_size: int | None = None) -> None:
        from pymongo import MongoClient
        from pymongo.errors import ConfigurationError, PyMongoError

        self._client = None
        self._uri = uri
        self._feature_version = feature_version
        self._feature_size = feature_size
        self.location = redact(uri)
        described = describe_uri(uri)
        #: How messages name the server: never more than its host(s) and database.
        self._where = f"MongoDB at {described}" if described else HIDDEN
        options: dict[str, Any] = {"connect": False, "appname": "Encore"}
        if "serverselectiontimeoutms" not in uri.lower():  # the URI's own setting wins
            options["serverSelectionTimeoutMS"] = SERVER_TIMEOUT_MS
        try:
            with _quiet():
                self._client: Any = MongoClient(uri, **options)
                self._db = self._client.get_default_database("encore")
                self._client.admin.command("ping")
                self._db.tracks.create_index("path", unique=True)
                self._db.features.create_index("version")
                self._db.skips.create_index([("seed", 1), ("track", 1)], unique=True)
                self._db.skips.create_index("track")
                self._db.external_features.create_index([("name", 1), ("track", 1)], unique=True)
                self._db.pass_errors.create_index([("name", 1), ("track", 1)], unique=True)
                self._db.pass_errors.create_index("track")
        except (PyMongoError, ConfigurationError, ValueError) as exc:
            self.close()
            raise StoreError(self._describe(exc)) from None
        except Exception as exc:  # a server that breaks the handshake (e.g. on auth)
            self.close()
            detail = self._describe(exc).split(": ", 1)[-1]
            raise StoreError(f"{self._where} refused the connection ({detail})") from None

    def __repr__(self) -> str:
        return f"MongoStore({self.location!r})"

    def _describe(self, exc: BaseException) -> str:
        from pymongo.errors import (
            ConnectionFailure,
            OperationFailure,
            ServerSelectionTimeoutError,
        )

        where = self._where
        if isinstance(exc, ServerSelectionTimeoutError):
            return f"cannot reach {where} (is the server running and reachable?)"
        if isinstance(exc, ConnectionFailure):
            return f"lost the connection to {where}; nothing half-written was kept"
        if isinstance(exc, OperationFailure) and exc.code in (13, 18):
            return f"{where} refused the credentials or the access"
        text = (str(exc).splitlines() or [""])[0] or type(exc).__name__
        text = f"{type(exc).__name__}: {text}" if isinstance(exc, KeyError) else text
        # pymongo's messages may quote the URI's options or a misplaced password.
        safe = _safe_detail(text, self._uri)
        return f"{where}: {safe or type(exc).__name__ + ' (not shown: it quotes the URI)'}"

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()

    # -- helpers -----------------------------------------------------------------------
    def _new_ids(self, count: int) -> list[int]:
        from pymongo import ReturnDocument

        counter = self._db.counters.find_one_and_update(
            {"_id": "tracks"},
            {"$inc": {"seq": count}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        last = int(counter["seq"])
        return list(range(last - count + 1, last + 1))

    def _track(self, doc: dict[str, Any], versions: dict[int, int]) -> Track:
        data = {k: doc.get(k) for k in ("size", "mtime", *TAG_FIELDS)}
        data.update(
            id=int(doc["_id"]),
            path=_py_path(doc["path"]),
            error=doc.get("error") or "",
            note=doc.get("note") or "",
            analysed=versions.get(int(doc["_id"])) == self._feature_version,
        )
        for key in TEXT_TAGS:
            data[key] = data[key] or ""
        return track_from_row(data)

    def _versions(self, ids: Sequence[int] | None = None) -> dict[int, int]:
        query = {} if ids is None else {"_id": {"$in": list(ids)}}
        return {int(d["_id"]): d["version"] for d in self._db.features.find(query, {"version": 1})}

    # -- folders and settings ----------------------------------------------------------
    @_translated
    def folders(self) -> list[str]:
        docs = self._db.folders.find().sort([("added_at", 1), ("_id", 1)])
        return [_py_path(d["_id"]) for d in docs]

    @_translated
    def add_folders(self, folders: Iterable[str]) -> None:
        now = time.time()
        for folder in folders:
            self._db.folders.update_one(
                {"_id": _db_path(folder)}, {"$setOnInsert": {"added_at": now}}, upsert=True
            )

    @_translated
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        doc = self._db.meta.find_one({"_id": key})
        return doc["value"] if doc else default

    @_translated
    def set_meta(self, key: str, value: str) -> None:
        self._db.meta.update_one({"_id": key}, {"$set": {"value": value}}, upsert=True)

    # -- tracks ------------------------------------------------------------------------
    @_translated
    def tracks(self) -> list[Track]:
        versions = self._versions()
        return [self._track(d, versions) for d in self._db.tracks.find().sort("_id", 1)]

    @_translated
    def tracks_by_ids(self, ids: Sequence[int]) -> dict[int, Track]:
        ids = [int(i) for i in ids]
        versions = self._versions(ids)
        docs = self._db.tracks.find({"_id": {"$in": ids}})
        return {int(d["_id"]): self._track(d, versions) for d in docs}

    @_translated
    def track_by_path(self, path: str) -> Track | None:
        doc = self._db.tracks.find_one({"path": _db_path(path)})
        return self._track(doc, self._versions([doc["_id"]])) if doc else None

    @_translated
    def file_states(self) -> dict[str, tuple[int, float]]:
        fields = {"path": 1, "size": 1, "mtime": 1}
        states = {
            _py_path(d["path"]): (d["size"], d["mtime"]) for d in self._db.tracks.find({}, fields)
        }
        for d in self._db.scan_failures.find({}, {"size": 1, "mtime": 1}):
            states.setdefault(_py_path(d["_id"]), (d["size"], d["mtime"]))
        return states

    @_translated
    def upsert_tracks(self, infos: Sequence[TrackInfo]) -> None:
        from pymongo import UpdateOne

        if not infos:
            return
        paths = [_db_path(i.path) for i in infos]
        old = {
            _py_path(d["path"]): d
            for d in self._db.tracks.find(
                {"path": {"$in": paths}}, {"size": 1, "mtime": 1, "path": 1}
            )
        }
        changed = [
            old[i.path]["_id"]
            for i in infos
            if i.path in old and (old[i.path]["size"], old[i.path]["mtime"]) != (i.size, i.mtime)
        ]
        if changed:  # first, so an interruption leaves "needs analysis", never stale features
            self._db.features.delete_many({"_id": {"$in": changed}})
            self._db.external_features.delete_many({"track": {"$in": changed}})
            self._db.pass_errors.delete_many({"track": {"$in": changed}})
        fresh = iter(self._new_ids(sum(1 for i in infos if i.path not in old)))
        now = time.time()
        ops = []
        for info, path in zip(infos, paths, strict=True):
            values: dict[str, Any] = {"size": info.size, "mtime": info.mtime}
            values.update({k: getattr(info, k) for k in TAG_FIELDS})
            if info.path in old:
                if old[info.path]["_id"] in changed:
                    values["error"] = ""
                    values["note"] = ""
                ops.append(UpdateOne({"path": path}, {"$set": values}))
            else:
                new = {"_id": next(fresh), "error": "", "added_at": now}
                ops.append(
                    UpdateOne({"path": path}, {"$set": values, "$setOnInsert": new}, upsert=True)
                )
        self._db.tracks.bulk_write(ops, ordered=False)
        self._db.scan_failures.delete_many({"_id": {"$in": paths}})

    @_translated
    def remove_paths(self, paths: Iterable[str]) -> int:
        paths = [_db_path(p) for p in paths]
        ids = [d["_id"] for d in self._db.tracks.find({"path": {"$in": paths}}, {"_id": 1})]
        self._forget(ids)
        removed = self._db.tracks.delete_many({"_id": {"$in": ids}}).deleted_count
        self._db.scan_failures.delete_many({"_id": {"$in": paths}})
        return removed

    def _forget(self, ids: list[int]) -> None:
        """Everything that hangs off these tracks (before the tracks themselves go)."""
        if ids:
            self._db.features.delete_many({"_id": {"$in": ids}})
            self._db.skips.delete_many({"$or": [{"seed": {"$in": ids}}, {"track": {"$in": ids}}]})
            self._db.external_features.delete_many({"track": {"$in": ids}})
            self._db.pass_errors.delete_many({"track": {"$in": ids}})

    # -- failures ----------------------------------------------------------------------
    @_translated
    def record_scan_failures(self, failures: Sequence[Failure]) -> None:
        now = time.time()
        for f in failures:
            path = _db_path(f.path)
            # A file that became unreadable is no longer a playable track.
            gone = [d["_id"] for d in self._db.tracks.find({"path": path}, {"_id": 1})]
            self._forget(gone)
            self._db.tracks.delete_many({"path": path})
            self._db.scan_failures.replace_one(
                {"_id": path},
                {"_id": path, "size": f.size, "mtime": f.mtime, "reason": f.reason, "at": now},
                upsert=True,
            )

    @_translated
    def failures(self) -> list[Failure]:
        out = [
            Failure(_py_path(d["_id"]), "scan", d["reason"], d["size"], d["mtime"])
            for d in self._db.scan_failures.find()
        ]
        out.sort(key=lambda f: f.path)
        errors = self._db.tracks.find({"error": {"$nin": ["", None]}})
        analysis = [
            Failure(_py_path(d["path"]), "analyze", d["error"], d["size"], d["mtime"])
            for d in errors
        ]
        notes = self._db.tracks.find({"note": {"$nin": ["", None]}})
        damaged = [
            Failure(_py_path(d["path"]), "damaged", d["note"], d["size"], d["mtime"]) for d in notes
        ]
        return out + sorted(analysis, key=lambda f: f.path) + sorted(damaged, key=lambda f: f.path)

    # -- features ----------------------------------------------------------------------
    @_translated
    def pending_analysis(self, retry: Callable[[str], bool] | None = None) -> list[tuple[int, str]]:
        version = self._feature_version
        done = {d["_id"] for d in self._db.features.find({"version": version}, {"_id": 1})}
        docs = self._db.tracks.find({}, {"path": 1, "error": 1}).sort("_id", 1)
        return [
            (int(d["_id"]), _py_path(d["path"]))
            for d in docs
            if d["_id"] not in done
            and (not d.get("error") or (retry is not None and retry(d["error"])))
        ]

    @_translated
    def missing_external(
        self, name: str, retry: Callable[[str], bool] | None = None
    ) -> list[tuple[int, str]]:
        analysed = {
            d["_id"] for d in self._db.features.find({"version": self._feature_version}, {"_id": 1})
        }
        done = {d["track"] for d in self._db.external_features.find({"name": name}, {"track": 1})}
        failed = {
            d["track"]
            for d in self._db.pass_errors.find({"name": name}, {"track": 1, "reason": 1})
            if retry is None or not retry(str(d.get("reason") or ""))
        }
        wanted = sorted(analysed - done - failed)
        docs = self._db.tracks.find({"_id": {"$in": wanted}}, {"path": 1}).sort("_id", 1)
        return [(int(d["_id"]), _py_path(d["path"])) for d in docs]

    @_translated
    def put_features(self, rows: Sequence[tuple[int, np.ndarray]]) -> None:
        from bson import Binary
        from pymongo import ReplaceOne

        ids = [int(i) for i, _ in rows]
        known = {d["_id"] for d in self._db.tracks.find({"_id": {"$in": ids}}, {"_id": 1})}
        now = time.time()
        ops = [
            ReplaceOne(
                {"_id": int(i)},
                {
                    "_id": int(i),  # explicit: not every server copies it from the filter
                    "version": self._feature_version,
                    "vector": Binary(np.asarray(v, dtype=np.float32).tobytes()),
                    "analysed_at": now,
                },
                upsert=True,
            )
            for i, v in rows
            if int(i) in known
        ]
        if ops:
            self._db.features.bulk_write(ops, ordered=False)
            # analysed at last (a retry after a crash): no longer a failure
            self._db.tracks.update_many(
                {"_id": {"$in": [int(i) for i, _ in rows]}, "error": {"$nin": ["", None]}},
                {"$set": {"error": ""}},
            )

    @_translated
    def put_analysis_errors(self, rows: Sequence[tuple[int, str]]) -> None:
        from pymongo import UpdateOne

        if not rows:
            return
        self._db.features.delete_many({"_id": {"$in": [int(i) for i, _ in rows]}})
        ops = [UpdateOne({"_id": int(i)}, {"$set": {"error": e}}) for i, e in rows]
        self._db.tracks.bulk_write(ops, ordered=False)

    @_translated
    def put_decoded(self, rows: Sequence[tuple[int, float, str]]) -> None:
        from pymongo import UpdateOne

        ops = [
            UpdateOne({"_id": int(i)}, {"$set": {"duration": float(d), "note": note}})
            for i, d, note in rows
        ]
        if ops:
            self._db.tracks.bulk_write(ops, ordered=False)

    def _feature_rows(self) -> tuple[np.ndarray, np.ndarray, list[int]]:
        docs = self._db.features.find({"version": self._feature_version}).sort("_id", 1)
        rows = [(d["_id"], d.get("vector")) for d in docs]
        return checked_vector_rows(rows, self._feature_size)

    @_translated
    def features(self) -> tuple[np.ndarray, np.ndarray]:
        ids, matrix, _ = self._feature_rows()
        return ids, matrix

    @_translated
    def damaged_features(self) -> list[int]:
        return self._feature_rows()[2]

    @_translated
    def counts(self) -> dict[str, int]:
        tracks = self._db.tracks.count_documents({})
        analysed = self._db.features.count_documents({"version": self._feature_version})
        errors = self._db.tracks.count_documents({"error": {"$nin": ["", None]}})
        scan_failed = self._db.scan_failures.count_documents({})
        return count_summary(tracks, analysed, errors, scan_failed)

    # -- listening feedback --------------------------------------------------------------
    @_translated
    def record_skip(self, seed_id: int, track_id: int, at: float) -> None:
        self._db.skips.update_one(
            {"seed": int(seed_id), "track": int(track_id)},
            {"$inc": {"count": 1}, "$set": {"at": at}},
            upsert=True,
        )

    @_translated
    def skips_for_seed(self, seed_id: int) -> dict[int, int]:
        return {int(d["track"]): d["count"] for d in self._db.skips.find({"seed": int(seed_id)})}

    @_translated
    def skip_totals(self) -> dict[int, int]:
        groups = self._db.skips.aggregate([{"$group": {"_id": "$track", "n": {"$sum": "$count"}}}])
        return {int(g["_id"]): int(g["n"]) for g in groups}

    @_translated
    def reset_skips(self, track_id: int | None = None) -> int:
        query = {} if track_id is None else {"$or": [{"seed": track_id}, {"track": track_id}]}
        return self._db.skips.delete_many(query).deleted_count

    # -- imported metadata and features --------------------------------------------------
    @_translated
    def update_tags(self, rows: Sequence[tuple[int, dict[str, str]]]) -> int:
        from pymongo import UpdateOne

        unknown = {key for _, tags in rows for key in tags} - set(self.EDITABLE_TAGS)
        if unknown:
            raise ValueError(f"not a tag field: {', '.join(sorted(unknown))}")
        ops = [
            UpdateOne({"_id": int(i)}, {"$set": {k: str(v) for k, v in tags.items()}})
            for i, tags in rows
            if tags
        ]
        return self._db.tracks.bulk_write(ops).matched_count if ops else 0

    @_translated
    def put_external_features(self, name: str, rows: Sequence[tuple[int, np.ndarray]]) -> None:
        from bson import Binary
        from pymongo import ReplaceOne

        blobs = [(int(i), np.asarray(v, dtype=np.float32).ravel().tobytes()) for i, v in rows]
        stored = (self._db.external_features.find_one({"name": name}) or {}).get("vector")
        # a stored value that is not bytes is damage (left out by reads), not a length
        sizes = {len(b) for _, b in blobs} | ({len(stored)} if isinstance(stored, bytes) else set())
        if len(sizes) > 1:
            raise ValueError(
                f"{name} feature vectors must all have one length, not "
                + " and ".join(str(s // 4) for s in sorted(sizes))
            )
        ids = [i for i, _ in blobs]
        known = {d["_id"] for d in self._db.tracks.find({"_id": {"$in": ids}}, {"_id": 1})}
        ops = [
            ReplaceOne(
                {"name": name, "track": i},
                {"name": name, "track": i, "vector": Binary(b)},
                upsert=True,
            )
            for i, b in blobs
            if i in known
        ]
        if ops:
            self._db.external_features.bulk_write(ops, ordered=False)
            # done at last (a retry): no longer a failure of this pass
            done = [i for i, _ in blobs if i in known]
            self._db.pass_errors.delete_many({"name": name, "track": {"$in": done}})

    def _external_rows(self, name: str) -> list[tuple[int, object]]:
        docs = self._db.external_features.find({"name": name}).sort("track", 1)
        return [(d["track"], d.get("vector")) for d in docs]

    @_translated
    def external_features(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return vector_rows(self._external_rows(name))

    @_translated
    def checked_external_features(
        self, name: str, size: int
    ) -> tuple[np.ndarray, np.ndarray, list[int]]:
        return checked_vector_rows(self._external_rows(name), size)

    # -- per-pass errors -----------------------------------------------------------------
    @_translated
    def put_pass_errors(self, name: str, rows: Sequence[tuple[int, str]]) -> None:
        from pymongo import ReplaceOne

        ids = [int(i) for i, _ in rows]
        if not ids:
            return
        known = {d["_id"] for d in self._db.tracks.find({"_id": {"$in": ids}}, {"_id": 1})}
        now = time.time()
        ops = [
            ReplaceOne(
                {"name": name, "track": int(i)},
                {"name": name, "track": int(i), "reason": reason, "at": now},
                upsert=True,
            )
            for i, reason in rows
            if int(i) in known
        ]
        # the error first: interrupted here, the track is a failure, never a vector
        # that says otherwise
        if ops:
            self._db.pass_errors.bulk_write(ops, ordered=False)
        self._db.external_features.delete_many({"name": name, "track": {"$in": ids}})

    @_translated
    def pass_failures(self, name: str) -> list[Failure]:
        found = self._db.pass_errors.find({"name": name})
        reasons = {d["track"]: str(d.get("reason") or "") for d in found}
        docs = self._db.tracks.find(
            {"_id": {"$in": list(reasons)}}, {"path": 1, "size": 1, "mtime": 1}
        )
        out = [
            Failure(_py_path(d["path"]), name, reasons[d["_id"]], d["size"], d["mtime"])
            for d in docs
        ]
        return sorted(out, key=lambda f: f.path)

    @_translated
    def clear_pass_errors(self, name: str) -> int:
        return self._db.pass_errors.delete_many({"name": name}).deleted_count
