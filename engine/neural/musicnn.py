"""musicnn: a 200-d embedding and 50 tag probabilities per 3-s patch of audio.

The network is Pons & Serra's musicnn as shipped in the ``musicnn`` 0.1.0 wheel (ISC
licence), in two trainings: on the Million Song Dataset's Last.fm tags (:data:`STEM`,
``models/musicnn_msd.*``, the default) and on MagnaTagATune's tags
(:data:`MTT_STEM`, ``models/musicnn_mtt.*``). Each is ``<stem>.npz`` (the weights under
their TensorFlow names and layouts), ``<stem>.onnx`` (the graph without weights) and
``<stem>.json`` (the card). :class:`Musicnn` loads one and runs it with onnxruntime:
neither TensorFlow nor the ``onnx`` package is needed. Every loader takes the model's
``stem`` and defaults to the MSD one.

:func:`reference_forward` is the same network in plain numpy, written from
``musicnn/models.py``; the tests hold the onnxruntime graph to it.

Input (:func:`mel_patches`): 16 kHz mono audio -> power mel spectrogram (n_fft 512,
hop 256, 96 Slaney mel bands, as ``librosa.feature.melspectrogram``) ->
``log10(10000 * mel + 1)`` -> patches of 187 frames (3 s).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from engine.analysis import dsp
from engine.errors import cause
from engine.jsonfile import read_json

SAMPLE_RATE = 16_000
N_FFT = 512
HOP = 256
N_MELS = 96
FRAMES = 187  # 3 s: librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
EMBEDDING_SIZE = 200
N_TAGS = 50
BN_EPSILON = 1e-3  # tf.compat.v1.layers.batch_normalization's default

# names in the ONNX graph
INPUT = "patches"
EMBEDDING = "embedding"  # musicnn's "penultimate" features
TAGS = "tags"

STEM = "musicnn_msd"  # the default: trained on the Million Song Dataset
MTT_STEM = "musicnn_mtt"  # trained on MagnaTagATune
# <repo>/models, and <bundle>/models in the packaged app (build.spec ships models/)
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"

# The layers of musicnn/models.py, by their TensorFlow variable scopes (TF numbers
# layers in creation order).
INPUT_BN = "batch_normalization"
# (conv, batch norm, kernel (time, freq)); valid in frequency, time padded 3/3
TIMBRAL = (("conv2d", "batch_normalization_1"), ("conv2d_1", "batch_normalization_2"))
# (conv, batch norm); kernels 128x1, 64x1, 32x1, padding SAME
TEMPORAL = (
    ("conv2d_2", "batch_normalization_3"),
    ("conv2d_3", "batch_normalization_4"),
    ("conv2d_4", "batch_normalization_5"),
)
# 7-tap convolutions over time on all front-end features; the 2nd and 3rd are residual
MIDEND = (
    ("conv2d_5", "batch_normalization_6"),
    ("conv2d_6", "batch_normalization_7"),
    ("conv2d_7", "batch_normalization_8"),
)
POOL_BN = "batch_normalization_9"
DENSE = ("dense", "batch_normalization_10")
OUTPUT = "dense_1"
MIDEND_PAD = 3


def same_padding(kernel: int) -> tuple[int, int]:
    """TensorFlow's SAME padding at stride 1: the odd one extra goes after."""
    return (kernel - 1) // 2, kernel - 1 - (kernel - 1) // 2


# -- input -------------------------------------------------------------------------------


def mel_spectrogram(audio: np.ndarray, *, chunk: int = 2048) -> np.ndarray:
    """``librosa.feature.melspectrogram(y=audio, sr=16000, n_fft=512, hop_length=256,
    n_mels=96, pad_mode="reflect").T`` in numpy/scipy: shape (frames, 96), float32.

    Frames are centred (the signal is reflected by ``n_fft // 2`` at both ends:
    ``pad_mode="reflect"``, librosa 0.7's default) and windowed with a periodic Hann
    window; the power spectrum goes through :func:`engine.analysis.dsp.mel_filters`,
    librosa's Slaney-scale, area-normalised filter bank. ``chunk`` frames are
    transformed at a time, so long tracks need little memory.
    """
    import scipy.fft  # here: the window imports this module and must start light

    y = np.asarray(audio, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"expected mono audio, got shape {y.shape}")
    # musicnn 0.1.0 ran librosa 0.7, whose centred frames reflect the signal at its ends
    # (librosa >= 0.10 zero-pads): only the first and last frames differ
    padded = np.pad(y, N_FFT // 2, mode="reflect" if y.size > N_FFT // 2 else "constant")
    n_frames = 1 + (padded.size - N_FFT) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:n_frames]
    window = dsp.hann(N_FFT).astype(np.float32)
    basis = dsp.mel_filters(SAMPLE_RATE, N_FFT, N_MELS).T  # (bins, mels)
    out = np.empty((n_frames, N_MELS), dtype=np.float32)
    for start in range(0, n_frames, chunk):
        spectrum = scipy.fft.rfft(frames[start : start + chunk] * window, axis=1)
        power = spectrum.real**2 + spectrum.imag**2
        out[start : start + chunk] = power @ basis
    return out


