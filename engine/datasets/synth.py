"""A labelled library of synthetic music, for tests, benchmarks and demos.

Five "styles" differ in tempo, timbre, harmony and dynamics; every track of a
style is a different seeded variation (key, tempo, melody, level), written with
tags (genre = album = style) in a rotating set of formats.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

SR = 22050
FORMATS: tuple[str, ...] = ("mp3", "ogg", "flac", "wav")


def _env(n: int, sr: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(n) / sr
    return np.minimum(t / max(attack, 1e-4), 1.0) * np.exp(-t / decay)


def _place(out: np.ndarray, start: int, sound: np.ndarray) -> None:
    end = min(len(out), start + len(sound))
    if end > start:
        out[start:end] += sound[: end - start]


def _tone(freq: float, n: int, sr: int, partials: Sequence[tuple[float, float]]) -> np.ndarray:
    t = np.arange(n) / sr
    return sum(a * np.sin(2 * np.pi * freq * r * t) for r, a in partials)


def _techno(rng: np.random.Generator, seconds: float, sr: int) -> np.ndarray:
    bpm = 128 * rng.uniform(0.97, 1.03)
    beat = int(sr * 60 / bpm)
    out = np.zeros(int(seconds * sr))
    kick_t = np.arange(int(0.25 * sr)) / sr
    kick = np.sin(2 * np.pi * (45 + 80 * np.exp(-kick_t * 30)) * kick_t) * np.exp(-kick_t * 12)
    hat = rng.standard_normal(int(0.04 * sr)) * _env(int(0.04 * sr), sr, 0.001, 0.01) * 0.3
    root = 55 * 2 ** (rng.integers(0, 5) / 12)
    for i in range(0, len(out), beat):
        _place(out, i, kick)
        _place(out, i + beat // 2, hat)
        saw = _tone(root, beat // 2, sr, [(h, 0.15 / h) for h in range(1, 8)])
        _place(out, i + beat // 2, saw * _env(beat // 2, sr, 0.005, 0.1))
    return out


def _ambient(rng: np.random.Generator, seconds: float, sr: int) -> np.ndarray:
    out = np.zeros(int(seconds * sr))
    chord_len = int(sr * rng.uniform(3.5, 4.5))
    base = 110 * 2 ** (rng.integers(0, 7) / 12)
    for i in range(0, len(out), chord_len):
        root = base * 2 ** (rng.choice([0, 3, 5, 7, 8, 10]) / 12)
        pad = sum(
            _tone(root * 2 ** (s / 12), chord_len, sr, [(1, 0.2), (2, 0.05)]) for s in (0, 3, 7)
        )
        ramp = np.sin(np.pi * np.arange(chord_len) / chord_len)
        _place(out, i, pad * ramp)
    return out


def _plucks(rng: np.random.Generator, seconds: float, sr: int) -> np.ndarray:
    bpm = 100 * rng.uniform(0.96, 1.04)
    step = int(sr * 60 / bpm / 2)
    out = np.zeros(int(seconds * sr))
    root = 440 * 2 ** (rng.integers(0, 5) / 12)
    scale = [0, 2, 4, 7, 9, 12, 14, 16]
    partials = [(h, 0.3 / h**0.7) for h in range(1, 12)]
    for i in range(0, len(out), step):
        f = root * 2 ** (rng.choice(scale) / 12)
        _place(out, i, _tone(f, step, sr, partials) * _env(step, sr, 0.002, 0.08))
    return out


def _noise_rock(rng: np.random.Generator, seconds: float, sr: int) -> np.ndarray:
    bpm = 160 * rng.uniform(0.97, 1.03)
    beat = int(sr * 60 / bpm)
    out = np.zeros(int(seconds * sr))
    root = 82.4 * 2 ** (rng.integers(0, 5) / 12)
    snare = rng.standard_normal(int(0.15 * sr)) * _env(int(0.15 * sr), sr, 0.001, 0.05)
    for n, i in enumerate(range(0, len(out), beat)):
        f = root * 2 ** (rng.choice([0, 0, 5, 7]) / 12)
        chord = _tone(f, beat, sr, [(1, 1), (1.5, 0.8), (2, 0.6)])
        _place(out, i, np.tanh(4 * chord) * 0.4)
        if n % 2:
            _place(out, i, snare * 0.6)
    return out


def _bells(rng: np.random.Generator, seconds: float, sr: int) -> np.ndarray:
    bpm = 75 * rng.uniform(0.96, 1.04)
    beat = int(sr * 60 / bpm)
    out = np.zeros(int(seconds * sr))
    root = 660 * 2 ** (rng.integers(0, 7) / 12)
    partials = [(1, 0.3), (2.76, 0.2), (5.4, 0.12), (8.93, 0.06)]
    for i in range(0, len(out), beat * int(rng.integers(1, 3))):
        f = root * 2 ** (rng.choice([0, 2, 5, 7, 9]) / 12)
        ring = int(1.5 * sr)
        _place(out, i, _tone(f, ring, sr, partials) * _env(ring, sr, 0.001, 0.4))
    return out


#: Style name -> generator of a mono float64 signal.
STYLES: dict[str, Callable[[np.random.Generator, float, int], np.ndarray]] = {
    "Pulse Techno": _techno,
    "Ambient Pads": _ambient,
    "Bright Plucks": _plucks,
    "Noise Rock": _noise_rock,
    "Bell Minimal": _bells,
}


def render(style: str, seed: int, seconds: float = 20.0, sr: int = SR) -> np.ndarray:
    """One seeded track of ``style`` as float32 in [-1, 1]."""
    rng = np.random.default_rng(seed)
    y = STYLES[style](rng, seconds, sr)
    y = y + rng.standard_normal(len(y)) * 1e-3  # a faint noise floor, as in recordings
    peak = float(np.abs(y).max()) or 1.0
    level = 10 ** (rng.uniform(-4, 0) / 20)
    return (0.9 * level * y / peak).astype(np.float32)


def write_audio(path: Path, y: np.ndarray, sr: int) -> None:
    """Write float32 samples, mono or (frames, channels); the format follows the extension."""
    ext = path.suffix.lower()
    if ext in (".m4a", ".aac"):
        _write_av(path, y, sr)
        return
    import soundfile as sf

    options = {"format": "OGG", "subtype": "OPUS"} if ext == ".opus" else {}
    # Small writes: libsndfile's Vorbis encoder crashes on multi-minute single writes.
    channels = 1 if y.ndim == 1 else y.shape[1]
    with sf.SoundFile(path, "w", samplerate=sr, channels=channels, **options) as f:
        for start in range(0, len(y), 1 << 16):
            f.write(y[start : start + (1 << 16)])


def _write_av(path: Path, y: np.ndarray, sr: int) -> None:
    import av

    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=sr, layout="mono")
        frame_size = 1024
        for start in range(0, len(y), frame_size):
            block = y[start : start + frame_size].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(block), format="flt", layout="mono"
            )
            frame.sample_rate = sr
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def write_tags(path: Path, tags: dict[str, str]) -> None:
    """Write title/artist/album/genre/tracknumber/date tags with mutagen."""
    import mutagen
    from mutagen.id3 import ID3, TALB, TCON, TDRC, TIT2, TPE1, TRCK

    audio = mutagen.File(path, easy=True)
    if audio is None:
        raise ValueError(f"mutagen cannot tag {path}")
    if audio.tags is None:
        audio.add_tags()
    if isinstance(audio.tags, ID3):  # WAV: no "easy" view of its ID3 chunk
        frames = {
            "title": TIT2,
            "artist": TPE1,
            "album": TALB,
            "genre": TCON,
            "tracknumber": TRCK,
            "date": TDRC,
        }
        for key, value in tags.items():
            audio.tags.add(frames[key](encoding=3, text=[value]))
    else:
        for key, value in tags.items():
            audio.tags[key] = [value]
    audio.save()


def make_library(
    folder: Path,
    *,
    per_style: int = 8,
    seconds: float = 20.0,
    formats: Sequence[str] = FORMATS,
    styles: Sequence[str] | None = None,
    seed: int = 0,
) -> list[Path]:
    """Write a tagged synthetic library under ``folder``/Style/; return the files.

    Each style has four artists (``Ensemble 1-4``, by track number modulo 4) and two
    albums (``Vol. 1`` holds the odd track numbers), as a genre would in a real
    library, so radio rules on artist and album can be satisfied within a style.
    """
    paths = []
    for s, style in enumerate(styles or list(STYLES)):
        album_dir = folder / style
        album_dir.mkdir(parents=True, exist_ok=True)
        for i in range(per_style):
            ext = formats[(i + s) % len(formats)]
            sr = 48000 if ext == "opus" else (44100 if i % 2 else SR)
            path = album_dir / f"{i + 1:02d} {style} {i + 1}.{ext}"
            write_audio(path, render(style, seed * 10_000 + s * 1000 + i, seconds, sr), sr)
            write_tags(
                path,
                {
                    "title": f"{style} {i + 1}",
                    "artist": f"{style.split()[0]} Ensemble {i % 4 + 1}",
                    "album": f"{style} Vol. {i % 2 + 1}",
                    "genre": style,
                    "tracknumber": str(i + 1),
                    "date": "2026",
                },
            )
            paths.append(path)
    return paths
