"""Convert musicnn's checkpoints to plain arrays and a card, without TensorFlow.

``python -m tools.musicnn_convert [WHEEL_OR_DIR] [--model MODEL] [--out models/]`` reads
one checkpoint shipped inside the ``musicnn`` 0.1.0 wheel (or an unpacked copy of it):
``MSD_musicnn`` (the default; Million Song Dataset tags) or ``MTT_musicnn``
(MagnaTagATune tags), the same network trained on different data. It writes, with
``<stem>`` ``musicnn_msd`` or ``musicnn_mtt``:

- ``<stem>.npz``: the model's variables under their TensorFlow names, float32,
  nothing else (no optimiser slots, no step counter); read with ``allow_pickle=False``;
- ``<stem>.onnx``: the network as an ONNX graph *without* its weights, which
  :mod:`engine.neural.musicnn` hands to onnxruntime from the ``.npz`` at load time
  (so the weights are stored once and the app needs onnxruntime, not ``onnx``);
- ``<stem>.json``: the card (source, licence, checksums, input, outputs, tags).

musicnn pins TensorFlow 1.x, so the checkpoint is read by hand. A TensorFlow
checkpoint is a *tensor bundle*: ``<prefix>.index`` is an SSTable (LevelDB's table
format) mapping each variable name to a ``BundleEntryProto`` that says where its bytes
are in ``<prefix>.data-NNNNN-of-NNNNN``. The empty key holds the ``BundleHeaderProto``.
Every block checksum and every tensor's CRC-32C are checked.

Running it twice writes byte-identical files: the zip is written with fixed dates.
Building the ONNX graph needs the ``onnx`` package (a development dependency).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib.util
import io
import json
import re
import struct
import sys
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PACKAGE = "musicnn"
PACKAGE_VERSION = "0.1.0"
UPSTREAM = "https://github.com/jordipons/musicnn"
PYPI = "https://pypi.org/project/musicnn/0.1.0/"

# musicnn/configuration.py, MSD_LABELS: the order of the 50 outputs
MSD_TAGS = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
    "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s",
    "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic",
    "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country",
    "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock",
    "60s", "rnb", "indie pop", "sad", "House", "happy",
)  # fmt: skip

# musicnn/configuration.py, MTT_LABELS: the order of the 50 outputs
MTT_TAGS = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock",
    "fast", "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian",
    "opera", "male", "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet",
    "flute", "woman", "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man",
    "classic", "choir", "voice", "new age", "dance", "male voice", "female vocal", "beats",
    "harp", "cello", "no voice", "weird", "country", "metal", "female voice", "choral",
)  # fmt: skip


@dataclass(frozen=True)
class ModelSpec:
    """One of the wheel's musicnn checkpoints, and the files it is converted to."""

    checkpoint: str  # its folder in the wheel: musicnn/<checkpoint>/
    stem: str  # the output files' name: <stem>.{npz,onnx,json}
    labels: str  # the name of its tag list in musicnn/configuration.py
    tags: tuple[str, ...]  # that list, in the order of the network's outputs
    short: str  # what the ONNX graph's doc string calls it
    description: str  # the card's


MSD = ModelSpec(
    checkpoint="MSD_musicnn",
    stem="musicnn_msd",
    labels="MSD_LABELS",
    tags=MSD_TAGS,
    short="MSD",
    description=(
        "musicnn (Pons & Serra, 2019) trained on the Million Song Dataset's 50 most "
        "common Last.fm tags: a musically motivated CNN over 3-s log-mel patches."
    ),
)
MTT = ModelSpec(
    checkpoint="MTT_musicnn",
    stem="musicnn_mtt",
    labels="MTT_LABELS",
    tags=MTT_TAGS,
    short="MTT",
    description=(
        "musicnn (Pons & Serra, 2019) trained on MagnaTagATune's 50 most common tags "
        "(instruments, genres, voice, mood): a musically motivated CNN over 3-s log-mel "
        "patches."
    ),
)
#: The checkpoints this module converts, by their folder names in the wheel.
MODELS = {spec.checkpoint: spec for spec in (MSD, MTT)}
MODEL = MSD.checkpoint  # the default
STEM = MSD.stem

