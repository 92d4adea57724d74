"""Decode audio files to mono float32 at the analysis rate.

soundfile (libsndfile: wav, flac, mp3, ogg/vorbis, opus) is tried first;
PyAV (FFmpeg: m4a/aac and anything else QMediaPlayer can play) is the
fallback. Audio is read in blocks, down-mixed and resampled with soxr as it
streams, so no float64 copy of a whole track is ever held.
"""

from __future__ import annotations

import os

import numpy as np
import soxr

#: Blocks of this many frames are read, down-mixed and resampled at a time.
BLOCK_FRAMES = 1 << 16


class DecodeError(Exception):
    """The file cannot be decoded; the message is meant for the user."""


def load_mono(path: str | os.PathLike[str], *, sr: int = 22050) -> np.ndarray:
    """Decode ``path`` to mono float32 samples at ``sr`` Hz.

    Parameters
    ----------
    path
        An audio file.
    sr
        Target sample rate in Hz.

    Returns
    -------
    numpy.ndarray, shape (n_samples,), dtype float32

    Raises
    ------
    DecodeError
        When neither decoder can read any samples from the file.
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
        y = _load_soundfile(path, sr)
    except PermissionError as exc:
        raise DecodeError("permission denied") from exc
    except FileNotFoundError as exc:
        raise DecodeError("file not found (moved or deleted)") from exc
    except Exception as first:  # libsndfile reports every format problem as its own error
        try:
            y = _load_av(path, sr)
        except Exception as second:
            raise DecodeError(_describe(first, second)) from second
    if y.size == 0:
        raise DecodeError("no audio samples could be decoded")
    if not np.isfinite(y).all():
        y = np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)
    return y


def _describe(first: Exception, second: Exception) -> str:
    text = str(second).strip() or str(first).strip() or type(second).__name__
    return f"not decodable audio: {text.splitlines()[0]}"


def _resampler(in_rate: int, out_rate: int) -> soxr.ResampleStream | None:
    if in_rate == out_rate:
        return None
    return soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality="HQ")


def _load_soundfile(path: str, sr: int) -> np.ndarray:
    import soundfile as sf

    chunks: list[np.ndarray] = []
    with sf.SoundFile(path) as f:
        stream = _resampler(f.samplerate, sr)
        while True:
            block = f.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
            last = len(block) < BLOCK_FRAMES
            mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
            chunks.append(stream.resample_chunk(mono, last=last) if stream else mono.copy())
            if last:
                break
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)


def _load_av(path: str, sr: int) -> np.ndarray:
    import av

    chunks: list[np.ndarray] = []
    with av.open(path) as container:
        if not container.streams.audio:
            raise DecodeError("the file has no audio stream")
        audio = container.streams.audio[0]
        rate = audio.codec_context.sample_rate or sr
        # FFmpeg only converts to packed mono float here; soxr does the rate change.
        to_mono = av.AudioResampler(format="flt", layout="mono", rate=rate)
        stream = _resampler(rate, sr)
        for frame in container.decode(audio):
            for out in to_mono.resample(frame):
                mono = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                chunks.append(stream.resample_chunk(mono) if stream else mono)
        for out in to_mono.resample(None):
            mono = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            chunks.append(stream.resample_chunk(mono) if stream else mono)
        if stream:
            chunks.append(stream.resample_chunk(np.zeros(0, np.float32), last=True))
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
