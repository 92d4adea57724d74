"""The librosa building blocks analysis needs, in plain numpy and scipy.

Analysis workers must not run JIT-compiled code: importing librosa imports numba,
which compiles functions and caches them on disk, and numba's cache is not safe
when two processes build it at once (numba issue #10128): a half-written cache
segfaults every later process that loads it, for good. So the analysis path never
imports librosa. Each function here reproduces the librosa call named in its
docstring (librosa 0.11, same defaults); ``tests/engine/test_dsp.py`` checks them
against librosa itself.
"""

from __future__ import annotations

import numpy as np


def fft_frequencies(sr: float, n_fft: int) -> np.ndarray:
    """``librosa.fft_frequencies``: the centre frequency (Hz) of each rfft bin."""
    return np.fft.rfftfreq(n=n_fft, d=1.0 / sr)


def hann(n: int) -> np.ndarray:
    """``librosa.filters.get_window("hann", n, fftbins=True)``: the periodic Hann window."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    mels = hz / (200.0 / 3)
    log = hz >= 1000.0
    mels[log] = 15.0 + np.log(hz[log] / 1000.0) / (np.log(6.4) / 27.0)
    return mels


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    mels = np.asarray(mels, dtype=np.float64)
    hz = mels * (200.0 / 3)
    log = mels >= 15.0
    hz[log] = 1000.0 * np.exp(np.log(6.4) / 27.0 * (mels[log] - 15.0))
    return hz


def mel_filters(sr: float, n_fft: int, n_mels: int) -> np.ndarray:
    """``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)``: Slaney-normalised
    triangular filters, shape (n_mels, 1 + n_fft // 2), float32."""
    bins = fft_frequencies(sr, n_fft)
    edges = _mel_to_hz(np.linspace(0.0, _hz_to_mel(np.array([sr / 2.0]))[0], n_mels + 2))
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, bins)
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]  # constant energy per band
    return weights.astype(np.float32)


