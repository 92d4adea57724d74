"""Decode audio files to mono float32 at the analysis rate, as a stream of chunks.

soundfile (libsndfile: wav, flac, mp3, ogg/vorbis, opus) is tried first;
PyAV (FFmpeg: m4a/aac and anything else QMediaPlayer can play) is the
fallback. Audio is read in blocks, down-mixed and resampled with soxr as it
streams, so no copy of a whole track is needed (and never a float64 one).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import soxr

#: Blocks of this many frames are read, down-mixed and resampled at a time.
BLOCK_FRAMES = 1 << 16


class DecodeError(Exception):
    """The file cannot be decoded; the message is meant for the user."""


def load_mono(path: str | os.PathLike[str], *, sr: int = 22050) -> np.ndarray:
    """Decode ``path`` to mono float32 samples at ``sr`` Hz.

    Returns
    -------
    numpy.ndarray, shape (n_samples,), dtype float32

    Raises
    ------
    DecodeError
        When neither decoder can read any samples from the file.
    """
    return np.concatenate(list(iter_mono(path, sr=sr)))


def iter_mono(path: str | os.PathLike[str], *, sr: int = 22050) -> Iterator[np.ndarray]:
    """Yield consecutive chunks of ``path`` as mono float32 at ``sr`` Hz.

    A file that is damaged part-way ends early with what could be decoded.

    Raises
    ------
    DecodeError
        Before the first chunk, when the file cannot be opened or holds no audio.
    """
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
    except FileNotFoundError as exc:
        raise DecodeError("file not found (moved or deleted)") from exc
    except OSError as exc:
        raise DecodeError(f"cannot open file: {exc.strerror or exc}") from exc
    if size == 0:
        raise DecodeError("empty file (0 bytes)")
    try:
        chunks = _soundfile_chunks(path, sr)
    except PermissionError as exc:
        raise DecodeError("permission denied") from exc
    except FileNotFoundError as exc:
        raise DecodeError("file not found (moved or deleted)") from exc
    except Exception as first:  # libsndfile reports every format problem as its own error
        try:
            chunks = _av_chunks(path, sr)
        except Exception as second:
            raise DecodeError(_describe(first, second, path)) from second
    produced = 0
    for chunk in chunks:
        if chunk.size:
            produced += chunk.size
            if not np.isfinite(chunk).all():
                chunk = np.nan_to_num(chunk, nan=0.0, posinf=0.0, neginf=0.0)
            yield chunk
    if produced == 0:
        raise DecodeError("no audio samples could be decoded")


def iter_segments(
    path: str | os.PathLike[str],
    *,
    sr: int = 22050,
    count: int = 3,
    seconds: float = 20.0,
) -> Iterator[np.ndarray]:
    """Yield ``count`` excerpts of ``seconds`` each, evenly spread through the track.

    Excerpts are centred at 1/(count+1), 2/(count+1), … of the duration, so intros and
    fades are skipped, and only those parts are decoded (the decoder seeks). A track
    too short for separate excerpts, or whose length is unknown, is yielded whole,
    as one array.

    Raises
    ------
    DecodeError
        As :func:`iter_mono`.
    """
    path = os.fspath(path)
    duration = _duration(path)
    if duration is None or duration < 1.5 * count * seconds:
        yield load_mono(path, sr=sr)
        return
    for i in range(1, count + 1):
        start = duration * i / (count + 1) - seconds / 2
        window = _excerpt(path, sr, start, seconds)
        if window.size:
            yield window


def _duration(path: str) -> float | None:
    """Length in seconds from the container headers, without decoding."""
    try:
        import soundfile as sf

        info = sf.info(path)
        if info.frames > 0 and info.samplerate > 0:
            return info.frames / info.samplerate
    except Exception:  # not a libsndfile format: ask FFmpeg
        pass
    try:
        import av

        with av.open(path) as container:
            if container.duration:
                return container.duration / 1_000_000
    except Exception:  # unreadable here: the full decode reports why
        return None
    return None


def _excerpt(path: str, sr: int, start: float, seconds: float) -> np.ndarray:
    """Decode ``seconds`` of audio from ``start`` (seconds) as mono float32 at ``sr``."""
    try:
        import soundfile as sf

        with sf.SoundFile(path) as f:
            rate = f.samplerate
            f.seek(max(0, int(start * rate)))
            block = f.read(int(seconds * rate), dtype="float32", always_2d=True)
    except Exception:  # not a libsndfile format, or a failed seek: use FFmpeg
        return _excerpt_av(path, sr, start, seconds)
    return _resample_whole(_mono(block), rate, sr)


def _excerpt_av(path: str, sr: int, start: float, seconds: float) -> np.ndarray:
    import av

    chunks: list[np.ndarray] = []
    with av.open(path) as container:
        audio = container.streams.audio[0]
        rate = audio.codec_context.sample_rate or sr
        to_mono = av.AudioResampler(format="flt", layout="mono", rate=rate)
        container.seek(int(max(0.0, start) * 1_000_000))
        wanted = int(seconds * rate)
        have = 0
        try:
            for frame in container.decode(audio):
                for out in to_mono.resample(frame):
                    mono = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    chunks.append(mono)
                    have += mono.size
                if have >= wanted:
                    break
        except av.error.FFmpegError:
            pass  # damaged part-way: keep what was decoded
    mono = np.concatenate(chunks)[:wanted] if chunks else np.zeros(0, np.float32)
    return _resample_whole(mono, rate, sr)


def _mono(block: np.ndarray) -> np.ndarray:
    """Down-mix a (frames, channels) block to one channel."""
    return block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]


def _resample_whole(mono: np.ndarray, rate: int, sr: int) -> np.ndarray:
    if rate == sr or mono.size == 0:
        return np.ascontiguousarray(mono, dtype=np.float32)
    return soxr.resample(mono, rate, sr, quality="HQ").astype(np.float32, copy=False)


def _describe(first: Exception, second: Exception, path: str) -> str:
    text = str(second).strip() or str(first).strip() or type(second).__name__
    text = text.splitlines()[0].replace(repr(path), "the file").replace(path, "the file")
    return f"not decodable audio: {text}"


def _resampler(in_rate: int, out_rate: int) -> soxr.ResampleStream | None:
    if in_rate == out_rate:
        return None
    return soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality="HQ")


def _soundfile_chunks(path: str, sr: int) -> Iterator[np.ndarray]:
    """Open with libsndfile now (so format errors raise here), then stream."""
    import soundfile as sf

    f = sf.SoundFile(path)

    def chunks() -> Iterator[np.ndarray]:
        with f:
            stream = _resampler(f.samplerate, sr)
            while True:
                try:
                    block = f.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
                except Exception:  # damaged part-way: keep what was decoded
                    block = np.zeros((0, max(1, f.channels)), np.float32)
                last = len(block) < BLOCK_FRAMES
                mono = _mono(block)
                yield stream.resample_chunk(mono, last=last) if stream else mono.copy()
                if last:
                    return

    return chunks()


def _av_chunks(path: str, sr: int) -> Iterator[np.ndarray]:
    """Open with FFmpeg now (so format errors raise here), then stream."""
    import av

    container = av.open(path)
    if not container.streams.audio:
        container.close()
        raise DecodeError("the file has no audio stream")
    audio = container.streams.audio[0]

    def chunks() -> Iterator[np.ndarray]:
        with container:
            rate = audio.codec_context.sample_rate or sr
            # FFmpeg only converts to packed mono float here; soxr does the rate change.
            to_mono = av.AudioResampler(format="flt", layout="mono", rate=rate)
            stream = _resampler(rate, sr)

            def convert(frame: av.AudioFrame | None) -> Iterator[np.ndarray]:
                for out in to_mono.resample(frame):
                    mono = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    yield stream.resample_chunk(mono) if stream else mono

            try:
                for frame in container.decode(audio):
                    yield from convert(frame)
            except av.error.FFmpegError:
                pass  # damaged part-way: keep what was decoded
            yield from convert(None)
            if stream:
                yield stream.resample_chunk(np.zeros(0, np.float32), last=True)

    return chunks()
