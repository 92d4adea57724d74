"""``Library``: the one facade the CLI and the desktop app use.

Batch steps (:meth:`Library.scan`, :meth:`Library.analyze`, :meth:`Library.train`)
are generators that yield :class:`~engine.progress.Progress` and return a report;
drive them with :func:`run` or a plain ``for`` loop.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from engine.analysis.features import FEATURE_VERSION, N_FEATURES
from engine.analysis.pool import DAMAGED_FEATURES_REASON, DEFAULT_TIME_LIMIT, is_retried
from engine.errors import describe
from engine.ingest import scan as scanning
from engine.ingest.covers import cover_cache_name, cover_source, find_cover
from engine.ingest.formats import is_audio_name
from engine.ingest.scan import ScanReport
from engine.neural import musicnn
from engine.neural.embedding import (
    MODEL_UNLOADABLE,
    NEURAL_FEATURES,
)
from engine.neural.tags import Description, guessed_genres, shown_tags_many
from engine.neural.tags import describe as describe_text
from engine.passes import SECOND_PASS, by_name, first_pass, later_passes
from engine.passes.base import AnalysisPass
from engine.passes.inputs import KeptInputs
from engine.passes.runner import RunReport, retried, run_passes
from engine.paths import models_dir, set_store_setting, state_dir, store_setting
from engine.progress import CancelToken, Progress, run
from engine.similarity import atlas
from engine.similarity.atlas import NEIGHBOURS
from engine.similarity.combined import NEURAL_SHARE, combine, standardise, to_space
from engine.similarity.evaluation import label_of, precision_at_k
from engine.similarity.index import ClusterIndex
from engine.similarity.model import (
    DEFAULT_WEIGHTS,
    ModelCard,
    ModelError,
    SimilarityModel,
    load_model,
    read_card,
)
from engine.similarity.radio import RadioRules
from engine.similarity.recommender import Listening, Recommender
from engine.similarity.training import train_in_process
from engine.store import SQLITE_FILE, DamagedStoreError, Store, StoreError, open_store
from engine.store.recovery import recover
from engine.tracks import Failure, Recommendation, Track, TrackInfo, plural

if TYPE_CHECKING:
    from engine.distributed.importing import ImportReport

__all__ = [
    "AnalyzeReport",
    "DamagedStoreError",  # the store's errors, for front ends that only know this module
    "Library",
    "LibraryError",
    "StoreError",
    "recover_damaged_store",
    "run",
]

T = TypeVar("T")
V = TypeVar("V")
#: The store settings that hold the radio rules, the family weights and the passes (JSON).
PASSES_KEY = "passes"
RULES_KEY = "radio_rules"
WEIGHTS_KEY = "family_weights"
#: The store setting that holds the seconds a file may take to analyse.
TIME_LIMIT_KEY = "analysis_time_limit"


class LibraryError(Exception):
    """A user-facing problem (unknown track, nothing analysed, …)."""


@dataclass(slots=True)
class AnalyzeReport:
    analysed: int = 0
    failed: int = 0
    damaged: int = 0
    cancelled: bool = False

    def summary(self) -> str:
        text = f"{self.analysed} analysed, {self.failed} failed"
        if self.damaged:
            text += f", {self.damaged} damaged or incomplete"
        return text + (" (cancelled)" if self.cancelled else "")


@dataclass
class ListenReport:
    """What the second pass (the neural embedding) did."""

    embedded: int = 0
    failed: int = 0
    cancelled: bool = False

    def summary(self) -> str:
        text = f"{self.embedded} embedded, {self.failed} failed"
        return text + (" (cancelled)" if self.cancelled else "")


def _fma() -> Any:
    """:mod:`engine.datasets.fma`, which needs pandas (an optional dependency)."""
    try:
        from engine.datasets import fma
    except ModuleNotFoundError as exc:
        raise LibraryError(f"the FMA import needs {exc.name}: pip install 'encore[fma]'") from None
    return fma


def optional_passes() -> list[tuple[str, str]]:
    """``(name, title)`` of the later analysis passes, which the user turns on or off."""
    return [(p.name, p.title) for p in later_passes()]


def analyze_report(done: RunReport) -> AnalyzeReport:
    """The first pass's part of a run."""
    found = done.passes[first_pass().name]
    return AnalyzeReport(found.done, found.failed, found.damaged, done.cancelled)


def listen_report(done: RunReport) -> ListenReport:
    """The later passes' part of a run, together."""
    later = [done.passes[p.name] for p in later_passes() if p.name in done.passes]
    return ListenReport(sum(r.done for r in later), sum(r.failed for r in later), done.cancelled)


def recover_damaged_store(home: str | os.PathLike[str] | None = None) -> Path:
    """Move the damaged library database of ``home`` aside and start a new one with the
    folders it listed; return where it went (see :func:`engine.store.recovery.recover`)."""
    folder = state_dir(home)
    if not (folder / SQLITE_FILE).exists():
        raise LibraryError(f"there is no library database in {folder}")
    return recover(folder / SQLITE_FILE, feature_version=FEATURE_VERSION)


