"""Walk library folders and bring the store up to date with the files on disk."""

from __future__ import annotations

import os
import stat
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field

from engine.ingest.formats import is_audio_name
from engine.ingest.tags import TagError, read_track
from engine.progress import CancelToken, Progress
from engine.store import Store
from engine.tracks import Failure, TrackInfo

#: Rows are written in transactions of this many files.
BATCH = 200


@dataclass(slots=True)
class ScanReport:
    """What a scan changed."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: int = 0
    missing_folders: list[str] = field(default_factory=list)
    #: Paths given that are neither music files nor folders (a text file, a FIFO, a device).
    not_music: list[str] = field(default_factory=list)
    #: One line per problem, naming the path and the cause.
    problems: list[str] = field(default_factory=list)
    cancelled: bool = False

    def summary(self) -> str:
        text = (
            f"{self.added} added, {self.updated} updated, {self.removed} removed, "
            f"{self.unchanged} unchanged, {self.failed} unreadable"
        )
        return text + (" (cancelled)" if self.cancelled else "")


def walk_audio(root: str, problems: list[str]) -> Iterator[tuple[str, int, float]]:
    """Yield ``(path, size, mtime)`` of audio files under ``root``, recursively.

    Follows symbolic links to folders but visits each real folder once, so a
    link loop ends. Folders that cannot be listed are reported in ``problems``.
    """
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
        except OSError as exc:
            problems.append(f"cannot read folder {folder}: {exc.strerror or exc}")
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:
            continue
        seen.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:  # removed mid-scan, or not listable
            problems.append(f"cannot read folder {folder}: {exc.strerror or exc}")
            continue
        subfolders = []
        for entry in entries:
            try:
                if entry.is_dir():
                    subfolders.append(entry.path)
                elif is_audio_name(entry.name) and entry.is_file():
                    est = entry.stat()
                    yield entry.path, est.st_size, est.st_mtime
            except OSError:
                continue  # vanished between listing and stat
        stack.extend(reversed(subfolders))


def scan(
    store: Store, folders: Iterable[str], cancel: CancelToken | None = None
) -> Generator[Progress, None, ScanReport]:
    """Index ``folders`` (or single files): add new files, re-read changed ones,
    drop removed ones.

    Files that failed before are retried only when their size or mtime changed.
    A folder that is missing (e.g. an unplugged drive) is reported and its
    tracks are kept.
    """
    report = ScanReport()
    roots = [os.path.abspath(os.path.expanduser(f)) for f in folders]
    known = store.file_states()
    found: dict[str, tuple[int, float, str]] = {}
    for root in roots:
        try:
            st = os.stat(root)
        except OSError:
            report.missing_folders.append(root)
            continue
        if stat.S_ISREG(st.st_mode):  # a single file (e.g. dropped on the window)
            if is_audio_name(root):
                found.setdefault(root, (st.st_size, st.st_mtime, os.path.dirname(root)))
            else:
                report.not_music.append(root)
                report.problems.append(f"{root}: not a music file")
            continue
        if not stat.S_ISDIR(st.st_mode):  # a FIFO or a device: reading it could block
            report.not_music.append(root)
            report.problems.append(f"{root}: not a regular file or folder")
            continue
        for path, size, mtime in walk_audio(root, report.problems):
            found.setdefault(path, (size, mtime, root))
            if len(found) % 500 == 0:
                yield Progress(0, 0, path, f"Looking for music… {len(found)} files")
            if cancel and cancel.cancelled:
                report.cancelled = True
                return report

    todo = [p for p, (size, mtime, _) in found.items() if known.get(p) != (size, mtime)]
    report.unchanged = len(found) - len(todo)
    infos: list[TrackInfo] = []
    failures: list[Failure] = []

    def flush() -> None:
        store.upsert_tracks(infos)
        store.record_scan_failures(failures)
        infos.clear()
        failures.clear()

    for done, path in enumerate(todo, 1):
        size, mtime, root = found[path]
        try:
            info, problem = read_track(path, root=root)
        except TagError as exc:
            failures.append(Failure(path, "scan", str(exc), size, mtime))
            report.failed += 1
        else:
            if problem:  # indexed all the same, by its names
                report.problems.append(f"{path}: {problem} (listed by its file name)")
            infos.append(info)
            if path in known:
                report.updated += 1
            else:
                report.added += 1
        if len(infos) + len(failures) >= BATCH:
            flush()
        yield Progress(done, len(todo), path, "Reading tags")
        if cancel and cancel.cancelled:
            report.cancelled = True
            break
    flush()
    if report.cancelled:
        return report

    scanned = [r for r in roots if os.path.isdir(r)]
    gone = [
        p
        for p in known
        if p not in found and any(p.startswith(os.path.join(r, "")) for r in scanned)
    ]
    report.removed = store.remove_paths(gone)
    return report
