"""engine.neural: the TensorFlow checkpoint reader, the shipped musicnn weights, the
onnxruntime graph against the numpy reference, and the input against librosa.

No downloads: the musicnn wheel is not here, so the reader is tested on tensor bundles
written below (same format: an SSTable of BundleEntryProto, and a data file).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from engine.neural import musicnn
from tools import musicnn_convert as convert

MODELS = musicnn.MODELS_DIR
SR = musicnn.SAMPLE_RATE


# -- a minimal tensor-bundle writer (LevelDB table format + protobuf wire format) ------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        if n < 0x80:
            return bytes([*out, n])
        out.append((n & 0x7F) | 0x80)
        n >>= 7


def _field(number: int, value: int | bytes, fixed32: bool = False) -> bytes:
    if fixed32:
        return _varint(number << 3 | 5) + struct.pack("<I", value)
    if isinstance(value, bytes):
        return _varint(number << 3 | 2) + _varint(len(value)) + value
    return _varint(number << 3) + _varint(value)


def _block(entries: list[tuple[bytes, bytes]], restart_every: int = 3) -> bytes:
    """Entries with keys prefix-compressed against the previous one, restarting every few."""
    out, restarts, previous = bytearray(), [], b""
    for i, (key, value) in enumerate(entries):
        shared = 0
        if i % restart_every == 0:
            restarts.append(len(out))
        else:
            while shared < min(len(key), len(previous)) and key[shared] == previous[shared]:
                shared += 1
        out += _varint(shared) + _varint(len(key) - shared) + _varint(len(value))
        out += key[shared:] + value
        previous = key
    restarts = restarts or [0]
    tail = b"".join(struct.pack("<I", r) for r in [*restarts, len(restarts)])
    return bytes(out) + tail


def _table(entries: list[tuple[bytes, bytes]], per_block: int = 4, kind: int = 0) -> bytes:
    """An SSTable: data blocks, an empty meta-index block, an index block, the footer."""
    out = bytearray()

    def put(block: bytes) -> bytes:
        handle = _varint(len(out)) + _varint(len(block))
        trailer = bytes([kind])
        crc = convert.mask_crc(convert.crc32c(block + trailer))
        out.extend(block + trailer + struct.pack("<I", crc))
        return handle

    index = []
    for start in range(0, len(entries), per_block):
        chunk = entries[start : start + per_block]
        index.append((chunk[-1][0], put(_block(chunk))))  # separator: the block's last key
    meta = put(_block([]))
    handles = meta + put(_block(index, restart_every=1))
    footer = handles.ljust(40, b"\0") + struct.pack("<Q", 0xDB4775248B80FB57)
    return bytes(out + footer)


def _bundle(
    tensors: dict[str, np.ndarray], *, checksums: bool = True, kind: int = 0
) -> tuple[bytes, bytes]:
    """(index, data) of a one-shard TensorFlow checkpoint holding ``tensors``."""
    dtypes = {np.dtype("float32"): 1, np.dtype("int64"): 9}
    data = bytearray()
    entries = [(b"", _field(1, 1) + _field(3, _field(1, 1126)))]  # header: 1 shard, producer
    for name in sorted(tensors):
        array = np.asarray(tensors[name])  # (ascontiguousarray makes scalars 1-d)
        raw = array.tobytes()
        shape = b"".join(_field(2, _field(1, d)) for d in array.shape)
        entry = _field(1, dtypes[array.dtype]) + _field(2, shape)
        entry += _field(4, len(data)) if data else b""  # proto3 leaves zeros out
        entry += _field(5, len(raw))
        if checksums:
            entry += _field(6, convert.mask_crc(convert.crc32c(raw)), fixed32=True)
        entries.append((name.encode(), entry))
        data += raw
    return _table(entries, kind=kind), bytes(data)


def _small_checkpoint() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "conv2d/kernel": rng.standard_normal((7, 3, 1, 4)).astype(np.float32),
        "conv2d/kernel/Adam": rng.standard_normal((7, 3, 1, 4)).astype(np.float32),
        "conv2d/kernel/Adam_1": rng.standard_normal((7, 3, 1, 4)).astype(np.float32),
        "conv2d/bias": rng.standard_normal(4).astype(np.float32),
        "batch_normalization/beta": np.zeros(1, np.float32),
        "batch_normalization/moving_variance": np.ones(1, np.float32),
        "beta1_power": np.array(0.9, np.float32),
        "beta2_power": np.array(0.999, np.float32),
        "global_step": np.array(12345, np.int64),
    }


def test_crc32c_known_answer():
    assert convert.crc32c(b"123456789") == 0xE3069283  # the standard CRC-32C check value


def test_bundle_reader_reads_what_was_written():
    tensors = _small_checkpoint()
    index, data = _bundle(tensors)
    bundle = convert.read_bundle(index)
    assert bundle.num_shards == 1 and bundle.producer == 1126
    assert sorted(bundle.entries) == sorted(tensors)
    for name, expected in tensors.items():
        got = convert.read_tensor(bundle.entries[name], [data])
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
    kept = sorted(n for n in tensors if convert.is_model_variable(n))
    assert kept == [
        "batch_normalization/beta",
        "batch_normalization/moving_variance",
        "conv2d/bias",
        "conv2d/kernel",
    ]


def test_bundle_reader_refuses_damage():
    index, data = _bundle(_small_checkpoint())
    bundle = convert.read_bundle(index)
    entry = bundle.entries["conv2d/kernel"]
    flipped = bytearray(data)
    flipped[entry.offset + 5] ^= 1
    with pytest.raises(convert.CheckpointError, match="tensor checksum"):
        convert.read_tensor(entry, [bytes(flipped)])
    with pytest.raises(convert.CheckpointError, match="runs past"):
        convert.read_tensor(entry, [data[: entry.offset + 8]])
    damaged = bytearray(index)
    damaged[10] ^= 1
    with pytest.raises(convert.CheckpointError, match="checksum"):
        convert.read_bundle(bytes(damaged))
    with pytest.raises(convert.CheckpointError, match="magic"):
        convert.read_bundle(index[:-1] + b"\0")
    snappy, _ = _bundle(_small_checkpoint(), kind=1)
    with pytest.raises(convert.CheckpointError, match="snappy"):
        convert.read_bundle(snappy)


def _fake_wheel(
    path: Path,
    tensors: dict[str, np.ndarray],
    model: str = convert.MODEL,
    *,
    mtt_labels: tuple[str, ...] = convert.MTT_TAGS,
) -> Path:
    """A stand-in for musicnn-0.1.0-py3-none-any.whl with ``tensors`` as ``model``'s
    checkpoint, and both tag lists in its configuration.py."""
    index, data = _bundle(tensors, checksums=False)  # CRCs of 3 MB in Python: skip here
    prefix = f"musicnn/{model}/"
    configuration = (
        f"MTT_LABELS = {list(mtt_labels)!r}\n\nMSD_LABELS = {list(convert.MSD_TAGS)!r}\n"
    )
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{prefix}.index", index)
        wheel.writestr(f"{prefix}.data-00000-of-00001", data)
        wheel.writestr(f"{prefix}config.json", json.dumps({"n_frames": 187}))
        wheel.writestr("musicnn/configuration.py", configuration)
        wheel.writestr("musicnn-0.1.0.dist-info/METADATA", "Name: musicnn\nVersion: 0.1.0\n")
        wheel.writestr("musicnn-0.1.0.dist-info/LICENSE.md", "Copyright (c) test. ISC.\n")
    return path


@pytest.mark.parametrize("model", sorted(convert.MODELS))
def test_convert_is_reproducible_and_matches_the_shipped_graph(tmp_path, model):
    spec = convert.MODELS[model]
    card = musicnn.load_card(stem=spec.stem)
    rng = np.random.default_rng(1)
    tensors = {
        name: rng.standard_normal(shape).astype(np.float32)
        for name, shape in card["variables"].items()
    }
    tensors["dense/kernel/Adam"] = np.ones((1506, 200), np.float32)  # must be left out
    tensors["global_step"] = np.array(7, np.int64)
    wheel = _fake_wheel(tmp_path / "musicnn-0.1.0-py3-none-any.whl", tensors, model)

    first = convert.convert(convert.read_source(wheel, model), tmp_path / "a")
    cli = [str(wheel), "--out", str(tmp_path / "b")]
    assert convert.main(cli if model == convert.MODEL else [*cli, "--model", model]) == 0
    for suffix in ("npz", "onnx", "json"):
        name = f"{spec.stem}.{suffix}"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        f"{spec.stem}.{suffix}" for suffix in ("json", "npz", "onnx")
    ]
    assert first["parameters"] == convert.PARAMETERS
    assert first["name"] == spec.stem and first["tags"] == list(spec.tags)
    assert first["source"]["checkpoint"].startswith(f"musicnn/{model}/")
    with np.load(tmp_path / "a" / f"{spec.stem}.npz", allow_pickle=False) as arrays:
        assert sorted(arrays.files) == sorted(card["variables"])
        np.testing.assert_array_equal(arrays["conv2d_5/kernel"], tensors["conv2d_5/kernel"])
    # the graph depends on the shapes only: the shipped one is what this code builds
    shipped = (MODELS / f"{spec.stem}.onnx").read_bytes()
    assert (tmp_path / "a" / f"{spec.stem}.onnx").read_bytes() == shipped

    unpacked = tmp_path / "site-packages"
    zipfile.ZipFile(wheel).extractall(unpacked)
    from_folder = convert.read_source(unpacked / "musicnn" / model, model)
    assert from_folder.index == convert.read_source(wheel, model).index


def test_convert_refuses_other_tags_or_checkpoints(tmp_path):
    card = musicnn.load_card(stem=musicnn.MTT_STEM)
    tensors = {name: np.zeros(shape, np.float32) for name, shape in card["variables"].items()}
    swapped = list(convert.MTT_TAGS)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    wheel = _fake_wheel(tmp_path / "w.whl", tensors, "MTT_musicnn", mtt_labels=tuple(swapped))
    source = convert.read_source(wheel, "MTT_musicnn")
    assert source.labels == tuple(swapped) and source.model == "MTT_musicnn"
    with pytest.raises(convert.CheckpointError, match="MTT_LABELS differ"):
        convert.convert(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(convert.CheckpointError, match=re.escape("no musicnn/MSD_musicnn/.index")):
        convert.read_source(wheel)  # the wheel holds MTT_musicnn only
    with pytest.raises(convert.CheckpointError, match="unknown model"):
        convert.read_source(wheel, "MSD_vgg")


# -- the shipped model --------------------------------------------------------------------


@pytest.fixture(scope="module")
def weights() -> dict[str, np.ndarray]:
    return musicnn.load_weights()


@pytest.fixture(scope="module")
def model() -> musicnn.Musicnn:
    return musicnn.Musicnn()


def test_shipped_weights_match_their_card(weights):
    card = musicnn.load_card()
    for name in (f"{convert.STEM}.npz", f"{convert.STEM}.onnx"):
        data = (MODELS / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == card["files"][name]["sha256"]
    assert {n: list(a.shape) for n, a in weights.items()} == card["variables"]
    assert all(a.dtype == np.float32 for a in weights.values())
    assert sum(a.size for a in weights.values()) == card["parameters"] == 792_079
    assert not [n for n in weights if not convert.is_model_variable(n)]
    assert card["tags"] == list(convert.MSD_TAGS) and len(card["tags"]) == musicnn.N_TAGS
    assert "Permission to use, copy, modify" in card["licence"]["notice"]
    assert set(card["outputs"]) == {musicnn.EMBEDDING, musicnn.TAGS}


def test_a_tampered_file_is_refused(tmp_path):
    for name in ("json", "npz", "onnx"):
        shutil.copy(MODELS / f"{convert.STEM}.{name}", tmp_path)
    npz = tmp_path / f"{convert.STEM}.npz"
    data = bytearray(npz.read_bytes())
    data[-100] ^= 1
    npz.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="does not match its card"):
        musicnn.Musicnn(tmp_path)


def _tone_and_noise(seconds: float = 7.0) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(int(seconds * SR)) / SR
    sine = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1320 * t)
    noise = 0.3 * np.random.default_rng(7).standard_normal(t.size)
    return sine.astype(np.float32), noise.astype(np.float32)


def test_onnxruntime_matches_the_numpy_reference(weights, model):
    sine, noise = _tone_and_noise()
    rng = np.random.default_rng(3)
    patches = np.concatenate(
        [
            musicnn.mel_patches(sine)[:1],
            musicnn.mel_patches(noise)[:1],
            rng.uniform(0, 4, (1, musicnn.FRAMES, musicnn.N_MELS)).astype(np.float32),
        ]
    )
    expected_embedding, expected_tags = musicnn.reference_forward(weights, patches)
    embedding, tags = model.embed(patches, batch=2)  # two runs: a full batch and a part
    assert embedding.shape == (3, musicnn.EMBEDDING_SIZE) and tags.shape == (3, musicnn.N_TAGS)
    np.testing.assert_allclose(embedding, expected_embedding, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(tags, expected_tags, rtol=1e-4, atol=1e-4)


def test_tags_are_probabilities_and_sounds_differ(model):
    sine, noise = _tone_and_noise()
    sine_embedding, sine_tags = model.embed_audio(sine)
    noise_embedding, noise_tags = model.embed_audio(noise)
    assert len(sine_embedding) == len(noise_embedding) == 2  # 7 s: two whole 3-s patches
    for tags in (sine_tags, noise_tags):
        assert np.isfinite(tags).all() and (tags >= 0).all() and (tags <= 1).all()
    a, b = sine_embedding[0], noise_embedding[0]
    assert float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)) < 0.9
    empty_embedding, empty_tags = model.embed(np.zeros((0, musicnn.FRAMES, musicnn.N_MELS)))
    assert empty_embedding.shape == (0, 200) and empty_tags.shape == (0, 50)
    with pytest.raises(ValueError, match="patches"):
        model.embed(np.zeros((1, 100, musicnn.N_MELS)))


# -- the input ----------------------------------------------------------------------------


def test_mel_patches_match_librosa():
    import librosa

    rng = np.random.default_rng(11)
    t = np.arange(int(6.5 * SR)) / SR
    y = (
        0.4 * np.sin(2 * np.pi * 220 * t * (1 + 0.1 * t)) + 0.05 * rng.standard_normal(t.size)
    ).astype(np.float32)
    mel = librosa.feature.melspectrogram(
        y=y, sr=SR, hop_length=musicnn.HOP, n_fft=musicnn.N_FFT, n_mels=musicnn.N_MELS,
        pad_mode="reflect",  # librosa 0.7's default, which musicnn 0.1.0 ran with
    ).T  # fmt: skip
    np.testing.assert_allclose(musicnn.mel_spectrogram(y), mel, rtol=1e-3, atol=1e-6)
    expected = np.log10(10_000 * mel.astype(np.float32) + 1)

    patches = musicnn.mel_patches(y)
    assert patches.dtype == np.float32
    assert patches.shape == (len(mel) // musicnn.FRAMES, musicnn.FRAMES, musicnn.N_MELS)
    for i, patch in enumerate(patches):
        start = i * musicnn.FRAMES
        np.testing.assert_allclose(patch, expected[start : start + musicnn.FRAMES], atol=1e-3)
    overlapping = musicnn.mel_patches(y, step=94)
    full = musicnn.log_compress(musicnn.mel_spectrogram(y))
    np.testing.assert_array_equal(overlapping[2], full[188 : 188 + musicnn.FRAMES])
    assert len(overlapping) == (len(mel) - musicnn.FRAMES) // 94 + 1


def test_short_audio_is_repeated_to_one_patch():
    y = np.random.default_rng(2).standard_normal(SR).astype(np.float32)  # 1 s: 63 frames
    (patch,) = musicnn.mel_patches(y)
    frames = musicnn.mel_spectrogram(y).shape[0]
    np.testing.assert_array_equal(patch[frames : 2 * frames], patch[:frames])
    assert musicnn.mel_patches(np.zeros(100, np.float32)).shape == (1, 187, 96)
    with pytest.raises(ValueError):
        musicnn.mel_patches(np.zeros(0, np.float32))
