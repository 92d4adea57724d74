"""Is the map interactive with 100,000 songs? Times the GUI thread, offscreen.

Run: .venv/bin/python benchmarks/map_100k.py

Loads 100k points (224 clusters, as KMeans gives at that size) into the map dock,
then measures a full repaint after loading, after panning and after zooming, and
re-colouring by genre. A frame under ~50 ms feels smooth when dragging.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PySide6.QtWidgets import QApplication

from engine.similarity.atlas import Projection
from engine.tracks import Track


def main(n: int = 100_000) -> None:
    app = QApplication([])
    from desktop.map_view import MapPanel

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(224, 2)) * 5
    clusters = rng.integers(0, 224, n)
    xy = (centres[clusters] + rng.normal(size=(n, 2))).astype(np.float32)
    ids = np.arange(1, n + 1)
    genres = [f"Genre {i % 30}" for i in range(n)]
    tracks = {
        int(i): Track(path=f"/m/{i}.mp3", size=1, mtime=0, id=int(i), title=f"Song {i}",
                      genre=genres[i - 1])
        for i in ids
    }  # fmt: skip
    panel = MapPanel()
    panel.resize(1200, 400)
    panel.show()
    app.processEvents()

    start = time.perf_counter()
    panel.set_projection(Projection(ids, xy, clusters, 0.4), tracks)
    panel.plot.grab()
    load = time.perf_counter() - start

    def frame(action: object) -> float:
        t = time.perf_counter()
        action()
        panel.plot.grab()  # a full repaint of the view
        return time.perf_counter() - t

    box = panel.plot.getViewBox()
    pans = [frame(lambda: box.translateBy(x=0.5)) for _ in range(10)]
    zooms = [frame(lambda: box.scaleBy((0.9, 0.9))) for _ in range(10)]
    highlight = frame(lambda: panel.show_playing(tracks[1], [tracks[i] for i in range(2, 7)]))
    start = time.perf_counter()
    panel.colour_by.setCurrentIndex(1)
    panel.plot.grab()
    recolour = time.perf_counter() - start
    print(f"{n:,} points")
    print(f"  load and first paint: {load * 1000:.0f} ms")
    print(f"  pan, repaint:  median {statistics.median(pans) * 1000:.0f} ms")
    print(f"  zoom, repaint: median {statistics.median(zooms) * 1000:.0f} ms")
    print(f"  highlight playing + up next, repaint: {highlight * 1000:.0f} ms")
    print(f"  colour by genre, repaint: {recolour * 1000:.0f} ms")


if __name__ == "__main__":
    main()