# the count the converted variables must add up to (weights, biases, batch-norm
# gammas/betas and moving means/variances); the same network for every checkpoint
PARAMETERS = 792_079

_TABLE_MAGIC = 0xDB4775248B80FB57  # LevelDB's, kept by TensorFlow's table format
_FOOTER = 48  # two block handles padded to 40 bytes, then the magic
_CRC_MASK_DELTA = 0xA282EAD8

# tensorflow/core/framework/types.proto: the numeric types a checkpoint may hold
_DTYPES = {
    1: np.dtype("<f4"),
    2: np.dtype("<f8"),
    3: np.dtype("<i4"),
    4: np.dtype("u1"),
    5: np.dtype("<i2"),
    6: np.dtype("i1"),
    9: np.dtype("<i8"),
    10: np.dtype("?"),
    19: np.dtype("<f2"),
}

# A deterministic zip: fixed date, permissions and host system in every member.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class CheckpointError(ValueError):
    """The checkpoint is not a tensor bundle this reader understands, or is damaged."""


# -- CRC-32C (Castagnoli), as LevelDB and TensorFlow store it --------------------------


def _crc_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    """CRC-32C of ``data`` (pure Python: about 0.2 s per MB, fine for a one-off)."""
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def mask_crc(crc: int) -> int:
    """LevelDB's masked CRC (rotated and offset, so a CRC of data holding CRCs differs)."""
    return (((crc >> 15) | (crc << 17)) + _CRC_MASK_DELTA) & 0xFFFFFFFF


# -- protobuf wire format ---------------------------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise CheckpointError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise CheckpointError("varint longer than 10 bytes")


