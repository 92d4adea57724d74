"""The FMA dataset's feature recipe (518 features), reproduced as the slow baseline.

As in FMA's ``features.py``: librosa.load at the file's native rate, then chroma_cqt,
chroma_cens, tonnetz, 20 MFCCs, RMS, zero-crossing rate, spectral centroid,
bandwidth, contrast and rolloff, each summarised by mean, std, skew, kurtosis,
median, min and max.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def _summary(x: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(x)
    return np.concatenate(
        [
            x.mean(axis=1),
            x.std(axis=1),
            stats.skew(x, axis=1),
            stats.kurtosis(x, axis=1),
            np.median(x, axis=1),
            x.min(axis=1),
            x.max(axis=1),
        ]
    )


def fma_features(path: str) -> np.ndarray:
    import librosa

    y, sr = librosa.load(path, sr=None, mono=True)
    parts = []
    f = librosa.feature.zero_crossing_rate(y, frame_length=2048, hop_length=512)
    parts.append(_summary(f))
    cqt = np.abs(
        librosa.cqt(y, sr=sr, hop_length=512, bins_per_octave=12, n_bins=7 * 12, tuning=None)
    )
    parts.append(_summary(librosa.feature.chroma_cqt(C=cqt, n_chroma=12, n_octaves=7)))
    parts.append(_summary(librosa.feature.chroma_cens(C=cqt, n_chroma=12, n_octaves=7)))
    parts.append(_summary(librosa.feature.tonnetz(chroma=librosa.feature.chroma_cens(C=cqt))))
    stft = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
    parts.append(_summary(librosa.feature.chroma_stft(S=stft**2, n_chroma=12)))
    parts.append(_summary(librosa.feature.rms(S=stft)))
    parts.append(_summary(librosa.feature.spectral_centroid(S=stft)))
    parts.append(_summary(librosa.feature.spectral_bandwidth(S=stft)))
    parts.append(_summary(librosa.feature.spectral_contrast(S=stft, n_bands=6)))
    parts.append(_summary(librosa.feature.spectral_rolloff(S=stft)))
    mel = librosa.feature.melspectrogram(sr=sr, S=stft**2)
    parts.append(_summary(librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=20)))
    return np.concatenate(parts)
