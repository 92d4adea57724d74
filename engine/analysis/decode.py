"""Decode audio files to mono float32 at the analysis rate.

PyAV (FFmpeg) is tried first: its Vorbis and Opus decoders are 2-3x faster than
libsndfile's, and it seeks in every container. soundfile (libsndfile) is the
fallback. Audio is down-mixed and resampled with soxr as it streams, so no copy
of a whole track is needed (and never a float64 one).

Two ways in: :func:`iter_native` streams a whole track; :func:`read_excerpts_native`
decodes only a few evenly spread excerpts of a long one (what analysis uses). Both give
the file's own rate, so one decode serves every analysis pass, each resampling to its
own rate (:func:`resample`); :func:`iter_mono` and :func:`read_excerpts` resample to one.

Decoders read through :class:`_BoundedFile`, which ends the file for them once they
have read :data:`GAP_BYTES` without producing audio. A half-finished download (valid
audio, then gigabytes of zeros) would otherwise make FFmpeg search the zeros for a
frame after every seek: minutes and gigabytes per file.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import numpy as np
import soxr

T = TypeVar("T")

#: Decoded audio is down-mixed and resampled in batches of about this many frames.
BLOCK_FRAMES = 1 << 16
#: A decoder may read this much without producing audio before the file ends for it.
#: A compressed frame is at most a few hundred kB; a WAV block a few MB.
GAP_BYTES = 16 << 20
#: What opening a file may read: headers, tags and embedded cover art.
OPEN_BYTES = 64 << 20

# FFmpeg sample formats (packed and planar) -> numpy dtype and scale to [-1, 1].
_SAMPLE_TYPES: dict[str, tuple[type[np.generic], float]] = {
    "flt": (np.float32, 1.0),
    "dbl": (np.float64, 1.0),
    "s16": (np.int16, 1 / 2**15),
    "s32": (np.int32, 1 / 2**31),
    "s64": (np.int64, 1 / 2**63),
}


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
    stream: soxr.ResampleStream | None = None
    for rate, chunk in iter_native(path):
        if stream is None and rate != sr:
            stream = _resampler(rate, sr)
        yield stream.resample_chunk(chunk) if stream else chunk
    if stream:
        yield stream.resample_chunk(np.zeros(0, np.float32), last=True)


def iter_native(path: str | os.PathLike[str]) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(sample rate, chunk)``: consecutive chunks of ``path`` as mono float32 at
    the file's own rate, decoded once for whatever rates its readers need.

    A file that is damaged part-way ends early with what could be decoded.

    Raises
    ------
    DecodeError
        Before the first chunk, when the file cannot be opened or holds no audio.
    """
    path = _check_file(path)
    produced = 0
    failures: list[Exception] = []
    for opener in (_av_chunks, _soundfile_chunks):  # FFmpeg; libsndfile when it fails
        try:
            rate, chunks = opener(path)
            for chunk in chunks:
                if chunk.size:
                    produced += chunk.size
                    if not np.isfinite(chunk).all():
                        chunk = np.nan_to_num(chunk, nan=0.0, posinf=0.0, neginf=0.0)
                    yield rate, chunk
        except PermissionError as exc:
            raise DecodeError("permission denied") from exc
        except FileNotFoundError as exc:
            raise DecodeError("file not found (moved or deleted)") from exc
        except Exception as exc:  # decoders fail in many ways on bad files
            if produced:
                return  # damaged part-way: keep what was decoded
            failures.append(exc)
            continue
        if produced:
            return
    if len(failures) == 2:  # neither decoder could open it
        raise DecodeError(_describe(failures[1], failures[0], path)) from failures[0]
    raise DecodeError("no audio samples could be decoded")


