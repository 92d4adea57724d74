"""Decode a file once and hand its audio to every pass that needs it, each at its rate.

Long tracks are read as :data:`EXCERPTS` evenly spread excerpts of
:data:`EXCERPT_SECONDS` (only those are decoded); others are decoded whole, streaming.
Each excerpt, or each decoded chunk, is resampled once per rate the passes ask for.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from engine.analysis.decode import iter_native, read_excerpts_native, resample

#: Tracks are analysed from this many excerpts …
EXCERPTS = 8
#: … of this many seconds each, the first at the start and the last at the end.
EXCERPT_SECONDS = 10.0


class Sink(Protocol):
    """What takes the audio: segments (excerpts, or the whole track) in chunks."""

    def push(self, chunk: np.ndarray) -> None: ...

    def end_segment(self) -> None: ...


def feed(
    path: str | os.PathLike[str], sinks: Sequence[tuple[int, Sink]], *, whole: bool = False
) -> float | None:
    """Decode ``path`` once and push its audio to each ``(sample rate, sink)``.

    Tracks long enough are read as excerpts (one segment each) unless ``whole``; the
    others as one segment, streamed. Returns how many seconds decoded when the track was
    decoded whole, else None (the excerpts confirm the length its header gives).

    Raises ``DecodeError`` when the file yields no audio.
    """
    rates = sorted({rate for rate, _ in sinks})
    found = None if whole else read_excerpts_native(path, count=EXCERPTS, seconds=EXCERPT_SECONDS)
    if found is not None:
        native, excerpts = found
        for excerpt in excerpts:
            at = {rate: resample(excerpt, native, rate) for rate in rates}
            for rate, sink in sinks:
                sink.push(at[rate])
                sink.end_segment()
        return None
    import soxr

    streams: dict[int, soxr.ResampleStream | None] = {}
    native, samples = 0, 0
    for native, chunk in iter_native(path):
        samples += chunk.size
        for rate in rates:
            if rate not in streams:
                streams[rate] = (
                    None
                    if rate == native
                    else soxr.ResampleStream(native, rate, 1, dtype="float32", quality="HQ")
                )
            stream = streams[rate]
            out = stream.resample_chunk(chunk) if stream else chunk
            for sink_rate, sink in sinks:
                if sink_rate == rate and out.size:
                    sink.push(out)
    for rate, stream in streams.items():
        tail = stream.resample_chunk(np.zeros(0, np.float32), last=True) if stream else None
        for sink_rate, sink in sinks:
            if sink_rate == rate and tail is not None and tail.size:
                sink.push(tail)
    for _, sink in sinks:
        sink.end_segment()
    return samples / native if native else 0.0
