"""The shipped MagnaTagATune musicnn (``models/musicnn_mtt.*``): its card, its files'
checks, the onnxruntime graph against the numpy reference, and tags that make sense.

Its conversion is tested with the MSD model's in test_neural.py.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil

import numpy as np
import pytest

from engine.neural import musicnn
from tools import musicnn_convert as convert

MODELS = musicnn.MODELS_DIR
SR = musicnn.SAMPLE_RATE
STEM = musicnn.MTT_STEM

# musicnn 0.1.0's musicnn/configuration.py, MTT_LABELS, copied as it is written there
# (independently of convert.MTT_TAGS, so a tag moved in either place is caught)
WHEEL_MTT_LABELS = ['guitar', 'classical', 'slow', 'techno', 'strings', 'drums', 'electronic', 'rock', 'fast', 'piano', 'ambient', 'beat', 'violin', 'vocal', 'synth', 'female', 'indian', 'opera', 'male', 'singing', 'vocals', 'no vocals', 'harpsichord', 'loud', 'quiet', 'flute', 'woman', 'male vocal', 'no vocal', 'pop', 'soft', 'sitar', 'solo', 'man', 'classic', 'choir', 'voice', 'new age', 'dance', 'male voice', 'female vocal', 'beats', 'harp', 'cello', 'no voice', 'weird', 'country', 'metal', 'female voice', 'choral']  # fmt: skip  # noqa: E501


@pytest.fixture(scope="module")
def weights() -> dict[str, np.ndarray]:
    return musicnn.load_weights(stem=STEM)


@pytest.fixture(scope="module")
def model() -> musicnn.Musicnn:
    return musicnn.Musicnn(stem=STEM)


def test_mtt_card_lists_the_magnatagatune_tags_in_order(weights):
    card = musicnn.load_card(stem=STEM)
    assert card["name"] == STEM == convert.MTT.stem
    assert card["tags"] == WHEEL_MTT_LABELS == list(convert.MTT_TAGS)
    assert len(card["tags"]) == musicnn.N_TAGS
    for tag in (
        "piano", "classical", "strings", "violin", "harpsichord", "flute", "choir", "sitar",
        "quiet", "soft", "drums", "techno",
    ):  # fmt: skip
        assert tag in card["tags"]
    assert card["source"]["checkpoint"].startswith("musicnn/MTT_musicnn/")
    assert card["converted_by"].endswith("--model MTT_musicnn")
    assert "Permission to use, copy, modify" in card["licence"]["notice"]

    for name in (f"{STEM}.npz", f"{STEM}.onnx"):
        data = (MODELS / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == card["files"][name]["sha256"]
    # the same network as the MSD model: same variables, same shapes, other values
    msd_card = musicnn.load_card()
    assert card["variables"] == msd_card["variables"]
    assert card["variables"]["dense_1/kernel"] == [musicnn.EMBEDDING_SIZE, musicnn.N_TAGS]
    assert {n: list(a.shape) for n, a in weights.items()} == card["variables"]
    assert all(a.dtype == np.float32 for a in weights.values())
    assert sum(a.size for a in weights.values()) == card["parameters"] == convert.PARAMETERS
    msd_weights = musicnn.load_weights()
    assert not np.array_equal(weights["dense_1/kernel"], msd_weights["dense_1/kernel"])
    assert card["files"][f"{STEM}.npz"]["sha256"] != msd_card["files"]["musicnn_msd.npz"]["sha256"]


def test_a_tampered_mtt_file_is_refused(tmp_path):
    for suffix in ("json", "npz", "onnx"):
        shutil.copy(MODELS / f"{STEM}.{suffix}", tmp_path)
    musicnn.check_model(tmp_path, stem=STEM)  # intact: accepted
    for suffix in ("npz", "onnx"):
        path = tmp_path / f"{STEM}.{suffix}"
        original = path.read_bytes()
        damaged = bytearray(original)
        damaged[len(damaged) // 2] ^= 1
        path.write_bytes(bytes(damaged))
        refused = re.escape(f"{STEM}.{suffix} does not match")
        with pytest.raises(musicnn.ModelFilesError, match=refused):
            musicnn.check_model(tmp_path, stem=STEM)
        with pytest.raises(ValueError, match="does not match its card"):
            musicnn.Musicnn(tmp_path, stem=STEM)
        path.write_bytes(original)
    musicnn.check_model(tmp_path, stem=STEM)
    # the MSD model's card is not the MTT model's: it names other files
    card = json.loads((MODELS / "musicnn_msd.json").read_text(encoding="utf-8"))
    (tmp_path / f"{STEM}.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(musicnn.CardError, match=re.escape(f"no SHA-256 for {STEM}.npz")):
        musicnn.check_model(tmp_path, stem=STEM)
    # and the MSD files are not looked for under the MTT stem, nor the other way round
    with pytest.raises(musicnn.ModelFilesError, match=re.escape("musicnn_msd.json")):
        musicnn.check_model(tmp_path)


def test_mtt_onnxruntime_matches_the_numpy_reference(weights, model):
    rng = np.random.default_rng(5)
    t = np.arange(4 * SR) / SR
    tone = (0.4 * np.sin(2 * np.pi * 330 * t) * np.exp(-t % 1)).astype(np.float32)
    patches = np.concatenate(
        [
            musicnn.mel_patches(tone)[:1],
            rng.uniform(0, 4, (2, musicnn.FRAMES, musicnn.N_MELS)).astype(np.float32),
        ]
    )
    expected_embedding, expected_tags = musicnn.reference_forward(weights, patches)
    embedding, tags = model.embed(patches, batch=2)  # two runs: a full batch and a part
    assert embedding.shape == (3, musicnn.EMBEDDING_SIZE) and tags.shape == (3, musicnn.N_TAGS)
    np.testing.assert_allclose(embedding, expected_embedding, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(tags, expected_tags, rtol=1e-4, atol=1e-4)
    assert model.tags == tuple(WHEEL_MTT_LABELS)


# -- tags that make sense ------------------------------------------------------------------


def piano_notes(seconds: float) -> np.ndarray:
    """Piano-like notes every 0.75 s: slightly stretched harmonics, each decaying
    faster the higher it is, with a sharp attack."""
    n = int(seconds * SR)
    y = np.zeros(n)
    notes = (60, 64, 67, 72, 67, 64, 62, 65, 69, 74, 69, 65)  # MIDI
    for i, start in enumerate(range(0, n, int(0.75 * SR))):
        f0 = 440 * 2 ** ((notes[i % len(notes)] - 69) / 12)
        t = np.arange(min(int(2.5 * SR), n - start)) / SR
        note = np.zeros(t.size)
        for k in range(1, 12):
            fk = k * f0 * np.sqrt(1 + 0.0004 * k * k)
            note += 0.6 / k**1.2 * np.exp(-t * (1.5 + 0.8 * k)) * np.sin(2 * np.pi * fk * t)
        y[start : start + t.size] += note * np.minimum(1, t / 0.003)
    return (0.6 * y / np.abs(y).max()).astype(np.float32)


def drum_loop(seconds: float, bpm: float = 120) -> np.ndarray:
    """Kick (a falling sine), snare (noise and a tone) and hi-hat (differenced noise) on
    a rock beat."""
    rng = np.random.default_rng(1)
    n = int(seconds * SR)
    y = np.zeros(n)
    t = np.arange(int(0.4 * SR)) / SR
    kick = np.sin(2 * np.pi * (50 + 100 * np.exp(-t * 30)) * t) * np.exp(-t * 9)
    t = np.arange(int(0.2 * SR)) / SR
    snare = (0.7 * rng.standard_normal(t.size) + 0.4 * np.sin(2 * np.pi * 190 * t)) * np.exp(
        -t * 20
    )
    t = np.arange(int(0.06 * SR)) / SR
    hat = 0.5 * np.diff(rng.standard_normal(t.size), prepend=0) * np.exp(-t * 60)
    for i, start in enumerate(range(0, n, int(30 / bpm * SR))):  # eighth notes
        hits = [hat, kick] if i % 4 == 0 else [hat, snare] if i % 4 == 2 else [hat]
        if i % 8 == 7:
            hits.append(0.8 * kick)
        for hit in hits:
            end = min(n, start + hit.size)
            y[start:end] += hit[: end - start]
    return (0.8 * y / np.abs(y).max()).astype(np.float32)


def test_mtt_tells_a_piano_from_a_drum_loop(model):
    def score(audio: np.ndarray, tags: tuple[str, ...]) -> float:
        _, probabilities = model.embed_audio(audio)
        mean = probabilities.mean(axis=0)
        return float(sum(mean[model.tags.index(tag)] for tag in tags))

    pianoish, drumish = ("piano", "classical"), ("drums", "techno", "beat")
    piano, drums = piano_notes(6.5), drum_loop(6.5)  # two 3-s patches each
    # measured: piano 0.40 vs 0.004, drums 0.75 vs 0.010; across patches 0.40 vs 0.010
    # and 0.75 vs 0.004
    assert score(piano, pianoish) > 10 * score(piano, drumish)
    assert score(drums, drumish) > 10 * score(drums, pianoish)
    assert score(piano, pianoish) > 10 * score(drums, pianoish)
    assert score(drums, drumish) > 10 * score(piano, drumish)