def log_compress(mel: np.ndarray) -> np.ndarray:
    """musicnn's ``log10(10000 * mel + 1)``, in float32.

    musicnn's extractor casts the mel spectrogram to float16 first: ``10000 * mel`` then
    overflows to inf in bins above 6.55 (and keeps ~3 digits elsewhere), so that cast
    is left out.
    """
    mel = np.asarray(mel, dtype=np.float32)
    return np.log10(np.float32(10_000) * mel + np.float32(1))


def mel_patches(audio_16k: np.ndarray, *, step: int = FRAMES) -> np.ndarray:
    """Cut 16 kHz mono audio into the network's input: shape (patches, 187, 96), float32.

    Patches start every ``step`` frames (187: back to back, as musicnn's extractor does
    without overlap) and only whole patches are kept. Audio shorter than one patch is
    repeated to fill it, as musicnn was trained (``pad_short: repeat-pad``).
    """
    if step < 1:
        raise ValueError("step must be at least 1")
    y = np.asarray(audio_16k, dtype=np.float32)
    if y.size == 0:
        raise ValueError("no audio")
    spectrogram = log_compress(mel_spectrogram(y))
    if spectrogram.shape[0] < FRAMES:
        reps = -(-FRAMES // spectrogram.shape[0])
        spectrogram = np.tile(spectrogram, (reps, 1))[:FRAMES]
    starts = range(0, spectrogram.shape[0] - FRAMES + 1, step)
    return np.stack([spectrogram[s : s + FRAMES] for s in starts])


# -- the network in numpy ------------------------------------------------------------------


def _batch_norm(x: np.ndarray, weights: Mapping[str, np.ndarray], scope: str) -> np.ndarray:
    """Inference-time batch norm over the last axis, as TensorFlow computes it."""
    scale = weights[f"{scope}/gamma"] / np.sqrt(weights[f"{scope}/moving_variance"] + BN_EPSILON)
    return (x - weights[f"{scope}/moving_mean"]) * scale + weights[f"{scope}/beta"]


def _conv_block(
    x: np.ndarray,
    weights: Mapping[str, np.ndarray],
    conv: str,
    bn: str,
    time_pad: tuple[int, int],
) -> np.ndarray:
    """Conv (valid in frequency) -> ReLU -> batch norm -> max over frequency.

    ``x`` is (batch, time, freq) with one channel; the result is (batch, time, filters).
    """
    kernel = weights[f"{conv}/kernel"]  # (kt, kf, 1, filters)
    kt, kf = kernel.shape[:2]
    padded = np.pad(x, ((0, 0), time_pad, (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kt, kf), axis=(1, 2))
    out = np.tensordot(windows, kernel[:, :, 0, :], axes=([3, 4], [0, 1]))
    out = np.maximum(out + weights[f"{conv}/bias"], 0)
    return _batch_norm(out, weights, bn).max(axis=2)


def _time_conv(x: np.ndarray, weights: Mapping[str, np.ndarray], conv: str, bn: str) -> np.ndarray:
    """7-tap conv over time on all features (batch, time, features) -> ReLU -> batch norm."""
    kernel = weights[f"{conv}/kernel"][:, :, 0, :]  # (7, features, filters)
    padded = np.pad(x, ((0, 0), (MIDEND_PAD, MIDEND_PAD), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, kernel.shape[0], axis=1)
    out = np.tensordot(windows, kernel, axes=([3, 2], [0, 1]))
    return _batch_norm(np.maximum(out + weights[f"{conv}/bias"], 0), weights, bn)


def reference_forward(
    weights: Mapping[str, np.ndarray], patches: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """musicnn's forward pass at inference, in plain numpy (float32): the reference.

    Parameters
    ----------
    weights
        The TensorFlow variables by name, as in ``models/musicnn_msd.npz`` (or any
        other stem's ``.npz``: the network is the same).
    patches
        Log-mel patches, shape (batch, 187, 96).

    Returns
    -------
    embedding, tags
        (batch, 200) penultimate features and (batch, 50) tag probabilities.
    """
    x = _batch_norm(np.asarray(patches, dtype=np.float32), weights, INPUT_BN)
    front = [_conv_block(x, weights, conv, bn, (3, 3)) for conv, bn in TIMBRAL]
    for conv, bn in TEMPORAL:
        kernel = weights[f"{conv}/kernel"].shape[0]
        front.append(_conv_block(x, weights, conv, bn, same_padding(kernel)))
    frontend = np.concatenate(front, axis=2)  # (batch, time, 561)
    (c1, b1), (c2, b2), (c3, b3) = MIDEND
    mid1 = _time_conv(frontend, weights, c1, b1)
    mid2 = _time_conv(mid1, weights, c2, b2) + mid1
    mid3 = _time_conv(mid2, weights, c3, b3) + mid2
    features = np.concatenate([frontend, mid1, mid2, mid3], axis=2)  # (batch, time, 753)
    # max and mean over time, interleaved feature by feature: tf.concat([max, mean], 2)
    # on (batch, 753, 1) tensors, then flatten
    pooled = np.stack([features.max(axis=1), features.mean(axis=1)], axis=2)
    pooled = _batch_norm(pooled.reshape(len(pooled), -1), weights, POOL_BN)
    dense, bn = DENSE
    hidden = np.maximum(pooled @ weights[f"{dense}/kernel"] + weights[f"{dense}/bias"], 0)
    embedding = _batch_norm(hidden, weights, bn)
    logits = embedding @ weights[f"{OUTPUT}/kernel"] + weights[f"{OUTPUT}/bias"]
    tags = 1.0 / (1.0 + np.exp(-logits))  # the sigmoid
    return embedding.astype(np.float32), tags.astype(np.float32)


# -- the network in onnxruntime ------------------------------------------------------------


def onnx_initializers(weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The weights in the layouts the ONNX graph uses, under the same names.

    Convolution kernels go from TensorFlow's (height, width, in, out) to ONNX's
    (out, in, height, width); the mid-end's become 1-D, (out, in, taps). Dense kernels
    stay (in, out) for ``Gemm``; biases and batch-norm vectors are unchanged.
    """
    out = {}
    midend = {conv for conv, _ in MIDEND}
    for name, array in weights.items():
        scope, leaf = name.rsplit("/", 1)
        if leaf == "kernel" and scope in midend:
            array = array[:, :, 0, :].transpose(2, 1, 0)
        elif leaf == "kernel" and array.ndim == 4:
            array = array.transpose(3, 2, 0, 1)
        out[name] = np.ascontiguousarray(array, dtype=np.float32)
    return out


#: Bounds of a card (the shipped one is 9 kB, 4 levels deep).
CARD_MAX_BYTES = 1 << 20
CARD_MAX_DEPTH = 8


class ModelFilesError(ValueError):
    """The shipped model cannot be loaded (its card, weights or graph missing, damaged or
    not what the card describes); the message says why, in one line."""


class CardError(ModelFilesError):
    """The shipped model's card cannot be used; the message says why, in one line."""


def load_card(models_dir: Path | None = None, *, stem: str = STEM) -> dict[str, object]:
    """``<stem>.json``: source, licence, checksums, input and output spec, tags.

    The fields Encore reads are checked (``tags``: the :data:`N_TAGS` tag names, in the
    order of the network's outputs; ``files``: a SHA-256 per shipped file): a damaged or
    foreign card raises :class:`CardError` instead of failing later, far from its cause.
    """
    path = (MODELS_DIR if models_dir is None else models_dir) / f"{stem}.json"
    try:
        card = read_json(path, max_bytes=CARD_MAX_BYTES, max_depth=CARD_MAX_DEPTH)
        problem = _card_problem(card, stem)
    except OSError as exc:
        problem = cause(exc)
    except ValueError as exc:
        problem = str(exc)
    if problem:
        raise CardError(
            f"the neural model's card {path} is not usable: {problem}; reinstall Encore"
        )
    return card  # type: ignore[return-value] - checked above


def _card_problem(card: object, stem: str) -> str:
    """What is wrong with the fields of a parsed card that Encore reads ("" if nothing)."""
    if not isinstance(card, dict):
        return "it is not a JSON object"
    tags = card.get("tags")
    if not isinstance(tags, list) or len(tags) != N_TAGS:
        return f"'tags' must be a list of the network's {N_TAGS} tag names"
    if not all(isinstance(t, str) and 0 < len(t) <= 100 for t in tags) or len(set(tags)) != N_TAGS:
        return "'tags' must be distinct, non-empty names"
    files = card.get("files")
    if not isinstance(files, dict):
        return "'files' must map each shipped file to its SHA-256"
    for name in (f"{stem}.npz", f"{stem}.onnx"):
        entry = files.get(name)
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
            return f"'files' has no SHA-256 for {name}"
    return ""


def _checked(path: Path, card: Mapping[str, object]) -> bytes:
    """A shipped file's bytes, refused unless they are the bytes the card describes."""
    data = path.read_bytes()
    files: Any = card["files"]  # its shape was checked by load_card
    if hashlib.sha256(data).hexdigest() != files[path.name]["sha256"]:
        raise ValueError(f"{path} does not match its card (SHA-256)")
    return data


def check_model(models_dir: Path | None = None, *, stem: str = STEM) -> None:
    """Raise :class:`ModelFilesError` unless :class:`Musicnn` can load ``models_dir``'s
    ``<stem>`` files: the card's fields and both files' SHA-256 are checked (~5 ms),
    nothing is loaded."""
    folder = MODELS_DIR if models_dir is None else models_dir
    card = load_card(folder, stem=stem)
    for suffix in ("npz", "onnx"):
        path = folder / f"{stem}.{suffix}"
        try:
            _checked(path, card)
        except OSError as exc:
            raise ModelFilesError(
                f"the neural model's file {path} cannot be read: {cause(exc)}; reinstall Encore"
            ) from None
        except ValueError as exc:
            raise ModelFilesError(f"the neural model's file {exc}; reinstall Encore") from None


def load_weights(models_dir: Path | None = None, *, stem: str = STEM) -> dict[str, np.ndarray]:
    """The TensorFlow variables from ``<stem>.npz`` (arrays only, no pickles)."""
    import io

    folder = MODELS_DIR if models_dir is None else models_dir
    data = _checked(folder / f"{stem}.npz", load_card(folder, stem=stem))
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        return {name: arrays[name] for name in arrays.files}


class Musicnn:
    """A musicnn model (MSD by default) in an onnxruntime session.

    Parameters
    ----------
    models_dir
        Where ``<stem>.{npz,onnx,json}`` are.
    threads
        onnxruntime's intra-op threads (analysis runs one model per worker process,
        so one thread each by default).
    stem
        Which model: :data:`STEM` (MSD, the default) or :data:`MTT_STEM` (MagnaTagATune).
    """

    def __init__(
        self, models_dir: Path | None = None, *, threads: int = 1, stem: str = STEM
    ) -> None:
        import onnxruntime as ort

        models_dir = MODELS_DIR if models_dir is None else models_dir
        card = load_card(models_dir, stem=stem)
        graph = _checked(models_dir / f"{stem}.onnx", card)
        tags: Any = card["tags"]  # checked by load_card
        self.tags: tuple[str, ...] = tuple(tags)
        # the graph's initializers are placeholders; the arrays come from the npz
        # (kept referenced: onnxruntime may use their memory in place)
        self._initializers = onnx_initializers(load_weights(models_dir, stem=stem))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        names = sorted(self._initializers)
        options.add_external_initializers(
            names, [ort.OrtValue.ortvalue_from_numpy(self._initializers[n]) for n in names]
        )
        self._session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def embed(self, patches: np.ndarray, *, batch: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings (N, 200) and tag probabilities (N, 50) of patches (N, 187, 96).

        ``batch`` patches go through at a time: onnxruntime needs ~30 MB per patch.
        """
        patches = np.ascontiguousarray(patches, dtype=np.float32)
        if patches.ndim != 3 or patches.shape[1:] != (FRAMES, N_MELS):
            raise ValueError(f"expected (N, {FRAMES}, {N_MELS}) patches, got {patches.shape}")
        embeddings = np.empty((len(patches), EMBEDDING_SIZE), dtype=np.float32)
        probabilities = np.empty((len(patches), N_TAGS), dtype=np.float32)
        for start in range(0, len(patches), batch):
            embedding, tags = self._session.run(
                [EMBEDDING, TAGS], {INPUT: patches[start : start + batch]}
            )
            embeddings[start : start + batch] = embedding
            probabilities[start : start + batch] = tags
        return embeddings, probabilities

    def embed_audio(self, audio_16k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`embed` of every back-to-back 3-s patch of 16 kHz mono audio."""
        return self.embed(mel_patches(audio_16k))
