"""Speed of the two analysis passes beside bliss-audio, one core, on real files.

    python benchmarks/neural_speed.py --music DIR [--limit 20]

Times, per 4-minute track and on one core (this process pinned to one CPU): the first
pass (the hand-made features), the second pass (musicnn, fp32 as shipped, and a
dynamic int8 quantisation of the same graph for comparison), and bliss-audio; then
what int8 costs: the cosine between its embeddings and fp32's, and the largest tag
difference. Needs the dev extras (onnx, bliss-audio).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.analysis.decode import duration
from engine.analysis.features import analyze_track
from engine.neural import embedding
from engine.neural.musicnn import MODELS_DIR, STEM, Musicnn, load_weights, onnx_initializers


def per_four_minutes(fn: Callable[[str], object], files: list[str]) -> float:
    """Seconds ``fn`` takes per 4 minutes of audio over ``files`` (after a warm-up)."""
    fn(files[0])
    minutes = sum(duration(f) or 0.0 for f in files) / 60
    start = time.perf_counter()
    for f in files:
        fn(f)
    return (time.perf_counter() - start) / minutes * 4


def int8_network() -> Musicnn:
    """The shipped graph with its weights inlined, dynamically quantised to int8."""
    import onnx
    from onnx import numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load_from_string((MODELS_DIR / f"{STEM}.onnx").read_bytes())
    weights = onnx_initializers(load_weights())
    kept = [i for i in model.graph.initializer if i.name not in weights]  # constants
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    model.graph.initializer.extend(numpy_helper.from_array(a, n) for n, a in weights.items())
    folder = Path(tempfile.mkdtemp())
    onnx.save(model, folder / "fp32.onnx")
    quantize_dynamic(folder / "fp32.onnx", folder / "int8.onnx", weight_type=QuantType.QInt8)
    network = Musicnn.__new__(Musicnn)
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    network.tags = Musicnn().tags
    network._initializers = {}
    network._session = ort.InferenceSession(str(folder / "int8.onnx"), options)
    return network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--music", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=20)
    args = parser.parse_args()
    files = sorted(str(p) for p in args.music.rglob("*") if p.suffix in {".ogg", ".mp3", ".flac"})
    files = files[:: max(1, len(files) // args.limit)][: args.limit]
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    import bliss_audio

    first = per_four_minutes(analyze_track, files)
    embedding._model = (None, Musicnn(threads=1))  # (its folder, the network)
    fp32 = per_four_minutes(embedding.embed_track, files)
    reference = [embedding.embed_track(f) for f in files]
    embedding._model = (None, int8_network())
    int8 = per_four_minutes(embedding.embed_track, files)
    quantised = [embedding.embed_track(f) for f in files]
    bliss = per_four_minutes(lambda f: bliss_audio.Song(f).analysis, files)
    minutes = sum(duration(f) or 0.0 for f in files) / 60
    print(f"{len(files)} files, {minutes:.1f} min of audio; seconds per 4-minute track, one core")
    print(f"  first pass (hand-made features)   {first:.3f}")
    print(f"  second pass, fp32 (shipped)       {fp32:.3f}")
    print(f"  second pass, int8                 {int8:.3f}")
    print(f"  both passes (fp32)                {first + fp32:.3f}")
    print(f"  bliss-audio                       {bliss:.3f}")
    print(f"  bliss-audio / both passes         {bliss / (first + fp32):.2f}x")
    cosines = [
        float(a[:200] @ b[:200] / np.linalg.norm(a[:200]) / np.linalg.norm(b[:200]))
        for a, b in zip(reference, quantised, strict=True)
    ]
    pairs = list(zip(reference, quantised, strict=True))
    tags = max(float(np.abs(a[200:] - b[200:]).max()) for a, b in pairs)
    print(f"  int8 vs fp32: embedding cosine min {min(cosines):.4f}, largest tag change {tags:.3f}")


if __name__ == "__main__":
    main()