def read_excerpts(
    path: str | os.PathLike[str],
    *,
    sr: int = 22050,
    count: int = 8,
    seconds: float = 10.0,
) -> list[np.ndarray] | None:
    """:func:`read_excerpts_native`'s excerpts, resampled to ``sr`` Hz (or None)."""
    found = read_excerpts_native(path, count=count, seconds=seconds)
    if found is None:
        return None
    rate, excerpts = found
    return [resample(e, rate, sr) for e in excerpts]


def read_excerpts_native(
    path: str | os.PathLike[str], *, count: int = 8, seconds: float = 10.0
) -> tuple[int, list[np.ndarray]] | None:
    """``(rate, excerpts)``: ``count`` excerpts of ``seconds`` each, evenly spread over
    the track, as mono float32 at the file's own rate; or None.

    The first excerpt starts at the beginning and the last ends at the end, so
    intros and endings count as they do in the whole track. Only the excerpts are
    decoded (the decoder seeks). None means the track must be decoded whole
    (:func:`iter_native`): it is shorter than 1.5x the excerpts together, of unknown
    length, cannot be sought in, or does not decode to the end its header claims
    (damaged or incomplete: only decoding it through tells how much of it is audio).

    Raises
    ------
    DecodeError
        When the file cannot be opened at all.
    """
    import av

    path = _check_file(path)
    try:
        source, container = _open_bounded(path, av.open)
    except Exception:  # the whole-track path reports why, or tries libsndfile
        return None
    excerpts: list[np.ndarray] = []
    with container, source:
        streams = container.streams.audio
        stream = streams[0] if streams else None
        known = stream is not None and stream.codec_context is not None  # FFmpeg can decode it
        length = _duration_of(container, stream) if known else None
        if length is None or length < 1.5 * count * seconds:
            return None
        rate = stream.codec_context.sample_rate
        if not rate:
            return None
        for i in range(count):
            start = (length - seconds) * i / max(count - 1, 1)
            source.refill()
            try:
                excerpt = _av_excerpt(container, stream, rate, start, seconds, source)
            except Exception:  # damaged in a way FFmpeg does not flag
                return None
            if excerpt.size < 0.5 * seconds * rate:  # the file ends (or breaks) before this
                return None
            excerpts.append(excerpt)
    return rate, excerpts


def resample(audio: np.ndarray, rate: int, sr: int) -> np.ndarray:
    """Mono float32 ``audio`` at ``rate`` Hz, resampled to ``sr`` Hz (itself when equal)."""
    if rate == sr or audio.size == 0:
        return audio
    return soxr.resample(audio, rate, sr, quality="HQ").astype(np.float32, copy=False)


def duration(path: str | os.PathLike[str]) -> float | None:
    """Length in seconds from the container headers, without decoding."""
    import av

    try:
        with _BoundedFile(os.fspath(path)) as source, av.open(source) as container:
            if container.streams.audio:
                return _duration_of(container, container.streams.audio[0])
    except Exception:  # not for FFmpeg: ask libsndfile
        pass
    try:
        import soundfile as sf

        info = sf.info(os.fspath(path))
        if info.frames > 0 and info.samplerate > 0:
            return info.frames / info.samplerate
    except Exception:  # unreadable: decoding reports why
        return None
    return None


def _check_file(path: str | os.PathLike[str]) -> str:
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
    except FileNotFoundError as exc:
        raise DecodeError("file not found (moved or deleted)") from exc
    except OSError as exc:
        raise DecodeError(f"cannot open file: {exc.strerror or exc}") from exc
    if size == 0:
        raise DecodeError("empty file (0 bytes)")
    return path


class _BoundedFile(io.RawIOBase):
    """A file a decoder reads at most ``allowance`` bytes of between :meth:`refill` calls.

    Past that it reads as ended. Decoding code refills it whenever audio comes out
    (and before each seek), so a file of audio reads whole, while a stretch of
    :data:`GAP_BYTES` without audio (zeros after a half-finished download, garbage)
    ends it instead of being searched through.
    """

    def __init__(self, path: str, allowance: int = GAP_BYTES) -> None:
        super().__init__()
        self._raw = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by close()
        self.name = path
        self._allowance = allowance
        self._left = max(allowance, OPEN_BYTES)  # headers, tags and cover art come first

    def refill(self) -> None:
        self._left = self._allowance

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer)
        n = self._raw.readinto(view[: min(len(view), self._left)]) or 0
        self._left -= n
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()
        super().close()