def _fields(message: bytes) -> dict[int, list[int | bytes]]:
    """A protobuf message's fields by number: ints for varint/fixed, bytes for the rest."""
    fields: dict[int, list[int | bytes]] = {}
    pos = 0
    while pos < len(message):
        tag, pos = _varint(message, pos)
        number, wire = tag >> 3, tag & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(message, pos)
        elif wire == 1:
            value, pos = int.from_bytes(message[pos : pos + 8], "little"), pos + 8
        elif wire == 2:
            length, pos = _varint(message, pos)
            value, pos = message[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = int.from_bytes(message[pos : pos + 4], "little"), pos + 4
        else:
            raise CheckpointError(f"unsupported protobuf wire type {wire}")
        if pos > len(message):
            raise CheckpointError("truncated protobuf message")
        fields.setdefault(number, []).append(value)
    return fields


def _int(fields: dict[int, list[int | bytes]], number: int, default: int = 0) -> int:
    values = fields.get(number)
    if not values:
        return default
    value = values[-1]  # protobuf: the last occurrence of a scalar wins
    if not isinstance(value, int):
        raise CheckpointError(f"field {number} is not an integer")
    return value


def _messages(fields: dict[int, list[int | bytes]], number: int) -> list[bytes]:
    values = fields.get(number, [])
    if not all(isinstance(v, bytes) for v in values):
        raise CheckpointError(f"field {number} is not a message")
    return [v for v in values if isinstance(v, bytes)]


# -- SSTable (LevelDB table format) ------------------------------------------------------


def _block_handle(buf: bytes, pos: int) -> tuple[int, int, int]:
    offset, pos = _varint(buf, pos)
    size, pos = _varint(buf, pos)
    return offset, size, pos


def _read_block(table: bytes, offset: int, size: int) -> bytes:
    """A block's contents, after checking its trailer (type byte and masked CRC-32C)."""
    end = offset + size
    if end + 5 > len(table) - _FOOTER:
        raise CheckpointError("block outside the table")
    contents = table[offset:end]
    kind = table[end]
    (stored,) = struct.unpack_from("<I", table, end + 1)
    if mask_crc(crc32c(table[offset : end + 1])) != stored:  # covers contents + type byte
        raise CheckpointError(f"block at {offset}: checksum mismatch")
    if kind == 1:
        # TensorFlow writes bundles uncompressed; a snappy block means another writer
        raise CheckpointError(
            f"block at {offset} is snappy-compressed, which this reader does not support"
        )
    if kind != 0:
        raise CheckpointError(f"block at {offset}: unknown compression type {kind}")
    return contents


def _block_entries(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    """A block's (key, value) pairs; keys share a prefix with the previous key."""
    if len(block) < 4:
        raise CheckpointError("block too short")
    (restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit = len(block) - 4 - 4 * restarts
    if limit < 0:
        raise CheckpointError("bad restart count")
    key = b""
    pos = 0
    while pos < limit:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        length, pos = _varint(block, pos)
        if shared > len(key) or pos + unshared + length > limit:
            raise CheckpointError("corrupt block entry")
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        yield key, block[pos : pos + length]
        pos += length


def read_table(table: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Every (key, value) of an SSTable, in key order.

    Layout: data blocks, a (here unused) meta-index block, an index block whose values
    are the data blocks' handles, and a 48-byte footer ending in the magic number.
    """
    if len(table) < _FOOTER:
        raise CheckpointError("too short for an SSTable")
    footer = table[-_FOOTER:]
    (magic,) = struct.unpack_from("<Q", footer, 40)
    if magic != _TABLE_MAGIC:
        raise CheckpointError("not an SSTable (bad magic number)")
    _, _, pos = _block_handle(footer, 0)  # the meta-index: tensor bundles leave it empty
    index_offset, index_size, _ = _block_handle(footer, pos)
    previous: bytes | None = None
    for _, handle in _block_entries(_read_block(table, index_offset, index_size)):
        offset, size, _ = _block_handle(handle, 0)
        for key, value in _block_entries(_read_block(table, offset, size)):
            if previous is not None and key <= previous:
                raise CheckpointError("SSTable keys out of order")
            previous = key
            yield key, value


# -- tensor bundle ---------------------------------------------------------------------


@dataclass(frozen=True)
class BundleEntry:
    """Where one tensor is: ``BundleEntryProto`` (tensor_bundle.proto)."""

    dtype: int
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    crc32c: int | None  # masked, as stored; None if the writer left it out
    sliced: bool  # a partitioned variable: its pieces are separate entries


@dataclass(frozen=True)
class Bundle:
    """A checkpoint's index: header fields and one entry per tensor name."""

    num_shards: int
    producer: int
    entries: dict[str, BundleEntry]


def _entry(value: bytes) -> BundleEntry:
    fields = _fields(value)
    shape: list[int] = []
    for shape_proto in _messages(fields, 2):
        shape_fields = _fields(shape_proto)
        if _int(shape_fields, 3):
            raise CheckpointError("tensor of unknown rank")
        shape = [_int(_fields(dim), 1) for dim in _messages(shape_fields, 2)]
    crc = fields.get(6)
    return BundleEntry(
        dtype=_int(fields, 1),
        shape=tuple(shape),
        shard_id=_int(fields, 3),
        offset=_int(fields, 4),
        size=_int(fields, 5),
        crc32c=crc[-1] if crc and isinstance(crc[-1], int) else None,
        sliced=bool(fields.get(7)),
    )


def read_bundle(index: bytes) -> Bundle:
    """Parse a checkpoint's ``.index`` file."""
    header: dict[int, list[int | bytes]] | None = None
    entries: dict[str, BundleEntry] = {}
    for key, value in read_table(index):
        if key == b"":  # sorts first: the BundleHeaderProto
            header = _fields(value)
        else:
            entries[key.decode("utf-8")] = _entry(value)
    if header is None:
        raise CheckpointError("no bundle header (empty key) in the index")
    if _int(header, 2) != 0:
        raise CheckpointError("big-endian checkpoint")
    versions = _messages(header, 3)
    producer = _int(_fields(versions[-1]), 1) if versions else 0
    return Bundle(num_shards=_int(header, 1, 1), producer=producer, entries=entries)


def shard_name(prefix: str, shard: int, num_shards: int) -> str:
    """``<prefix>.data-00000-of-00001``: the file holding one shard's bytes."""
    return f"{prefix}.data-{shard:05d}-of-{num_shards:05d}"


def read_tensor(entry: BundleEntry, shards: list[bytes]) -> np.ndarray:
    """One tensor's values (a fresh array), after checking its size and CRC-32C."""
    if entry.sliced:
        raise CheckpointError("partitioned variables are not supported")
    dtype = _DTYPES.get(entry.dtype)
    if dtype is None:
        raise CheckpointError(f"unsupported tensor dtype {entry.dtype}")
    if not 0 <= entry.shard_id < len(shards):
        raise CheckpointError(f"tensor in missing shard {entry.shard_id}")
    count = int(np.prod(entry.shape, dtype=np.int64))
    if entry.size != count * dtype.itemsize:
        raise CheckpointError(f"size {entry.size} does not match shape {entry.shape}")
    shard = shards[entry.shard_id]
    raw = shard[entry.offset : entry.offset + entry.size]
    if len(raw) != entry.size:
        raise CheckpointError("tensor runs past the end of its data file")
    if entry.crc32c is not None and mask_crc(crc32c(raw)) != entry.crc32c:
        raise CheckpointError("tensor checksum mismatch")
    return np.frombuffer(raw, dtype=dtype).reshape(entry.shape).copy()


def is_model_variable(name: str) -> bool:
    """A variable the network computes with: not Adam's slots or step counters."""
    leaf = name.rsplit("/", 1)[-1]
    return not (
        name == "global_step"
        or leaf.startswith("Adam")  # .../Adam and .../Adam_1: first and second moments
        or leaf in ("beta1_power", "beta2_power")
    )


# -- the musicnn package ----------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """The checkpoint files and package metadata, read from a wheel or a folder."""

    index: bytes
    shards: list[bytes]
    config: dict[str, object]
    licence: str
    version: str
    labels: tuple[str, ...]  # configuration.py's tag list for this checkpoint
    model: str = MODEL  # which checkpoint: a key of MODELS


def _default_source() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise SystemExit(
            "musicnn is not installed: pass the wheel or its unpacked folder "
            f"(pip download {PACKAGE}=={PACKAGE_VERSION} --no-deps)"
        )
    return Path(spec.origin).parent.parent  # site-packages: holds the dist-info too


def _version(metadata: str) -> str:
    match = re.search(r"^Version:\s*(\S+)", metadata, re.MULTILINE)
    return match.group(1) if match else "unknown"


def _labels(configuration: str, name: str) -> tuple[str, ...]:
    """A tag list (``MSD_LABELS``, ``MTT_LABELS``) from musicnn's configuration.py, read
    as data (never executed)."""
    for statement in ast.parse(configuration).body:
        if isinstance(statement, ast.Assign) and [
            getattr(t, "id", None) for t in statement.targets
        ] == [name]:
            return tuple(ast.literal_eval(statement.value))
    return ()


def read_source(path: Path, model: str = MODEL) -> Source:
    """Read the checkpoint ``model`` (a key of :data:`MODELS`) and the package's metadata
    from the wheel, or from the folder it was unpacked or installed into
    (``site-packages``, ``musicnn/`` or a checkpoint's own folder also work)."""
    if model not in MODELS:
        raise CheckpointError(f"unknown model {model!r}: one of {', '.join(MODELS)}")
    if path.is_file():
        with zipfile.ZipFile(path) as wheel:
            members = {name: wheel.read(name) for name in wheel.namelist()}
    else:
        root = next(
            (r for r in (path, path.parent, path.parent.parent) if (r / PACKAGE).is_dir()), None
        )
        if root is None:
            raise CheckpointError(f"{path}: no {PACKAGE}/ package folder here")
        members = {
            f.relative_to(root).as_posix(): f.read_bytes()
            for top in [root / PACKAGE, *root.glob(f"{PACKAGE}-*.dist-info")]
            for f in sorted(top.rglob("*"))
            if f.is_file() and "__pycache__" not in f.parts
        }
    return _source(members, path, MODELS[model])


def _source(members: Mapping[str, bytes], path: Path, spec: ModelSpec) -> Source:
    prefix = f"{PACKAGE}/{spec.checkpoint}/"  # the checkpoint's prefix: its files are ".index" etc.
    if f"{prefix}.index" not in members:
        raise CheckpointError(f"{path}: no {prefix}.index")
    dists = sorted(
        {n.split("/")[0] for n in members if re.match(rf"{PACKAGE}-[^/]+\.dist-info/", n)}
    )
    if not dists:
        raise CheckpointError(f"{path}: no {PACKAGE} dist-info (version and licence)")
    licences = sorted(n for n in members if n.startswith(f"{dists[0]}/LICENSE"))
    index = members[f"{prefix}.index"]
    bundle = read_bundle(index)
    try:
        shards = [
            members[shard_name(prefix, i, bundle.num_shards)] for i in range(bundle.num_shards)
        ]
    except KeyError as missing:
        raise CheckpointError(f"{path}: missing data file {missing}") from None
    return Source(
        index=index,
        shards=shards,
        config=json.loads(members[f"{prefix}config.json"]),
        licence=members[licences[0]].decode("utf-8") if licences else "",
        version=_version(members.get(f"{dists[0]}/METADATA", b"").decode("utf-8")),
        labels=_labels(
            members.get(f"{PACKAGE}/configuration.py", b"").decode("utf-8"), spec.labels
        ),
        model=spec.checkpoint,
    )


def model_weights(source: Source) -> dict[str, np.ndarray]:
    """The model's variables as float32 arrays, by TensorFlow name."""
    bundle = read_bundle(source.index)
    weights = {}
    for name, entry in sorted(bundle.entries.items()):
        if is_model_variable(name):
            array = read_tensor(entry, source.shards)
            if array.dtype != np.float32:
                raise CheckpointError(f"{name}: expected float32, found {array.dtype}")
            weights[name] = array
    return weights


# -- writing ---------------------------------------------------------------------------


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """An ``np.load``-able ``.npz`` whose bytes depend on the arrays only.

    ``np.savez`` stamps each member with the current time; here every member gets the
    same date and attributes, and the members are sorted by name.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.create_system = 3  # Unix, whatever machine converts
            info.external_attr = 0o644 << 16
            member = io.BytesIO()
            np.lib.format.write_array(
                member, np.asarray(arrays[name], order="C"), version=(1, 0), allow_pickle=False
            )
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    """Hex SHA-256, as the card records it."""
    return hashlib.sha256(data).hexdigest()


def card(
    source: Source, weights: Mapping[str, np.ndarray], npz: bytes, onnx_model: bytes
) -> dict[str, object]:
    """The model card: where the weights come from, under which licence, and how to feed them."""
    from engine.neural import musicnn

    spec = MODELS[source.model]
    stem = spec.stem
    return {
        "name": stem,
        "description": spec.description,
        "source": {
            "package": f"{PACKAGE} {source.version} (PyPI, {PYPI})",
            "checkpoint": f"{PACKAGE}/{spec.checkpoint}/ (.index, .data-00000-of-00001)",
            "upstream": UPSTREAM,
            "data_sha256": [sha256(shard) for shard in source.shards],
            "index_sha256": sha256(source.index),
            "training_config": source.config,
        },
        "licence": {
            "name": "ISC",
            "notice": source.licence.strip(),
        },
        "files": {
            f"{stem}.npz": {"sha256": sha256(npz), "bytes": len(npz)},
            f"{stem}.onnx": {"sha256": sha256(onnx_model), "bytes": len(onnx_model)},
        },
        "parameters": int(sum(a.size for a in weights.values())),
        # of which batch norm's moving means and variances (not trained by gradient)
        "moving_statistics": int(
            sum(a.size for n, a in weights.items() if n.rsplit("/", 1)[-1].startswith("moving_"))
        ),
        "variables": {name: list(a.shape) for name, a in sorted(weights.items())},
        "input": {
            "shape": ["batch", musicnn.FRAMES, musicnn.N_MELS],
            "dtype": "float32",
            "sample_rate": musicnn.SAMPLE_RATE,
            "patch_seconds": 3,
            "spectrogram": (
                f"librosa.feature.melspectrogram(y, sr={musicnn.SAMPLE_RATE}, "
                f"n_fft={musicnn.N_FFT}, hop_length={musicnn.HOP}, n_mels={musicnn.N_MELS}, "
                'pad_mode="reflect").T (librosa 0.7 as musicnn 0.1.0 used it: centred frames '
                "reflected at the ends, periodic Hann window, power spectrum, "
                "Slaney mel scale and area normalisation)"
            ),
            "scaling": "log10(10000 * mel + 1), in float32",
            "computed_by": "engine.neural.musicnn.mel_patches",
        },
        "outputs": {
            musicnn.EMBEDDING: {
                "shape": ["batch", musicnn.EMBEDDING_SIZE],
                "meaning": "musicnn's 'penultimate' features: dense 200, ReLU, batch norm",
            },
            musicnn.TAGS: {
                "shape": ["batch", len(spec.tags)],
                "meaning": "sigmoid probability of each tag in 'tags'",
            },
        },
        "tags": list(spec.tags),
        "converted_by": "python -m tools.musicnn_convert"
        + ("" if spec.checkpoint == MODEL else f" --model {spec.checkpoint}"),
    }


# -- the ONNX graph ------------------------------------------------------------------------

OPSET = 17  # Reduce* still take their axes as attributes; onnxruntime >= 1.14 runs it


def external_location(stem: str) -> str:
    """Where the graph's placeholder initializers "are": nowhere, so onnxruntime fails
    loudly if the graph is loaded without the arrays (engine.neural.musicnn passes them)."""
    return f"weights-are-in-{stem}.npz"


def build_graph(
    weights: Mapping[str, np.ndarray], *, embed_weights: bool, spec: ModelSpec = MSD
) -> bytes:
    """musicnn as a serialized ONNX model (needs the ``onnx`` package).

    ``spec`` names the graph and sizes its tag output; the network is the same for
    every checkpoint.

    Layout: (batch, channels, time, frequency). With ``embed_weights`` the arrays are
    stored in the model (for tools such as quantisation); without, each initializer
    is a placeholder marked external, which :class:`engine.neural.musicnn.Musicnn`
    fills from the ``.npz`` when it opens the session.

    Mirrors :func:`engine.neural.musicnn.reference_forward`.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from engine.neural import musicnn as m

    arrays = m.onnx_initializers(weights)
    nodes: list[onnx.NodeProto] = []
    counter = iter(range(1_000_000))

    def node(op: str, inputs: list[str], out: str = "", **attributes: object) -> str:
        out = out or f"{op.lower()}_{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attributes))
        return out

    def bn(x: str, scope: str, out: str = "") -> str:
        params = [f"{scope}/{p}" for p in ("gamma", "beta", "moving_mean", "moving_variance")]
        return node("BatchNormalization", [x, *params], out, epsilon=m.BN_EPSILON)

    def conv_relu_bn(x: str, conv: str, scope: str, pads: list[int]) -> str:
        y = node("Conv", [x, f"{conv}/kernel", f"{conv}/bias"], pads=pads)
        return bn(node("Relu", [y]), scope)

    constants = [numpy_helper.from_array(np.array([1], dtype=np.int64), "axis_1")]
    x = bn(node("Unsqueeze", [m.INPUT, "axis_1"]), m.INPUT_BN)  # (batch, 1, time, freq)
    front = []
    for conv, scope in m.TIMBRAL:  # time padded 3/3, valid in frequency
        y = conv_relu_bn(x, conv, scope, [3, 0, 3, 0])
        front.append(node("ReduceMax", [y], axes=[3], keepdims=0))
    for conv, scope in m.TEMPORAL:  # SAME padding
        before, after = m.same_padding(int(weights[f"{conv}/kernel"].shape[0]))
        y = conv_relu_bn(x, conv, scope, [before, 0, after, 0])
        front.append(node("ReduceMax", [y], axes=[3], keepdims=0))
    frontend = node("Concat", front, axis=1)  # (batch, 561, time)
    pad = [m.MIDEND_PAD, m.MIDEND_PAD]
    (c1, s1), (c2, s2), (c3, s3) = m.MIDEND
    mid1 = conv_relu_bn(frontend, c1, s1, pad)
    mid2 = node("Add", [conv_relu_bn(mid1, c2, s2, pad), mid1])
    mid3 = node("Add", [conv_relu_bn(mid2, c3, s3, pad), mid2])
    features = node("Concat", [frontend, mid1, mid2, mid3], axis=1)  # (batch, 753, time)
    most = node("ReduceMax", [features], axes=[2], keepdims=1)
    mean = node("ReduceMean", [features], axes=[2], keepdims=1)
    # (batch, 753, 2) flattened: max and mean interleaved, as musicnn's flatten does
    pooled = bn(node("Flatten", [node("Concat", [most, mean], axis=2)], axis=1), m.POOL_BN)
    dense, scope = m.DENSE
    hidden = node("Relu", [node("Gemm", [pooled, f"{dense}/kernel", f"{dense}/bias"])])
    bn(hidden, scope, m.EMBEDDING)
    logits = node("Gemm", [m.EMBEDDING, f"{m.OUTPUT}/kernel", f"{m.OUTPUT}/bias"])
    node("Sigmoid", [logits], m.TAGS)

    initializers = []
    for name in sorted(arrays):
        if embed_weights:
            initializers.append(numpy_helper.from_array(arrays[name], name))
        else:
            tensor = TensorProto(name=name, data_type=TensorProto.FLOAT)
            tensor.dims.extend(arrays[name].shape)
            tensor.data_location = TensorProto.EXTERNAL
            entry = tensor.external_data.add()
            entry.key, entry.value = "location", external_location(spec.stem)
            initializers.append(tensor)
    graph = helper.make_graph(
        nodes,
        spec.stem,
        [helper.make_tensor_value_info(m.INPUT, TensorProto.FLOAT, ["batch", m.FRAMES, m.N_MELS])],
        [
            helper.make_tensor_value_info(
                m.EMBEDDING, TensorProto.FLOAT, ["batch", m.EMBEDDING_SIZE]
            ),
            helper.make_tensor_value_info(m.TAGS, TensorProto.FLOAT, ["batch", len(spec.tags)]),
        ],
        initializers + constants,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="engine.neural.convert",  # its old name: the shipped graph keeps its bytes
        doc_string=f"musicnn {spec.short} (ISC licence; see {spec.stem}.json)",
    )
    model.ir_version = 8  # what opset 17 needs; keeps older onnxruntime able to load it
    if embed_weights:
        onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def convert(source: Source, out: Path) -> dict[str, object]:
    """Write ``<stem>.{npz,onnx,json}`` for ``source``'s checkpoint into ``out`` and
    return the card."""
    spec = MODELS[source.model]
    if source.version != PACKAGE_VERSION:
        raise CheckpointError(f"expected {PACKAGE} {PACKAGE_VERSION}, found {source.version!r}")
    if source.labels != spec.tags:
        raise CheckpointError(
            f"musicnn's {spec.labels} differ from the tags this module names for {spec.checkpoint}"
        )
    if not source.licence.strip():
        # ISC: the notice must travel with every copy, so no notice, no conversion
        raise CheckpointError("no licence text found next to the checkpoint")
    weights = model_weights(source)
    total = sum(a.size for a in weights.values())
    if total != PARAMETERS:
        raise CheckpointError(f"{total} parameters, expected {PARAMETERS}")
    npz = npz_bytes(weights)
    onnx_model = build_graph(weights, embed_weights=False, spec=spec)
    model_card = card(source, weights, npz, onnx_model)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{spec.stem}.npz").write_bytes(npz)
    (out / f"{spec.stem}.onnx").write_bytes(onnx_model)
    text = json.dumps(model_card, indent=2, ensure_ascii=False) + "\n"
    (out / f"{spec.stem}.json").write_text(text, encoding="utf-8")
    return model_card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.musicnn_convert", description=__doc__)
    parser.add_argument(
        "source",
        nargs="?",
        type=Path,
        help="musicnn-0.1.0-py3-none-any.whl, or a folder holding musicnn/<MODEL> "
        "(default: the installed musicnn package)",
    )
    parser.add_argument(
        "--model",
        choices=sorted(MODELS),
        default=MODEL,
        help=f"the checkpoint to convert (default: {MODEL}); "
        + ", ".join(f"{s.checkpoint} -> {s.stem}" for s in MODELS.values()),
    )
    parser.add_argument(
        "--out", type=Path, default=Path("models"), help="output folder (default: models/)"
    )
    args = parser.parse_args(argv)
    try:
        model_card = convert(read_source(args.source or _default_source(), args.model), args.out)
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    stem = MODELS[args.model].stem
    print(f"{model_card['parameters']:,} parameters -> {args.out}/{stem}.{{npz,onnx,json}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