class Library:
    """A music library in a state folder.

    Parameters
    ----------
    home
        State folder; default ``$ENCORE_HOME`` or the platform's user data folder.
    store
        An open store to use instead of the SQLite file in ``home``.
    """

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        store: Store | None = None,
        *,
        store_uri: str | None = None,
    ) -> None:
        try:
            self.home: Path = state_dir(home)
            self.models_path: Path = models_dir(self.home)
            #: Where analysis workers' decoder warnings go.
            self.log_path: Path = self.home / "logs" / "analysis.log"
            self.log_path.parent.mkdir(exist_ok=True)
        except OSError as exc:
            where = home or os.environ.get("ENCORE_HOME") or "the user data folder"
            raise LibraryError(
                f"cannot use {where} as Encore's state folder: {describe(exc)}"
            ) from exc
        self._store: Store = store or open_store(
            self.home, feature_version=FEATURE_VERSION, feature_size=N_FEATURES, uri=store_uri
        )
        self._model: SimilarityModel | None = None
        self._card: ModelCard | None = None
        self._index: ClusterIndex | None = None
        #: later passes' vectors by pass name, and what is made from them (cached)
        self._vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._tag_space: tuple[np.ndarray, np.ndarray, tuple[str, ...]] | None = None
        self._neural_labels: dict[int, tuple[str, str]] | None = None
        self._loading = threading.RLock()  # model() and index() build once per change

    def close(self) -> None:
        self._store.close()

    # -- batch steps ------------------------------------------------------------
    def scan(
        self, folders: Iterable[str] | None = None, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, ScanReport]:
        """Index ``folders`` (default: the library's folders) and remember them."""
        roots = [os.path.abspath(os.path.expanduser(f)) for f in (folders or self.folders())]
        existing = [r for r in roots if os.path.isdir(r)]
        self._store.add_folders(existing)
        report = yield from scanning.scan(self._store, roots, cancel)
        if report.added or report.updated or report.removed:
            self.invalidate()
        return report

    def analyze(
        self,
        cancel: CancelToken | None = None,
        *,
        workers: int | None = None,
        track_ids: Sequence[int] | None = None,
        whole: bool = False,
        retry_failed: bool = False,
        time_limit: float | None = None,
    ) -> Generator[Progress, None, AnalyzeReport]:
        """The first pass (the hand-made features) on every track that needs it (or just
        ``track_ids``).

        Tracks whose analysis crashed or timed out are tried again; ``retry_failed``
        tries every failed track again, in every pass (the later passes' verdicts are
        forgotten, so the next :meth:`listen` tries those files again too). ``whole``
        analyses every sample instead of excerpts of long tracks. ``time_limit``: seconds
        per file (default: the library's setting, :meth:`time_limit`).
        """
        if retry_failed:  # every pass: the next listen() hears the files it failed on again
            self.clear_failures(later_passes())
        done = yield from self.run_passes(
            [first_pass()],
            cancel=cancel,
            workers=workers,
            track_ids=track_ids,
            whole=whole,
            retry_failed=retry_failed,
            time_limit=time_limit,
        )
        return analyze_report(done)

    def listen(
        self,
        cancel: CancelToken | None = None,
        *,
        workers: int | None = None,
        time_limit: float | None = None,
        retry_failed: bool = False,
        kept: KeptInputs | None = None,
    ) -> Generator[Progress, None, ListenReport]:
        """The later passes (the neural embedding and tags) on every analysed track that
        has none of their current version yet, in low-priority worker processes, from
        ``kept`` inputs where the first pass's decode kept them.

        Resumable (each finished track is kept) and cancellable like :meth:`analyze`, with
        the same failure policy. When a pass's model cannot be loaded (``models/``
        missing, damaged or changed) no file is at fault: the pass stops at once with a
        :class:`LibraryError` saying why, and every track not heard yet stays pending.
        """
        done = yield from self.run_passes(
            self.later_passes(),
            cancel=cancel,
            workers=workers,
            retry_failed=retry_failed,
            time_limit=time_limit,
            kept=kept,
            label="Listening closely",
        )
        problem = self.stopped_passes(done)
        if problem:
            raise LibraryError(problem)
        return listen_report(done)

    def run_passes(
        self,
        compute: Sequence[AnalysisPass],
        *,
        prepare: Sequence[AnalysisPass] = (),
        kept: KeptInputs | None = None,
        cancel: CancelToken | None = None,
        workers: int | None = None,
        track_ids: Sequence[int] | None = None,
        whole: bool = False,
        retry_failed: bool = False,
        time_limit: float | None = None,
        label: str = "Analysing",
    ) -> Generator[Progress, None, RunReport]:
        """Run the ``compute`` passes on every track that needs them, each file decoded
        once (see :func:`engine.passes.runner.run_passes`)."""
        return (
            yield from run_passes(
                self._store,
                compute,
                prepare=prepare,
                kept=kept,
                track_ids=track_ids,
                retry_failed=retry_failed,
                whole=whole,
                workers=workers,
                cancel=cancel,
                log_path=str(self.log_path),
                time_limit=time_limit or self.time_limit(),
                models_dir=musicnn.MODELS_DIR,  # read now: the workers use the same folder
                on_write=self.invalidate,
                label=label,
            )
        )

    def kept_inputs(self) -> KeptInputs:
        """Where the pipeline keeps later passes' inputs between their two halves."""
        return KeptInputs(self.home / "cache" / "inputs")

    def stopped_passes(self, done: RunReport) -> str:
        """One line per pass that stopped because its model cannot be loaded ("": none)."""
        lines = []
        for pass_ in later_passes():
            found = done.passes.get(pass_.name)
            if found is None or not found.stopped:
                continue
            left = len(self._store.todo(pass_.name, pass_.version, partial(retried, pass_)))
            before = f"{found.done} analysed, {found.failed} failed before it stopped; "
            problem = found.stopped.removeprefix(MODEL_UNLOADABLE)
            lines.append(
                f"the {pass_.title} stopped: {MODEL_UNLOADABLE}{problem} "
                f"({before if found.done or found.failed else ''}"
                f"{plural(left, 'track')} wait for it: the next `encore analyze` hears them "
                "once the model loads)"
            )
        return "\n".join(lines)

    def clear_failures(self, passes: Sequence[AnalysisPass]) -> None:
        """Forget the recorded failures of ``passes``: their next run tries those files."""
        for pass_ in passes:
            self._store.clear_failures(pass_.name, pass_.version)

    def invalidate(self) -> None:
        """Forget what was built from stored vectors (the index, the neural join, tags)."""
        self._index = None
        self._vectors = {}
        self._tag_space = None
        self._neural_labels = None

    def neural_problem(self) -> str | None:
        """Why the second pass cannot run now (the network's files in ``models/`` are
        missing, damaged or not the shipped ones), or None. Cheap: checksums only."""
        return by_name(SECOND_PASS).problem(musicnn.MODELS_DIR)

    def damaged_neural(self) -> list[int]:
        """Ids of the tracks whose stored neural vector is left out as not usable (not
        recorded as failures yet: the next :meth:`listen` does it and embeds them again)."""
        second = by_name(SECOND_PASS)
        return self._store.vectors(second.name, second.version, second.size)[2]

    def neural(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, vectors)`` of the tracks the second pass embedded: 200 embedding values
        then 50 tag probabilities per row, all finite (a damaged row is left out)."""
        return self.pass_vectors(by_name(SECOND_PASS))

    def pass_vectors(self, pass_: AnalysisPass) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, vectors)`` of the tracks a later pass did, all finite, ids ascending."""
        cached = self._vectors.get(pass_.name)
        if cached is None:
            ids, vectors, _ = self._store.vectors(pass_.name, pass_.version, pass_.size)
            cached = self._vectors[pass_.name] = (ids, vectors)
        return cached

    # -- which passes run, and which rank ---------------------------------------------
    def pass_settings(self) -> dict[str, dict[str, bool]]:
        """Per later pass: ``on`` (it runs) and ``ranks`` (its embedding joins the space
        up next ranks in), each its default unless the user set it."""
        try:
            saved = json.loads(self._store.get_meta(PASSES_KEY) or "{}")
        except ValueError:
            saved = {}
        saved = saved if isinstance(saved, dict) else {}
        out = {}
        for pass_ in later_passes():
            mine = saved.get(pass_.name)
            mine = mine if isinstance(mine, dict) else {}
            on = mine.get("on", pass_.on)
            ranks = mine.get("ranks", pass_.ranks)
            out[pass_.name] = {
                "on": on if isinstance(on, bool) else pass_.on,
                "ranks": ranks if isinstance(ranks, bool) else pass_.ranks,
            }
        return out

    def set_pass(self, name: str, *, on: bool | None = None, ranks: bool | None = None) -> None:
        """Turn a later pass on or off, or its embedding's part in ranking."""
        settings = self.pass_settings()
        if name not in settings:
            names = ", ".join(settings) or "none"
            raise LibraryError(f"no later analysis pass called {name!r} (there are: {names})")
        if on is not None:
            settings[name]["on"] = on
        if ranks is not None:
            settings[name]["ranks"] = ranks
        self._store.set_meta(PASSES_KEY, json.dumps(settings, sort_keys=True))
        self.invalidate()

    def later_passes(self) -> tuple[AnalysisPass, ...]:
        """The later passes that are on, in order."""
        settings = self.pass_settings()
        return tuple(p for p in later_passes() if settings[p.name]["on"])

    def ranking_passes(self) -> tuple[AnalysisPass, ...]:
        """The later passes whose embedding joins the space up next ranks in."""
        settings = self.pass_settings()
        return tuple(
            p for p in self.later_passes() if p.embedding is not None and settings[p.name]["ranks"]
        )

    def train(
        self, clusters: int | None = None, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, ModelCard | None]:
        """Fit the model on all analysed tracks (in a worker process) and save it.

        Returns the model card, or None when cancelled.
        """
        yield Progress(0, 3, "", "Loading features")
        self._record_damaged_features()  # left out, and listed as failures until analysed
        ids, X = self._store.features()
        if len(ids) < 2:
            raise LibraryError(
                f"{plural(len(ids), 'analysed track')}: at least 2 are needed; scan and "
                "analyse first"
            )
        if clusters is not None and clusters < 1:
            raise LibraryError("the number of clusters must be at least 1")
        try:
            card = yield from train_in_process(
                X, clusters, self.models_path, cancel, self.family_weights()
            )
            if card is None:
                return None
            yield Progress(2, 3, "", "Loading the new model")
            model, card = load_model(self.models_path)
        except ModelError as exc:
            raise LibraryError(str(exc)) from exc
        self._model, self._card, self._index = model, card, None
        yield Progress(3, 3, "", "Trained")
        return card

    def _record_damaged_features(self) -> int:
        """Record the tracks whose stored feature vector is damaged (a wrong length, NaN or
        infinite values) as analysis failures the next analysis retries; return how many.

        Their vectors are dropped: reads already leave them out (:meth:`Store.features`).
        """
        damaged = self._store.damaged_features()
        if damaged:
            self._store.put_analysis_errors([(i, DAMAGED_FEATURES_REASON) for i in damaged])
            self._index = None
        return len(damaged)

    def _damaged_failures(self, damaged: Sequence[int]) -> list[Failure]:
        """Damaged feature vectors not recorded yet (reads never write), as failures."""
        tracks = sorted(self._store.tracks_by_ids(damaged).values(), key=lambda t: t.path)
        return [
            Failure(t.path, "analyze", DAMAGED_FEATURES_REASON, t.size, t.mtime) for t in tracks
        ]

    # -- lookups ------------------------------------------------------------------
    def folders(self) -> list[str]:
        return self._store.folders()

    def tracks(self) -> list[Track]:
        """Every track, with its auto-tags when the second pass has heard it."""
        return self._heard(self._store.tracks())

    def _heard(self, tracks: list[Track]) -> list[Track]:
        """``tracks`` with their auto-tags and guessed genre filled in (where heard)."""
        labels = self._labels()
        for track in tracks:
            track.autotags, track.guessed_genre = labels.get(track.id, ("", ""))
        return tracks

    def _labels(self) -> dict[int, tuple[str, str]]:
        """Track id → (auto-tags, guessed genre), made once per later-pass change."""
        if self._neural_labels is None:
            ids, probabilities, names = self.tag_space()
            if not len(ids):
                self._neural_labels = {}
                return self._neural_labels
            # the library's average: what sets a song apart in it
            tags = shown_tags_many(probabilities, names, probabilities.mean(axis=0))
            genres = guessed_genres(probabilities, names)
            self._neural_labels = {
                int(i): (", ".join(t), g)
                for i, t, g in zip(ids.tolist(), tags, genres, strict=True)
            }
        return self._neural_labels

    def tag_space(self) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        """``(ids, probabilities, names)``: the tag probabilities of every later pass that
        is on and has tags, side by side (0 where a pass has not heard a track yet), for
        the tracks any of them heard. A pass whose card is not usable is left out
        (:meth:`auto_tags_problem` says why)."""
        if self._tag_space is None:
            parts = []
            for pass_ in self.later_passes():
                if pass_.tags is None:
                    continue
                try:
                    names = pass_.tag_names(musicnn.MODELS_DIR)
                except ValueError:
                    continue
                ids, vectors = self.pass_vectors(pass_)
                parts.append((ids, vectors[:, pass_.tags], names))
            every = np.unique(np.concatenate([p[0] for p in parts])) if parts else np.zeros(0)
            every = every.astype(np.int64)
            columns = sum(len(p[2]) for p in parts)
            P = np.zeros((len(every), columns), dtype=np.float32)
            start = 0
            for ids, probabilities, names in parts:
                P[np.searchsorted(every, ids), start : start + len(names)] = probabilities
                start += len(names)
            self._tag_space = (every, P, tuple(n for p in parts for n in p[2]))
        return self._tag_space

    def tag_names(self) -> tuple[str, ...]:
        """Every tag the later passes give, in the order of :meth:`tag_space`'s columns.

        Raises :class:`LibraryError` (one line, the reason) when no pass's card is usable.
        """
        names = self.tag_space()[2]
        if not names:
            raise LibraryError(self.auto_tags_problem() or "no analysis pass gives tags")
        return names

    def auto_tags_problem(self) -> str | None:
        """Why tracks lack auto-tags although heard (a card that is not usable), or None."""
        for pass_ in self.later_passes():
            if pass_.tags is not None:
                try:
                    pass_.tag_names(musicnn.MODELS_DIR)
                except ValueError as exc:
                    return str(exc)
        return None

    def describe(self, text: str, n: int = 50) -> tuple[list[tuple[Track, float]], Description]:
        """The ``n`` tracks that best match a description ("calm piano"), best first,
        each with its score (0–1), and how the words were read."""
        names = self.tag_names()
        wanted = describe_text(text, names)
        ids, probabilities, _ = self.tag_space()
        if not wanted.groups or not len(ids):
            return [], wanted
        scores = wanted.scores(probabilities)
        best = np.argsort(-scores, kind="stable")[:n]
        found = self._store.tracks_by_ids(ids[best].tolist())
        self._heard(list(found.values()))
        return [(found[int(ids[i])], float(scores[i])) for i in best], wanted

    def failures(self) -> list[Failure]:
        """Scan and analysis failures (of every pass) and damage notes, with their reasons."""
        damaged = self._store.damaged_features()
        return self._store.failures() + self._damaged_failures(damaged) + self._neural_failures()

    def _neural_failures(self) -> list[Failure]:
        """The later passes' failures (each its stage), with the stored vectors found
        damaged but not recorded yet (reads never write), by path."""
        found = []
        for pass_ in later_passes():
            recorded = self._store.failures_of(pass_.name, pass_.version)
            damaged = self._store.vectors(pass_.name, pass_.version, pass_.size)[2]
            found += [Failure(f.path, pass_.stage, f.reason, f.size, f.mtime) for f in recorded]
            found += [
                Failure(t.path, pass_.stage, pass_.damaged_reason(), t.size, t.mtime)
                for t in self._store.tracks_by_ids(damaged).values()
            ]
        return sorted(found, key=lambda f: (f.path, f.stage))

    def resolve(self, ref: str | int | Track) -> Track:
        """A track from an id, a path, or a :class:`Track`."""
        if isinstance(ref, Track):
            return ref
        text = str(ref)
        if text.isdigit() and not os.path.exists(text):
            found = self._store.tracks_by_ids([int(text)]).get(int(text))
            if found is None:
                raise LibraryError(f"no track with id {text}")
            return found
        path = os.path.abspath(os.path.expanduser(text))
        found = self._store.track_by_path(path)
        if found is None:
            failure = next((f for f in self._store.failures() if f.path == path), None)
            if failure is not None:
                raise LibraryError(f"{text} could not be read: {failure.reason}")
            if os.path.exists(path):
                raise LibraryError(f"not in the library: {text} (scan its folder first)")
            raise LibraryError(f"no such file or track id: {text}")
        return found

    def track_by_path(self, path: str) -> Track | None:
        """The track at ``path`` (absolute), or None when it is not in the library."""
        return self._store.track_by_path(path)

    def tracks_by_ids(self, ids: Sequence[int]) -> dict[int, Track]:
        return self._store.tracks_by_ids(ids)

    def counts(self) -> dict[str, int]:
        """``tracks``, ``analysed``, ``pending``, ``analysis_failed``, ``unreadable`` and
        ``failed`` (the last two together), as :meth:`Store.counts` gives them."""
        return self._store.counts()

    @property
    def location(self) -> str | None:
        """Where a shared library lives, for the user (host(s) and database only); None
        when it is the library on this computer."""
        return self._store.location

    def check(self) -> None:
        """Read the whole library database; :class:`DamagedStoreError` when it is damaged."""
        self._store.check()

    def model_card(self) -> ModelCard | None:
        return read_card(self.models_path)

    def model_is_current(self) -> bool:
        """True when a model trained on this feature version is saved: suggestions work.

        Otherwise (none yet, or trained on other features) the library must be trained.
        """
        card = self.model_card()
        return card is not None and card.current

    def status(self) -> dict[str, Any]:
        """Counts, folders, failures of every pass with reasons and the model card."""
        counts, damaged = self._store.counts(), self._store.damaged_features()
        if damaged:  # not recorded yet (the next analyze or train does): counted as failed
            counts["analysed"] -= len(damaged)
            counts["analysis_failed"] += len(damaged)
            counts["failed"] += len(damaged)
        failures = self._store.failures() + self._damaged_failures(damaged)
        failures += self._neural_failures()
        return {
            "home": str(self.home),
            "folders": self.folders(),
            "feature_version": FEATURE_VERSION,
            **counts,
            "failures": [{"path": f.path, "stage": f.stage, "reason": f.reason} for f in failures],
            "model": card.to_json() if (card := self.model_card()) else None,
            # "problem": why the second pass cannot run now (None when it can)
            "neural": {**self.neural_counts(), "problem": self.neural_problem()},
            "passes": self.pass_status(),
        }

    def pass_status(self) -> list[dict[str, Any]]:
        """Per later pass: its name, title, version, counts, whether it is on and ranks,
        and why it cannot run now (None when it can)."""
        settings = self.pass_settings()
        return [
            {
                "name": p.name,
                "title": p.title,
                **self.pass_counts(p),
                **settings[p.name],
                "problem": p.problem(musicnn.MODELS_DIR),
            }
            for p in later_passes()
        ]

    def neural_counts(self) -> dict[str, int]:
        """The second pass's progress (see :meth:`pass_counts`)."""
        return self.pass_counts(by_name(SECOND_PASS))

    def pass_counts(self, pass_: AnalysisPass) -> dict[str, int]:
        """A later pass's progress: embedded, pending and failed tracks (failed: with a
        recorded reason, or a stored vector that is not usable)."""
        ids, _, damaged = self._store.vectors(pass_.name, pass_.version, pass_.size)
        recorded = len(self._store.failures_of(pass_.name, pass_.version))
        return {
            "version": pass_.version,
            "embedded": len(ids),
            "pending": len(self._store.todo(pass_.name, pass_.version)),
            "failed": recorded + len(damaged),
        }

    # -- recommendations ------------------------------------------------------------
    def model(self) -> SimilarityModel:
        """The trained model (loaded once, reloaded when retrained elsewhere)."""
        with self._loading:
            card = read_card(self.models_path)
            if self._model is None or card != self._card:
                try:
                    self._model, self._card = load_model(self.models_path)
                except ModelError as exc:
                    raise LibraryError(str(exc)) from exc
                self.invalidate()
            return self._model

    def index(self) -> ClusterIndex:
        """The cluster index over every analysed track (rebuilt after changes).

        Built once even when several threads ask at the same moment (after a retrain
        the window's up next and its map both need it).
        """
        with self._loading:
            model = self.model()
            if self._index is None:
                ids, X = self._store.features()
                Z, centroids = self._with_neural(ids, model.transform(X), model.centroids_)
                self._index = ClusterIndex(ids, Z, centroids)
            return self._index

    def _with_neural(
        self, ids: np.ndarray, H: np.ndarray, centroids: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The hand-made features joined by the later passes' embeddings where a track
        has them (see :mod:`engine.similarity.combined`): each ranking pass's part is
        standardised on its own and they share the neural part of a distance equally."""
        parts, heard = [], np.zeros(len(ids), dtype=bool)
        for pass_ in self.ranking_passes():
            done_ids, vectors = self.pass_vectors(pass_)
            if len(done_ids) < 2:
                continue
            E = vectors[:, pass_.embedding]
            rows = np.clip(np.searchsorted(done_ids, ids), 0, len(done_ids) - 1)  # ascending
            found = done_ids[rows] == ids
            N = np.zeros((len(ids), E.shape[1]), dtype=np.float32)
            N[found] = to_space(E, *standardise(E))[rows[found]]
            parts.append(N)
            heard |= found
        if not parts or not NEURAL_SHARE:
            return H, centroids
        # unit rows each: together they keep a unit typical length
        N = np.hstack(parts) / np.float32(np.sqrt(len(parts)))
        return combine(H, centroids, N, heard)

    def analyze_now(self, refs: Sequence[str | int | Track]) -> list[Track]:
        """Analyse the tracks a query is about that are not analysed yet; return them.

        Queries (:meth:`similar`, :meth:`journey`) only read: a caller that may ask
        about a song not analysed yet (just added, or changed on disk) asks for this
        step first. Raises :class:`LibraryError` for a track that cannot be analysed.
        """
        tracks = [self.resolve(ref) for ref in refs]
        index = self.index()
        todo = [t for t in tracks if t.id not in index]
        for track in todo:
            if track.error and not is_retried(track.error):
                raise LibraryError(f"{track.path} could not be analysed: {track.error}")
        if todo:
            run(self.analyze(workers=1, track_ids=[t.id for t in todo]))
            index = self.index()
            for track in todo:
                if track.id not in index:
                    failed = self.resolve(track.id)
                    raise LibraryError(f"{track.path} could not be analysed: {failed.error}")
        return [self.resolve(t.id) for t in tracks]

    def _vector_of(self, query: Track) -> np.ndarray:
        """``query``'s vector in the model's space (it must be analysed)."""
        index = self.index()
        if query.id not in index:
            if query.error:
                raise LibraryError(f"{query.path} could not be analysed: {query.error}")
            raise LibraryError(f"{query.path} is not analysed yet (analyse it first)")
        return index.vector(query.id)

    def _recommender(self) -> Recommender:
        index = self.index()
        assert self._model is not None  # index() loaded it
        return Recommender(index, self._model.weights_, self._store.tracks_by_ids)

    def _listening(self, seeds: Sequence[Track], history: Sequence[int]) -> Listening:
        """What the radio rules need besides the seeds: rules, history, skips."""
        played = self._store.tracks_by_ids(list(history))
        return Listening(
            self.radio_rules(),
            [played[i] for i in history if i in played],
            self._store.skips_for_seed(seeds[-1].id if len(seeds) == 1 else -1),
            self._store.skip_totals(),
            self._store.tracks,
        )

    def _seeds(self, track: str | int | Track | Sequence[str | int | Track]) -> list[Track]:
        refs = list(track) if isinstance(track, list | tuple) else [track]
        if not refs:
            raise LibraryError("no track to start from")
        seeds = [self.resolve(ref) for ref in refs]
        for seed in seeds:
            self._vector_of(seed)  # raises when it is not analysed
        return seeds

    def similar(
        self,
        track: str | int | Track | Sequence[str | int | Track],
        n: int = 5,
        *,
        exclude: Iterable[int] = (),
        history: Sequence[int] = (),
        radio: bool = True,
        moves: Mapping[str, int] | None = None,
    ) -> list[Recommendation]:
        """The ``n`` songs to follow ``track`` (or a list of tracks: "more like these").

        ``moves`` steers the query first (``{"faster": 1}``, see :data:`atlas.STEERING`).
        With ``radio`` the library's :class:`RadioRules` apply (given ``history``, the ids
        played before, oldest first) and the listener's skips count; without it the
        answer is simply the ``n`` nearest, nearest first. The queries themselves (and
        ``exclude``) are never returned. Only reads: tracks not analysed yet raise
        :class:`LibraryError` (:meth:`analyze_now` first). Exact up to
        :data:`SEARCH_BUDGET` tracks.
        """
        seeds = self._seeds(track)
        listening = self._listening(seeds, history) if radio else None
        return self._recommender().similar(
            seeds, n, exclude=exclude, moves=moves, listening=listening
        )

    def why_not(
        self,
        track: str | int | Track | Sequence[str | int | Track],
        other: str | int | Track,
        n: int = 5,
        *,
        exclude: Iterable[int] = (),
        history: Sequence[int] = (),
        radio: bool = True,
        moves: Mapping[str, int] | None = None,
    ) -> str:
        """Why ``other`` is not in what :meth:`similar` gives with the same arguments:
        the radio rule or steering that leaves it out, or how many songs sound nearer."""
        seeds = self._seeds(track)
        target = self.resolve(other)
        listening = self._listening(seeds, history) if radio else None
        return self._recommender().why_not(
            seeds, target, n, exclude=exclude, moves=moves, listening=listening
        )

    # -- the library seen whole ---------------------------------------------------------
    def projection(self) -> atlas.Projection:
        """Every analysed track on a 2-D map (PCA of the model's space)."""
        return atlas.project(self.index())

    def clusters(self) -> list[atlas.Cluster]:
        """The model's clusters with sizes and generated names, largest first."""
        index = self.index()
        return atlas.clusters(index, self._store.tracks_by_ids(index.ids.tolist()))

    def atlas(self) -> atlas.Atlas:
        """The map, the clusters and the tracks they show, in one snapshot."""
        projection = self.projection()
        tracks = self._store.tracks_by_ids(projection.ids.tolist())
        self._heard(list(tracks.values()))
        return atlas.Atlas(projection, self.clusters(), tracks)

    def neighbours(self, track: str | int | Track, k: int = NEIGHBOURS) -> list[int]:
        """Ids of ``track``'s ``k`` true nearest songs in the full space ([] when it is
        not analysed)."""
        index, track_id = self.index(), self.resolve(track).id
        return atlas.neighbours(index, track_id, k) if track_id in index else []

    def typical_distance(self) -> float:
        """The distance between two typical songs of the library (what 50 % similar means)."""
        return self.index().typical_distance()

    def journey(
        self, start: str | int | Track, end: str | int | Track, steps: int = 8
    ) -> list[Recommendation]:
        """A path of ``steps`` songs from ``start`` towards ``end``, then ``end`` itself."""
        a, b = self.resolve(start), self.resolve(end)
        if a.id == b.id:
            raise LibraryError("a journey needs two different songs")
        self._vector_of(a)  # each raises when it is not analysed
        self._vector_of(b)
        return self._recommender().journey(a, b, steps)

    # -- settings and listening feedback -----------------------------------------------
    def family_weights(self) -> dict[str, float]:
        """Each feature family's share of the distance (a setting; used when training)."""
        text = self._store.get_meta(WEIGHTS_KEY)
        return dict(DEFAULT_WEIGHTS) if text is None else json.loads(text)

    def set_family_weights(self, weights: dict[str, float] | None) -> None:
        """Change the weights (None: the defaults); they apply from the next training."""
        self._store.set_meta(
            WEIGHTS_KEY, json.dumps(DEFAULT_WEIGHTS if weights is None else weights)
        )

    def time_limit(self) -> float:
        """Seconds a file may take to analyse before it is given up (a setting)."""
        text = self._store.get_meta(TIME_LIMIT_KEY)
        try:
            value = float(text) if text is not None else DEFAULT_TIME_LIMIT
        except ValueError:
            return DEFAULT_TIME_LIMIT
        return value if value > 0 else DEFAULT_TIME_LIMIT

    def set_time_limit(self, seconds: float | None) -> None:
        """Change the time limit per file (None: the default of a minute)."""
        if seconds is not None and not seconds > 0:
            raise LibraryError("the time limit must be a positive number of seconds")
        self._store.set_meta(
            TIME_LIMIT_KEY, str(DEFAULT_TIME_LIMIT if seconds is None else seconds)
        )

    def radio_rules(self) -> RadioRules:
        return RadioRules.from_json(self._store.get_meta(RULES_KEY))

    def set_radio_rules(self, rules: RadioRules) -> None:
        self._store.set_meta(RULES_KEY, rules.to_json())

    def record_skip(self, seed: int, track: int) -> None:
        """``track`` was skipped in its first seconds after being suggested for ``seed``."""
        self._store.record_skip(seed, track, time.time())

    def skips(self) -> list[tuple[Track, int]]:
        """Skipped tracks with their total early skips, most skipped first."""
        totals = self._store.skip_totals()
        found = self._store.tracks_by_ids(list(totals))
        return sorted(
            ((found[t], c) for t, c in totals.items() if t in found), key=lambda tc: -tc[1]
        )

    def reset_skips(self, track: str | int | Track | None = None) -> int:
        """Forget the skips of one track, or all of them; return how many were kept."""
        return self._store.reset_skips(None if track is None else self.resolve(track).id)

    def evaluate(
        self, label: str = "genre", k: int = 5, *, family: str = "both", radio: bool = False
    ) -> dict[str, Any]:
        """Leave-one-out precision@k for ``label``.

        ``family``: ``both`` (the space the library ranks in), ``hand`` (the hand-made
        features alone) or ``neural`` (the second pass's embedding alone, over the tracks
        that have one). With ``radio`` the score is of what up next really offers: the
        ``k`` songs :meth:`similar` gives with the library's radio rules (``both`` only).
        """
        index = self.index()
        tracks = self._store.tracks_by_ids(index.ids.tolist())
        labels = [label_of(tracks[int(t)], label) for t in index.ids]
        vectors = index.vectors
        if family == "hand":
            vectors = vectors[:, :N_FEATURES]
        elif family == "neural":
            heard, embedded = self.neural()
            keep = np.isin(index.ids, heard)
            rows = np.searchsorted(heard, index.ids[keep])
            E = embedded[:, by_name(SECOND_PASS).embedding][rows]
            vectors, labels = to_space(E, *standardise(E)), list(np.array(labels)[keep])
        elif family != "both":
            raise LibraryError(f"unknown feature family {family!r}: both, hand or neural")
        result = {"label": label, "family": family, "radio": radio}
        if not radio:
            return {**result, **precision_at_k(vectors, labels, k)}
        hits, asked = [], 0
        for tid, own in zip(index.ids.tolist(), labels, strict=True):
            if own:
                found = self.similar(tid, k)
                asked += 1
                hits.append(sum(label_of(r.track, label) == own for r in found) / k)
        precision = float(np.mean(hits)) if hits else None
        return {**result, "k": k, "n": asked, "precision": precision, "per_label": {}}

    # -- data made elsewhere -------------------------------------------------------------
    def import_features(
        self, folder: str | os.PathLike[str], *, train: bool = True
    ) -> Generator[Progress, None, ImportReport]:
        """Record a Spark job's output (``encore spark-analyze``) as a local scan and both
        analysis passes would have, then train (unless ``train`` is false).

        Adds each input folder of the job to the library's folders when it exists on this
        machine, so later rescans keep its tracks up to date. Nothing is written when any
        row has another feature or neural version.
        """
        from engine.distributed.importing import ImportReport, SparkOutputError, read_output

        report, roots = ImportReport(), set()
        yield Progress(0, 0, "", "Importing features")
        try:
            for batch in read_output(folder):
                found = self._upsert_by_id(batch.analysed)
                self._store.put_features(found)  # clears earlier analysis errors too
                report.analysed += len(found)
                self._store.record_scan_failures(batch.unreadable)
                report.unreadable += len(batch.unreadable)
                errors = self._upsert_by_id(batch.failed)
                self._store.put_analysis_errors(errors)
                report.analysis_failed += len(errors)
                # the second pass, stored as listen() stores it (after put_features: a
                # changed track's upsert drops its old vectors of every pass)
                if heard := self._ids_by_path(batch.heard):
                    self._store.put_external_features(NEURAL_FEATURES, heard)
                    report.embedded += len(heard)
                if unheard := self._ids_by_path(batch.unheard):
                    self._store.put_pass_errors(NEURAL_FEATURES, unheard)
                    report.neural_failed += len(unheard)
                roots |= batch.roots
                self.invalidate()
                yield Progress(batch.done, batch.total, batch.last, "Importing features")
        except SparkOutputError as exc:
            raise LibraryError(str(exc)) from exc
        report.folders = tuple(sorted(r for r in roots if os.path.isdir(r)))
        self._store.add_folders(report.folders)
        if train and self.counts()["analysed"] >= 2:
            card = yield from self.train()
            if card is not None:
                report.trained_on, report.k = card.library_size, card.k
        return report

    def _ids_by_path(self, rows: Sequence[tuple[str, V]]) -> list[tuple[int, V]]:
        """``(path, value)`` rows of known tracks keyed by track id (others are dropped)."""
        return [
            (track.id, value)
            for path, value in rows
            if (track := self._store.track_by_path(path)) is not None
        ]

    def _upsert_by_id(self, rows: Sequence[tuple[TrackInfo, V]]) -> list[tuple[int, V]]:
        """Record ``(track info, value)`` rows as tracks; the values keyed by track id."""
        if not rows:
            return []
        self._store.upsert_tracks([info for info, _ in rows])
        return [
            (track.id, value)
            for info, value in rows
            if (track := self._store.track_by_path(info.path)) is not None
        ]

    def import_fma(self, metadata: str | os.PathLike[str], *, features: bool = False) -> Any:
        """Tag the library's FMA files from ``fma_metadata`` (see :mod:`engine.datasets.fma`)."""
        return _fma().import_metadata(self._store, metadata, features=features)

    def evaluate_fma(self, label: str = "genre", k: int = 5) -> dict[str, Any]:
        """:meth:`evaluate` on FMA's own features of the tracks :meth:`import_fma` gave them."""
        return _fma().evaluate(self._store, label, k)

    # -- the shared library setting and files (for the window) ---------------------------
    @staticmethod
    def shared_store(home: Path) -> str | None:
        """The shared MongoDB library chosen for ``home`` (used from the next start)."""
        return store_setting(home)

    @staticmethod
    def choose_shared_store(home: Path, uri: str | None) -> None:
        """Use the MongoDB library at ``uri`` from the next start (None: this computer's)."""
        set_store_setting(home, uri)

    @staticmethod
    def connect_shared_store(uri: str) -> str:
        """Connect to ``uri`` once, to test it; return its scheme, host(s) and database
        only (no credentials, no options), for the user.

        Raises :class:`StoreError` with a one-line reason when it cannot be used.
        """
        from engine.store.mongo import MongoStore, is_mongo_uri, redact

        if not is_mongo_uri(uri):
            raise StoreError("a shared library needs a mongodb:// or mongodb+srv:// URI")
        MongoStore(uri, feature_version=FEATURE_VERSION).close()
        return redact(uri)

    @staticmethod
    def is_music_file(path: str) -> bool:
        """True when ``path`` is named like a file Encore plays (by its extension)."""
        return is_audio_name(path)

    @staticmethod
    def album_cover(paths: Sequence[str]) -> bytes | None:
        """The cover of the album made of the songs at ``paths``: an image file beside
        them (``cover.jpg``, ``folder.jpg``…), else a picture in their tags."""
        return find_cover(paths)

    def album_cover_name(self, album_key: str, paths: Sequence[str]) -> Path:
        """Where the album's cover thumbnail is cached: the name changes with its source,
        so a new ``cover.jpg`` or retagged file makes a new thumbnail."""
        return self.home / "covers" / cover_cache_name(album_key, cover_source(paths))