def _open_bounded(path: str, opener: Callable[[_BoundedFile], T]) -> tuple[_BoundedFile, T]:
    """``opener`` (a decoder) on a :class:`_BoundedFile` of ``path``; the file is closed
    again when the decoder refuses it."""
    source = _BoundedFile(path)
    try:
        return source, opener(source)
    except BaseException:
        source.close()
        raise


def _duration_of(container: object, stream: object) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return None


class _Downmix:
    """Collects decoded frames and mixes them to mono float32 in one vectorised step.

    Per frame only the raw bytes are kept: Vorbis frames hold ~500 samples, and any
    per-frame numpy work (views, mixing, scaling) costs as much as decoding them.
    """

    def __init__(self) -> None:
        self.size = 0  # samples per channel collected since the last take()
        self.skip = 0  # samples still to drop (a seek lands a little early)
        self._kind: tuple[str, int] | None = None  # FFmpeg sample format, channels
        self._bytes: list[list[memoryview]] = []  # per plane
        self._mixed: list[np.ndarray] = []

    def add(self, frame: object) -> None:
        n = frame.samples
        if self.skip >= n:
            self.skip -= n
            return
        fmt = frame.format
        planar = fmt.is_planar
        planes = frame.planes
        channels = len(planes) if planar else len(frame.layout.channels)
        kind = (fmt.name, channels)
        if kind != self._kind:
            self._mix()  # the sample type or layout changed (or this is the first frame)
            self._kind = kind
            self._bytes = [[] for _ in planes]
        if fmt.name.rstrip("p") not in _SAMPLE_TYPES:  # rare formats (u8): PyAV converts
            data = frame.to_ndarray().astype(np.float32)[..., self.skip :]
            if fmt.name.startswith("u8"):
                data = (data - 128) / 128
            mono = (data if planar else data.reshape(-1, channels).T).mean(axis=0)
            self._mixed.append(mono.astype(np.float32))
        else:
            width = fmt.bytes * (1 if planar else channels)  # bytes per sample, per plane
            for collected, plane in zip(self._bytes, planes, strict=True):
                collected.append(memoryview(plane)[self.skip * width : n * width])
        self.size += n - self.skip
        self.skip = 0

    def take(self) -> np.ndarray:
        """Everything collected so far, as one mono float32 array."""
        self._mix()
        mixed, self._mixed, self.size = self._mixed, [], 0
        return np.concatenate(mixed) if mixed else np.zeros(0, np.float32)

    def _mix(self) -> None:
        if self._kind is None or not any(self._bytes):
            return
        name, channels = self._kind
        dtype, scale = _SAMPLE_TYPES[name.rstrip("p")]
        planes = [np.frombuffer(b"".join(parts), dtype) for parts in self._bytes]
        if len(planes) == 1 and channels > 1:  # packed: channels interleaved
            planes = [planes[0][c::channels] for c in range(channels)]
        mono = planes[0].astype(np.float32)  # a copy: the frames' buffers are never written
        for plane in planes[1:]:
            mono += plane
        if scale != 1.0 or channels > 1:
            mono *= np.float32(scale / channels)
        self._mixed.append(mono)
        self._bytes = [[] for _ in self._bytes]


def _batches(frames: Iterable[object], source: _BoundedFile) -> Iterator[np.ndarray]:
    """Mono float32 blocks of about BLOCK_FRAMES samples from decoded frames."""
    downmix = _Downmix()
    for frame in frames:
        source.refill()  # audio came out: the decoder may read on
        downmix.add(frame)
        if downmix.size >= BLOCK_FRAMES:
            yield downmix.take()
    if downmix.size:
        yield downmix.take()


