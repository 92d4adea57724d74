"""The store interface shared by the SQLite (default) and MongoDB back ends."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from engine.tracks import TEXT_TAGS, Failure, Track, TrackInfo

#: The pass whose vectors are the store's features (the model is trained on them).
FIRST_PASS = "features"


def pass_key(name: str, version: int) -> str:
    """The name a later pass's vectors and errors are stored under."""
    return f"{name}-{version}"


def vector_rows(
    rows: Sequence[tuple[int, object]], size: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(track id, float32 bytes)`` rows as int64 ids and one float32 matrix.

    Rows of another length than ``size`` values (default: the length most rows have) are
    left out: one damaged row must not make the others unreadable.
    """
    ids, matrix, _ = checked_vector_rows(rows, size, finite=False)
    return ids, matrix


def checked_vector_rows(
    rows: Sequence[tuple[int, object]], size: int | None = None, *, finite: bool = True
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """``(ids, matrix, damaged ids)``: the well-formed rows as :func:`vector_rows` gives
    them, and the ids of the others (of another length or, with ``finite``, holding NaN
    or infinite values), ascending."""
    # a vector that is not bytes at all (text or a number a foreign writer left) is as
    # damaged as a short one
    blobs = [(int(i), bytes(v) if isinstance(v, bytes | memoryview) else b"") for i, v in rows]
    if size is None:  # the length most rows share (a float32 vector's bytes)
        lengths = Counter(len(b) for _, b in blobs if len(b) and len(b) % 4 == 0)
        width = lengths.most_common(1)[0][0] if lengths else 0
    else:
        width = 4 * size
    good = [(i, b) for i, b in blobs if width and len(b) == width]
    damaged = [i for i, b in blobs if not width or len(b) != width]
    ids = np.fromiter((i for i, _ in good), dtype=np.int64, count=len(good))
    matrix = np.frombuffer(b"".join(b for _, b in good), dtype=np.float32)
    matrix = matrix.reshape(len(good), width // 4).copy()
    if finite:
        ok = np.isfinite(matrix).all(axis=1)
        damaged += ids[~ok].tolist()
        ids, matrix = ids[ok], matrix[ok]
    return ids, matrix, sorted(damaged)


def count_summary(tracks: int, analysed: int, errors: int, unreadable: int) -> dict[str, int]:
    """The :meth:`Store.counts` shape from the four numbers every store counts."""
    return {
        "tracks": tracks,
        "analysed": analysed,
        "pending": tracks - analysed - errors,
        "analysis_failed": errors,
        "unreadable": unreadable,
        "failed": errors + unreadable,
    }


class StoreError(Exception):
    """A store cannot be opened or used; the message is meant for the user."""


class DamagedStoreError(StoreError):
    """The library database file is damaged; the message says how to start over.

    ``path`` is the damaged file (left untouched), ``detail`` what SQLite reported.
    :func:`engine.library.recover_damaged_store` moves it aside and starts afresh.
    """

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        aside = os.path.join(os.path.dirname(path), "damaged")
        # Its -wal file must go too: left behind, SQLite would replay it into a new library.
        super().__init__(
            f"the library database {path} is damaged ({detail}); Encore has left it as it "
            "is. To rebuild the library from your music folders, move it and its -wal and "
            f"-shm files aside (mkdir '{aside}' && mv '{path}'* '{aside}/') and run "
            "`encore scan DIR…`; the window offers to do this for you"
        )


class Store(ABC):
    """Tracks, their feature vectors, failures and small settings.

    Every write method is one transaction: a crash leaves either all of it or
    none of it. A store is opened for one feature version (``feature_version``): the
    vectors it reads, writes and counts are of that version, and of ``feature_size``
    values each when it is given (otherwise of the length most of them have).
    """

    #: Where a shared store lives, for the user (host(s) and database only: never
    #: credentials or options); None for a local one.
    location: str | None = None

    # -- folders and settings -------------------------------------------------
    @abstractmethod
    def folders(self) -> list[str]:
        """Library folders, in the order they were added."""

    @abstractmethod
    def add_folders(self, folders: Iterable[str]) -> None: ...

    @abstractmethod
    def get_meta(self, key: str, default: str | None = None) -> str | None: ...

    @abstractmethod
    def set_meta(self, key: str, value: str) -> None: ...

    # -- tracks ----------------------------------------------------------------
    @abstractmethod
    def tracks(self) -> list[Track]:
        """All tracks, ordered by id."""

    @abstractmethod
    def tracks_by_ids(self, ids: Sequence[int]) -> dict[int, Track]: ...

    @abstractmethod
    def track_by_path(self, path: str) -> Track | None: ...

    @abstractmethod
    def file_states(self) -> dict[str, tuple[int, float]]:
        """``path -> (size, mtime)`` for every stored track and recorded scan failure."""

    @abstractmethod
    def upsert_tracks(self, infos: Sequence[TrackInfo]) -> None:
        """Insert or update tracks by path.

        A track whose size or mtime changed loses its features and any analysis
        error, so it is analysed again. Clears scan failures for these paths.
        """

    @abstractmethod
    def remove_paths(self, paths: Iterable[str]) -> int:
        """Drop tracks, features and failures for these paths; return tracks removed."""

    # -- failures ----------------------------------------------------------------
    @abstractmethod
    def record_scan_failures(self, failures: Sequence[Failure]) -> None: ...

    @abstractmethod
    def failures(self) -> list[Failure]:
        """Scan failures, analysis errors and damage notes, with readable reasons."""

    # -- features ----------------------------------------------------------------
    @abstractmethod
    def pending_analysis(self, retry: Callable[[str], bool] | None = None) -> list[tuple[int, str]]:
        """``(id, path)`` of tracks without features of the store's feature version and
        without an error,
        or whose error ``retry`` accepts (a crash or time-out is worth another try)."""

    @abstractmethod
    def missing_external(
        self, name: str, retry: Callable[[str], bool] | None = None
    ) -> list[tuple[int, str]]:
        """``(id, path)`` of analysed tracks (features of the store's version) that have
        no ``name`` vector and no error of pass ``name`` (:meth:`put_pass_errors`), or
        one ``retry`` accepts: what a second analysis pass still has to do."""

    @abstractmethod
    def put_features(self, rows: Sequence[tuple[int, np.ndarray]]) -> None:
        """Store vectors (of the store's feature version); their tracks' earlier analysis
        errors are cleared."""

    @abstractmethod
    def put_analysis_errors(self, rows: Sequence[tuple[int, str]]) -> None: ...

    @abstractmethod
    def put_decoded(self, rows: Sequence[tuple[int, float, str]]) -> None:
        """``(id, seconds, note)``: the length that decodes, and what is wrong with the
        file if it decodes to less than it claims (``""``: nothing). Listed by
        :meth:`failures` with stage ``damaged``; a changed file loses its note."""

    @abstractmethod
    def features(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, matrix)``: int64 ids and float32 rows of the store's feature version.

        Only well-formed rows: one of another length, or with NaN or infinite values (a
        damaged or foreign row), is left out and listed by :meth:`damaged_features`.
        """

    @abstractmethod
    def damaged_features(self) -> list[int]:
        """Ids of the tracks whose vector of the store's version :meth:`features` leaves
        out (a wrong length, NaN or infinite values), ascending."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """``tracks``, ``analysed``, ``pending``, ``analysis_failed``, ``unreadable`` (files
        that are not tracks) and ``failed`` (the last two together)."""

    # -- listening feedback ---------------------------------------------------------
    @abstractmethod
    def record_skip(self, seed_id: int, track_id: int, at: float) -> None:
        """Count one early skip of ``track_id`` when it was suggested for ``seed_id``."""

    @abstractmethod
    def skips_for_seed(self, seed_id: int) -> dict[int, int]:
        """``track_id -> skips`` of the suggestions skipped after ``seed_id``."""

    @abstractmethod
    def skip_totals(self) -> dict[int, int]:
        """``track_id -> skips`` over all seeds."""

    @abstractmethod
    def reset_skips(self, track_id: int | None = None) -> int:
        """Forget the skips of ``track_id`` (as seed or suggestion), or all; return rows."""

    # -- imported metadata and features (engine/datasets/fma.py) ---------------------------------
    #: The tag fields :meth:`update_tags` may change.
    EDITABLE_TAGS = TEXT_TAGS

    @abstractmethod
    def update_tags(self, rows: Sequence[tuple[int, dict[str, str]]]) -> int:
        """Set tag fields (only :attr:`EDITABLE_TAGS`) of tracks by id; return tracks updated.

        Raises ``ValueError`` for any other field, before writing anything.
        """

    @abstractmethod
    def put_external_features(self, name: str, rows: Sequence[tuple[int, np.ndarray]]) -> None:
        """Store vectors computed outside Encore under ``name`` (rows of unknown tracks are
        skipped); every vector of a ``name`` must have the same length. Their tracks'
        errors of pass ``name`` are cleared."""

    @abstractmethod
    def external_features(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, matrix)``: int64 ids and float32 rows stored under ``name`` (a (0, 0)
        matrix when there are none)."""

    @abstractmethod
    def checked_external_features(
        self, name: str, size: int
    ) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """``(ids, matrix, damaged ids)`` of the ``name`` vectors: the rows of ``size``
        finite values, and the ids of the others (another length, NaN or infinite values,
        not bytes), as :func:`checked_vector_rows` gives them."""

    # -- per-pass errors (a pass after the first: the neural embedding) --------------------
    @abstractmethod
    def put_pass_errors(self, name: str, rows: Sequence[tuple[int, str]]) -> None:
        """Record why pass ``name`` failed on tracks: ``(id, reason)`` rows (unknown tracks
        are skipped). Their ``name`` vectors go. An error is kept until the file changes,
        the pass stores a vector for it, or :meth:`clear_pass_errors`."""

    @abstractmethod
    def pass_failures(self, name: str) -> list[Failure]:
        """The tracks pass ``name`` failed on, with stage ``name`` and the reasons, by path."""

    @abstractmethod
    def clear_pass_errors(self, name: str) -> int:
        """Forget every error of pass ``name`` (its tracks are to do again); return how many."""

    # -- every pass, one API ------------------------------------------------------------
    # The first pass's vectors live with the tracks (they are what "analysed" means and
    # what the model is trained on); every later pass's under its name and version. The
    # methods below are the one way a pass reads and writes either.
    def put_vectors(self, name: str, version: int, rows: Sequence[tuple[int, np.ndarray]]) -> None:
        """Store pass ``name``'s vectors (of ``version``); its errors on them go."""
        if self._is_first(name, version):
            self.put_features(rows)
        else:
            self.put_external_features(pass_key(name, version), rows)

    def vectors(
        self, name: str, version: int, size: int
    ) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """``(ids, matrix, damaged ids)`` of pass ``name``'s vectors of ``version``: the
        rows of ``size`` finite values, and the ids of those that are not."""
        if self._is_first(name, version):
            ids, matrix = self.features()
            return ids, matrix, self.damaged_features()
        return self.checked_external_features(pass_key(name, version), size)

    def put_failures(self, name: str, version: int, rows: Sequence[tuple[int, str]]) -> None:
        """Record why pass ``name`` failed on tracks (their vectors of it go)."""
        if self._is_first(name, version):
            self.put_analysis_errors(rows)
        else:
            self.put_pass_errors(pass_key(name, version), rows)

    def todo(
        self, name: str, version: int, retry: Callable[[str], bool] | None = None
    ) -> list[tuple[int, str]]:
        """``(id, path)`` of the tracks pass ``name`` has still to do: without its vector
        and without an error ``retry`` does not accept. A later pass does only tracks the
        first pass analysed."""
        if self._is_first(name, version):
            return self.pending_analysis(retry)
        return self.missing_external(pass_key(name, version), retry)

    def failures_of(self, name: str, version: int) -> list[Failure]:
        """A later pass's recorded failures (the first pass's are in :meth:`failures`)."""
        if self._is_first(name, version):
            return []
        return self.pass_failures(pass_key(name, version))

    def clear_failures(self, name: str, version: int) -> int:
        """Forget a later pass's errors, so that it tries those tracks again."""
        if self._is_first(name, version):
            return 0
        return self.clear_pass_errors(pass_key(name, version))

    def _is_first(self, name: str, version: int) -> bool:
        if name != FIRST_PASS:
            return False
        if version != getattr(self, "_feature_version", version):
            raise ValueError(f"this store holds features of another version than {version}")
        return True

    def check(self) -> None:  # noqa: B027 - optional hook
        """Raise :class:`DamagedStoreError` when the store's data is damaged."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