def chroma_filters(sr: float, n_fft: int, n_chroma: int = 12) -> np.ndarray:
    """``librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=0.0)``: Gaussian bumps per
    pitch class, weighted towards octave 5, shape (n_chroma, 1 + n_fft // 2), float32."""
    frequencies = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    octs = np.log2(frequencies / (440.0 / 16))
    frqbins = n_chroma * octs
    # a made-up value for the 0 Hz bin: 1.5 octaves below bin 1
    frqbins = np.concatenate(([frqbins[0] - 1.5 * n_chroma], frqbins))
    binwidths = np.concatenate((np.maximum(frqbins[1:] - frqbins[:-1], 1.0), [1]))
    distance = np.subtract.outer(frqbins, np.arange(n_chroma, dtype=np.float64)).T
    half = np.round(n_chroma / 2)
    distance = np.remainder(distance + half + 10 * n_chroma, n_chroma) - half
    weights = np.exp(-0.5 * (2 * distance / binwidths[None, :]) ** 2)
    weights /= np.maximum(np.sqrt((weights**2).sum(axis=0, keepdims=True)), _tiny(weights))
    weights *= np.exp(-0.5 * ((frqbins / n_chroma - 5.0) / 2.0) ** 2)[None, :]
    weights = np.roll(weights, -3 * (n_chroma // 12), axis=0)  # start at C
    return np.ascontiguousarray(weights[:, : 1 + n_fft // 2], dtype=np.float32)


def mfcc(log_mel: np.ndarray, n_mfcc: int) -> np.ndarray:
    """``librosa.feature.mfcc(S=log_mel, n_mfcc=n_mfcc)``: orthonormal DCT-II over bands."""
    import scipy.fft

    return scipy.fft.dct(log_mel, type=2, norm="ortho", axis=-2)[..., :n_mfcc, :]


def onset_strength(log_mel: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """``librosa.onset.onset_strength(S=log_mel)``: mean positive change per frame,
    shifted to compensate for the lag and centred framing."""
    rise = np.maximum(0.0, log_mel[:, 1:] - log_mel[:, :-1]).mean(axis=0)
    shift = 1 + n_fft // (2 * hop)
    return np.pad(rise, (shift, 0))[: log_mel.shape[1]]


def onset_detect(onset: np.ndarray, sr: float, hop: int) -> np.ndarray:
    """``librosa.onset.onset_detect(onset_envelope=onset, sr=sr, hop_length=hop)``.

    Frames that are the maximum of the last 30 ms, at least 0.07 above the mean of
    the 100 ms around them (on the envelope scaled to [0, 1]), and at least 30 ms
    after the previous onset.
    """
    x = onset - onset.min()
    x = x / (x.max() + _tiny(x))
    if not x.any() or not np.isfinite(x).all():
        return np.zeros(0, dtype=np.int64)
    pre_max = int(np.ceil(0.03 * sr // hop))
    post_max = int(np.ceil(0.00 * sr // hop + 1))
    pre_avg = int(np.ceil(0.10 * sr // hop))
    post_avg = int(np.ceil(0.10 * sr // hop + 1))
    wait = int(np.ceil(0.03 * sr // hop))
    n = x.size
    idx = np.arange(n)
    padded = np.concatenate([np.full(pre_max, -np.inf), x, np.full(post_max, -np.inf)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, pre_max + post_max)
    is_max = x == windows[:n].max(axis=1)
    total = np.concatenate([[0.0], np.cumsum(x, dtype=np.float64)])
    lo = np.maximum(0, idx - pre_avg)
    hi = np.minimum(n, idx + post_avg)
    above = x >= (total[hi] - total[lo]) / (hi - lo) + 0.07
    onsets: list[int] = []
    allowed = 0
    for i in np.flatnonzero(is_max & above).tolist():  # few hundred: the wait rule is serial
        if i >= allowed:
            onsets.append(i)
            allowed = i + wait + 1
    return np.asarray(onsets, dtype=np.int64)


def autocorrelate(y: np.ndarray, axis: int = 0) -> np.ndarray:
    """``librosa.autocorrelate(y, axis=axis)`` for real input."""
    import scipy.fft

    n = y.shape[axis]
    size = scipy.fft.next_fast_len(2 * n - 1, real=True)
    spectrum = scipy.fft.rfft(y, n=size, axis=axis)
    power = spectrum.real**2 + spectrum.imag**2
    ac = scipy.fft.irfft(power, n=size, axis=axis)
    return np.take(ac, np.arange(n), axis=axis)


def normalize_max(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """``librosa.util.normalize(x, norm=np.inf, axis=axis)``: divide by the largest
    magnitude, leaving (near-)zero columns as they are."""
    length = np.max(np.abs(x), axis=axis, keepdims=True)
    length[length < _tiny(x)] = 1.0
    return x / length


def tempo_from_tempogram(tg: np.ndarray, sr: float, hop: int) -> float:
    """``librosa.feature.tempo(tg=tg, sr=sr, hop_length=hop)`` for a time-averaged
    tempogram of shape (win, 1): the lag maximising its log-weight under a log-normal
    prior around 120 BPM, below 320 BPM."""
    win = tg.shape[0]
    with np.errstate(divide="ignore"):
        bpms = np.concatenate([[np.inf], 60.0 * sr / (hop * np.arange(1.0, win))])
        logprior = -0.5 * (np.log2(bpms) - np.log2(120.0)) ** 2
    logprior[: int(np.argmax(bpms < 320.0))] = -np.inf
    best = int(np.argmax(np.log1p(1e6 * tg[:, 0]) + logprior))
    return float(bpms[best])


def _tiny(x: np.ndarray) -> float:
    """The smallest positive normal number of ``x``'s float type (librosa's ``tiny``)."""
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
    return float(np.finfo(dtype).tiny)