def _av_excerpt(
    container: object,
    stream: object,
    rate: int,
    start: float,
    seconds: float,
    source: _BoundedFile,
) -> np.ndarray:
    """Decode ``seconds`` of audio from ``start`` (seconds) as mono float32 at the
    stream's ``rate``.

    Empty when the decoder cannot seek there or nothing follows.
    """
    import av

    wanted = int(seconds * rate)
    downmix = _Downmix()
    try:
        container.seek(int(start / stream.time_base), stream=stream)
        for i, frame in enumerate(container.decode(stream)):
            source.refill()
            if i == 0 and frame.time is not None and frame.time < start:
                downmix.skip = round((start - frame.time) * rate)  # seeks land early
            downmix.add(frame)
            if downmix.size >= wanted:
                break
    except av.error.FFmpegError:
        pass  # damaged there: keep what was decoded
    return downmix.take()[:wanted]


def _mono(block: np.ndarray) -> np.ndarray:
    """Down-mix a (frames, channels) block to one channel."""
    return block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]


# FFmpeg's wording for the usual reasons, said the way a listener would understand it.
_PLAIN_REASONS = {
    "invalid data found when processing input": "not a recognised audio format, or damaged",
    "end of file": "the file ends before any audio could be read",
}


def _describe(first: Exception, second: Exception, path: str) -> str:
    """``not decodable audio: <reason>`` without error numbers, paths or reprs."""
    reason = ""
    for exc in (second, first):
        # FFmpeg errors carry the bare reason in strerror; str() adds "[Errno N]" and the path
        text = getattr(exc, "strerror", None) or str(exc)
        text = text.strip().splitlines()[0] if text.strip() else ""
        text = text.replace(repr(path), "the file").replace(path, "the file")
        text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
        text = re.sub(r"^Error opening 'the file':\s*", "", text).rstrip(".")
        if text:
            reason = _PLAIN_REASONS.get(text.lower(), text)
            break
    return f"not decodable audio: {reason or type(second).__name__}"


def _resampler(in_rate: int, out_rate: int) -> soxr.ResampleStream | None:
    if in_rate == out_rate:
        return None
    return soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality="HQ")


def _av_chunks(path: str) -> tuple[int, Iterator[np.ndarray]]:
    """Open with FFmpeg now (so format errors raise here); the file's rate and its
    mono chunks at that rate."""
    import av

    source, container = _open_bounded(path, av.open)
    if not container.streams.audio or container.streams.audio[0].codec_context is None:
        container.close()
        source.close()
        if not container.streams.audio:
            raise DecodeError("the file has no audio stream")
        raise DecodeError("unsupported audio codec")  # a codec FFmpeg does not know
    stream = container.streams.audio[0]

    def frames() -> Iterator[object]:
        with contextlib.suppress(av.error.FFmpegError):  # damaged part-way: keep the rest
            yield from container.decode(stream)

    def chunks() -> Iterator[np.ndarray]:
        with container, source:
            yield from _batches(frames(), source)

    rate = stream.codec_context.sample_rate
    if not rate:
        container.close()
        source.close()
        raise DecodeError("the audio stream has no sample rate")
    return rate, chunks()


def _soundfile_chunks(path: str) -> tuple[int, Iterator[np.ndarray]]:
    """Open with libsndfile now (so format errors raise here); the file's rate and its
    mono chunks at that rate."""
    import soundfile as sf

    source, f = _open_bounded(path, sf.SoundFile)

    def blocks() -> Iterator[np.ndarray]:
        while True:
            source.refill()
            try:
                block = f.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
            except Exception:  # damaged part-way: keep what was decoded
                return
            if len(block):
                yield _mono(block)
            if len(block) < BLOCK_FRAMES:
                return

    def chunks() -> Iterator[np.ndarray]:
        with f, source:
            yield from blocks()

    return f.samplerate, chunks()
