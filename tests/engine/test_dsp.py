"""engine.analysis.dsp reproduces the librosa calls analysis used before it stopped importing
librosa (whose numba JIT is unsafe in parallel workers)."""

import os
import subprocess
import sys
from pathlib import Path

import librosa
import numpy as np
import pytest

from engine.analysis import dsp
from engine.analysis.features import HOP, N_FFT, N_MELS, SAMPLE_RATE
from engine.datasets.synth import render


@pytest.fixture(scope="module")
def log_mel() -> np.ndarray:
    y = render("Pulse Techno", seed=3, seconds=8)
    power = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP)) ** 2
    mel = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS) @ power
    return 10 * np.log10(np.maximum(mel, 1e-10))


@pytest.mark.parametrize("sr", [22050, 44100])
def test_filter_banks_match_librosa(sr):
    np.testing.assert_allclose(
        dsp.mel_filters(sr, N_FFT, N_MELS),
        librosa.filters.mel(sr=sr, n_fft=N_FFT, n_mels=N_MELS),
        rtol=1e-5,
        atol=1e-8,
    )
    np.testing.assert_allclose(
        dsp.chroma_filters(sr, N_FFT),
        librosa.filters.chroma(sr=sr, n_fft=N_FFT, tuning=0.0),
        rtol=1e-5,
        atol=1e-8,
    )
    np.testing.assert_allclose(
        dsp.fft_frequencies(sr, N_FFT), librosa.fft_frequencies(sr=sr, n_fft=N_FFT)
    )
    np.testing.assert_allclose(
        dsp.hann(N_FFT), librosa.filters.get_window("hann", N_FFT, fftbins=True)
    )


def test_mfcc_and_onsets_match_librosa(log_mel):
    np.testing.assert_allclose(
        dsp.mfcc(log_mel, 20), librosa.feature.mfcc(S=log_mel, n_mfcc=20), rtol=1e-4, atol=1e-3
    )
    onset = dsp.onset_strength(log_mel, N_FFT, HOP)
    expected = librosa.onset.onset_strength(S=log_mel, sr=SAMPLE_RATE, hop_length=HOP)
    np.testing.assert_allclose(onset, expected, rtol=1e-5, atol=1e-5)
    found = dsp.onset_detect(onset, SAMPLE_RATE, HOP)
    assert len(found) > 5
    np.testing.assert_array_equal(
        found, librosa.onset.onset_detect(onset_envelope=onset, sr=SAMPLE_RATE, hop_length=HOP)
    )


def test_onset_detect_matches_librosa_on_noise():
    rng = np.random.default_rng(7)
    for _ in range(20):
        x = rng.random(500) ** 3
        np.testing.assert_array_equal(
            dsp.onset_detect(x, SAMPLE_RATE, HOP),
            librosa.onset.onset_detect(onset_envelope=x, sr=SAMPLE_RATE, hop_length=HOP),
        )
    assert dsp.onset_detect(np.zeros(100), SAMPLE_RATE, HOP).size == 0


def test_tempo_pieces_match_librosa():
    rng = np.random.default_rng(1)
    frames = rng.random((344, 40))
    ac = dsp.autocorrelate(frames, axis=0)
    np.testing.assert_allclose(ac, librosa.autocorrelate(frames, axis=0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(
        dsp.normalize_max(ac, axis=0), librosa.util.normalize(ac, norm=np.inf, axis=0)
    )
    tg = dsp.normalize_max(ac, axis=0).mean(axis=1, keepdims=True)
    expected = librosa.feature.tempo(tg=tg, sr=SAMPLE_RATE, hop_length=HOP, aggregate=None)
    assert dsp.tempo_from_tempogram(tg, SAMPLE_RATE, HOP) == pytest.approx(float(expected[0]))


def test_analysis_compiles_nothing(tmp_path: Path):
    """Analysing a file in a fresh process imports neither librosa nor numba, and leaves
    numba's cache folder empty: there is no JIT cache for parallel workers to race on."""
    import soundfile as sf

    song = tmp_path / "song.ogg"
    sf.write(song, render("Pulse Techno", seed=2, seconds=5), SAMPLE_RATE)
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    code = (
        "import sys; from engine.analysis.features import analyze_file; "
        f"v = analyze_file({str(song)!r}); assert v.shape[0] > 90; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'librosa', "
        "'llvmlite')))"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
    assert list(cache.iterdir()) == []
