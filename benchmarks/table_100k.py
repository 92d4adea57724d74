"""GUI-thread cost of the library table at 100k tracks (load, sort, search).

Run: .venv/bin/python benchmarks/table_100k.py
Prints milliseconds per operation; the sort/search keys are built once off the GUI
thread in the app, so that step is printed separately.
"""

import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from run import fake_tracks  # benchmarks/ is on sys.path when run as a script

from desktop.library_model import SortKeys
from desktop.library_view import LibraryView
from engine.tracks import Track

N = 100_000


def main() -> None:
    app = QApplication([])
    view = LibraryView()
    view.resize(900, 600)
    view.show()
    app.processEvents()
    tracks = [
        Track(**asdict(info), id=i + 1, analysed=True) for i, info in enumerate(fake_tracks(N))
    ]
    keys = {}
    steps = [
        ("build keys (worker thread)", lambda: keys.setdefault("k", SortKeys.build(tracks))),
        ("load rows", lambda: view.set_tracks(tracks, keys["k"])),
        ("sort by title", lambda: view.proxy.sort(0)),
        ("sort by artist, descending", lambda: view.proxy.sort(1, Qt.SortOrder.DescendingOrder)),
        ("search 'album 31'", lambda: view.proxy.set_search("album 31")),
        ("clear search", lambda: view.proxy.set_search("")),
    ]
    print(f"{N} tracks")
    for label, step in steps:
        start = time.perf_counter()
        step()
        app.processEvents()
        print(f"  {label:32s} {1000 * (time.perf_counter() - start):7.1f} ms")


if __name__ == "__main__":
    main()
