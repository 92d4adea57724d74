"""Bad input: every kind of broken, odd or vanishing file a real music folder holds.

One generated corpus is scanned and analysed once (module fixture); each test then
checks one promise: every file ends up analysed or recorded with a readable reason,
the scan finishes, the good files are unaffected and the counts add up.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import engine.ingest.scan
from engine.analysis.decode import DecodeError, load_mono
from engine.analysis.features import analyze_file
from engine.datasets.synth import render, write_audio
from engine.ingest.scan import ScanReport
from engine.library import AnalyzeReport, Library, run

SR = 22050
ROOT = Path(__file__).resolve().parents[2]

ANALYSED = "analysed"
UNREADABLE = "unreadable"  # recorded by the scan (stage "scan"), not in the library
NOT_ANALYSABLE = "not analysable"  # in the library, recorded by the analysis
SCAN_PROBLEM = "scan problem"  # a folder the scan could not list: reported, nothing recorded


@dataclass(frozen=True)
class Expect:
    """What Encore must do with one kind of file."""

    outcome: str  # ANALYSED, UNREADABLE, NOT_ANALYSABLE or SCAN_PROBLEM
    says: str  # the table's wording for the product owner
    reason: str = ""  # regular expression the recorded reason must match
    seconds: tuple[float, float] = (0.0, 0.0)  # accepted duration range when analysed


#: kind -> what Encore does with it. The first test prints it with the reasons seen
#: (``pytest -s``); the README's "When files are bad" section quotes it.
EXPECTED: dict[str, Expect] = {
    "zero-byte file": Expect(UNREADABLE, "listed as unreadable: empty file (0 bytes)", r"^empty"),
    "truncated mp3/flac/ogg (cut to a third)": Expect(
        ANALYSED,
        "analysed from the part that is there, listed with the length that decodes and as "
        "damaged: its header promised more (mp3, flac) or its last page is missing (ogg)",
        r"^damaged or incomplete: (only 0:0\d\.\d of 0:2\d decodes"
        r"|cut off after 0:0\d\.\d \(its end is missing\))$",
        seconds=(5, 8),
    ),
    "truncated to the header (flac)": Expect(
        NOT_ANALYSABLE,
        "in the library, listed as not analysable: no audio samples could be decoded",
        r"no audio samples could be decoded",
    ),
    "random bytes named .mp3/.flac/.ogg": Expect(
        UNREADABLE,
        "listed as unreadable: not a recognised audio file / corrupt",
        r"not a recognised audio file|unreadable or corrupt audio file",
    ),
    "text file named .mp3": Expect(
        UNREADABLE, "listed as unreadable: corrupt audio file", r"unreadable or corrupt"
    ),
    "valid FLAC named .mp3": Expect(ANALYSED, "analysed (read by content)", seconds=(4.9, 5.1)),
    "digital silence (30 s of zeros)": Expect(
        ANALYSED, "analysed (finite features)", seconds=(29.9, 30.1)
    ),
    "1-second clip": Expect(ANALYSED, "analysed", seconds=(0.9, 1.1)),
    "8 kHz mono": Expect(ANALYSED, "analysed (resampled)", seconds=(4.9, 5.1)),
    "96 kHz 24-bit stereo": Expect(ANALYSED, "analysed (resampled)", seconds=(4.9, 5.1)),
    "5.1 surround (6 channels)": Expect(ANALYSED, "analysed (down-mixed)", seconds=(4.9, 5.1)),
    "unicode, emoji and spaces in names": Expect(
        ANALYSED, "analysed; title from the name as written", seconds=(4.9, 5.1)
    ),
    "symlink loop (folder link to its parent)": Expect(
        ANALYSED, "the scan ends; each file indexed once", seconds=(4.9, 5.1)
    ),
    "unreadable file (chmod 000)": Expect(
        UNREADABLE, "listed as unreadable: permission denied", r"^permission denied$"
    ),
    "file deleted mid-scan": Expect(
        UNREADABLE,
        "listed as moved or deleted; dropped by the next scan",
        r"^file not found \(moved or deleted\)$",
    ),
    "folder removed mid-scan (after listing)": Expect(
        UNREADABLE,
        "its files listed as moved or deleted; dropped by the next scan",
        r"^file not found \(moved or deleted\)$",
    ),
    "folder removed mid-scan (before listing)": Expect(
        SCAN_PROBLEM, "reported as a folder that cannot be read; the scan goes on"
    ),
    "ordinary tracks beside all of these": Expect(
        ANALYSED, "analysed, same vectors as on their own", seconds=(5.9, 6.1)
    ),
}


@dataclass
class Corpus:
    root: Path
    kinds: dict[str, list[Path]] = field(default_factory=dict)  # kind -> files

    def add(self, kind: str, path: Path) -> Path:
        assert kind in EXPECTED, kind
        self.kinds.setdefault(kind, []).append(path)
        return path


@dataclass
class Scanned:
    corpus: Corpus
    library: Library
    scan: ScanReport
    analysis: AnalyzeReport
    walked_away: Path  # the folder removed while the scan was listing folders


def _cut(path: Path, keep: int) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:keep])


def make_corpus(root: Path) -> Corpus:
    """Write one file (or more) of every kind in EXPECTED except the unreadable one."""
    c = Corpus(root)
    root.mkdir(parents=True, exist_ok=True)
    c.add("zero-byte file", root / "empty.mp3").write_bytes(b"")
    c.add("zero-byte file", root / "empty.flac").write_bytes(b"")
    for ext in ("mp3", "flac", "ogg"):
        path = c.add("truncated mp3/flac/ogg (cut to a third)", root / f"truncated.{ext}")
        write_audio(path, render("Noise Rock", 2, seconds=20), SR)
        _cut(path, path.stat().st_size // 3)
        noise = np.random.default_rng(len(ext)).bytes(40_000)
        c.add("random bytes named .mp3/.flac/.ogg", root / f"random.{ext}").write_bytes(noise)
    header = c.add("truncated to the header (flac)", root / "header-only.flac")
    write_audio(header, render("Noise Rock", 3, seconds=5), SR)
    _cut(header, header.read_bytes().find(b"\xff\xf8"))  # the first audio frame's sync code
    for name in (".mp3", "lyrics.mp3"):
        c.add("text file named .mp3", root / name).write_text("la la la\n" * 200)
    sf.write(
        c.add("valid FLAC named .mp3", root / "really-flac.mp3"),
        render("Ambient Pads", 1, seconds=5),
        SR,
        format="FLAC",
    )
    sf.write(c.add("digital silence (30 s of zeros)", root / "silence.flac"), np.zeros(30 * SR), SR)
    sf.write(c.add("1-second clip", root / "one-second.wav"), render("Bright Plucks", 1, 1.0), SR)
    y8k = render("Bright Plucks", 2, seconds=5, sr=8000)
    sf.write(c.add("8 kHz mono", root / "8k-mono.wav"), y8k, 8000)
    y96 = render("Bell Minimal", 4, seconds=5, sr=96000)
    sf.write(
        c.add("96 kHz 24-bit stereo", root / "96k-24bit.flac"),
        np.stack([y96, -0.5 * y96], axis=1),
        96000,
        subtype="PCM_24",
    )
    y = render("Pulse Techno", 5, seconds=5)
    surround = np.stack([y * g for g in (1.0, 0.8, 0.6, 0.3, 0.5, 0.5)], axis=1).astype(np.float32)
    sf.write(c.add("5.1 surround (6 channels)", root / "surround-5.1.wav"), surround, SR)
    odd = root / "Mötley 🎸" / "  Spaced   Album  "
    odd.mkdir(parents=True)
    for path in (root / "Ünïcødé 🎵  song  .flac", odd / "01 - 東京 ☂.ogg"):
        write_audio(
            c.add("unicode, emoji and spaces in names", path), render("Ambient Pads", 6, 5), SR
        )
    loop = root / "loop"
    loop.mkdir()
    write_audio(
        c.add("symlink loop (folder link to its parent)", loop / "inside.ogg"),
        render("Bell Minimal", 7, 5),
        SR,
    )
    (loop / "again").symlink_to(loop, target_is_directory=True)
    # Named to come last, so they are still on disk when the first file is read.
    gone = c.add("file deleted mid-scan", root / "zz-vanishes.flac")
    write_audio(gone, render("Ambient Pads", 8, 5), SR)
    folder = root / "zz-vanishing-folder"
    folder.mkdir()
    for name in ("a.flac", "b.ogg"):
        path = c.add("folder removed mid-scan (after listing)", folder / name)
        write_audio(path, render("Noise Rock", 9, 5), SR)
    walked = root / "zzz-removed-while-listing"
    walked.mkdir()
    write_audio(walked / "c.flac", render("Noise Rock", 10, 5), SR)
    good = root / "good"
    good.mkdir()
    for i, (style, ext) in enumerate(
        (("Pulse Techno", "mp3"), ("Ambient Pads", "ogg"), ("Bell Minimal", "flac"))
    ):
        path = c.add("ordinary tracks beside all of these", good / f"{style}.{ext}")
        write_audio(path, render(style, 20 + i, seconds=6), SR)
    return c


def _once(action: Callable[[], None], fn: Callable[..., object]) -> Callable[..., object]:
    """``fn`` that runs ``action`` before its first call (to make things vanish mid-scan)."""
    done = False

    def wrapped(*args: object, **kwargs: object) -> object:
        nonlocal done
        if not done:
            done = True
            action()
        return fn(*args, **kwargs)

    return wrapped


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scanned]:
    """The corpus, scanned (files and a folder vanishing on the way) and analysed."""
    base = tmp_path_factory.mktemp("bad-input")
    corpus = make_corpus(base / "music")
    root = corpus.root
    walked = root / "zzz-removed-while-listing"

    def vanish() -> None:  # at the first tag read: every file has been listed by then
        (root / "zz-vanishes.flac").unlink()
        shutil.rmtree(root / "zz-vanishing-folder")

    library = Library(base / "home")
    with pytest.MonkeyPatch.context() as mp:
        # the walk checks each file name: the first check removes a folder not listed yet
        mp.setattr(
            engine.ingest.scan,
            "is_audio_name",
            _once(lambda: shutil.rmtree(walked), engine.ingest.scan.is_audio_name),
        )
        mp.setattr(engine.ingest.scan, "read_track", _once(vanish, engine.ingest.scan.read_track))
        scan_report = run(library.scan([str(root)]))
    analysis = run(library.analyze(workers=2))
    yield Scanned(corpus, library, scan_report, analysis, walked)
    library.close()


def _failures(library: Library) -> dict[str, tuple[str, str]]:
    return {f.path: (f.stage, f.reason) for f in library.failures()}


#: Words that mean a reason is a programmer's error, not a sentence for the user.
_UNREADABLE_REASON = re.compile(r"Traceback|\[Errno|object at 0x|\b\w+(Error|Exception)\b|^\s*$")


@pytest.mark.slow
def test_every_kind_ends_as_its_table_says(scanned: Scanned) -> None:
    library, corpus = scanned.library, scanned.corpus
    tracks = {t.path: t for t in library.tracks()}
    failures = _failures(library)
    ids, vectors = library._store.features()
    vector_of = dict(zip(ids.tolist(), vectors, strict=True))
    checked = 0
    seen: dict[str, set[str]] = {}
    for kind, files in corpus.kinds.items():
        expect = EXPECTED[kind]
        for path in map(str, files):
            checked += 1
            seen.setdefault(kind, set()).add(failures.get(path, ("", expect.outcome))[1])
            if expect.outcome == ANALYSED:
                track = tracks.get(path)
                assert track is not None, (kind, path, failures.get(path))
                assert track.analysed and not track.error, (kind, path, track.error)
                v = vector_of[track.id]
                assert v.shape == (98,) and np.isfinite(v).all(), (kind, path)
                low, high = expect.seconds
                assert track.duration is not None and low <= track.duration <= high, (
                    kind,
                    path,
                    track.duration,
                )
                if path in failures:  # analysed, but less audio than the header claims
                    stage, reason = failures[path]
                    assert stage == "damaged" and expect.reason, (kind, path, reason)
                    assert re.search(expect.reason, reason), (kind, path, reason)
                else:  # every cut file is seen, by its header's length or its last page
                    assert not kind.startswith("truncated"), (kind, path)
            elif expect.outcome == UNREADABLE:
                assert path not in tracks, (kind, path)
                stage, reason = failures[path]
                assert stage == "scan" and re.search(expect.reason, reason), (kind, reason)
            else:
                assert path in tracks and not tracks[path].analysed, (kind, path)
                stage, reason = failures[path]
                assert stage == "analyze" and re.search(expect.reason, reason), (kind, reason)
    assert checked == sum(len(files) for files in corpus.kinds.values()) > 25
    width = max(map(len, EXPECTED))
    print("\nkind -> what Encore does (reasons recorded in this run)")
    for kind, expect in EXPECTED.items():
        observed = "; ".join(sorted(seen.get(kind, ()))) or "checked by its own test"
        print(f"{kind:<{width}}  {expect.says}  [{observed}]")


@pytest.mark.slow
def test_names_loops_and_vanished_folders(scanned: Scanned) -> None:
    library, root = scanned.library, scanned.corpus.root
    paths = [t.path for t in library.tracks()]
    # the link loop ends, and the file behind it is indexed once, by its real path
    assert [p for p in paths if p.endswith("inside.ogg")] == [str(root / "loop" / "inside.ogg")]
    tokyo = library._store.track_by_path(
        str(root / "Mötley 🎸" / "  Spaced   Album  " / "01 - 東京 ☂.ogg")
    )
    assert tokyo is not None and tokyo.title == "東京 ☂" and tokyo.tracknumber == 1
    emoji = library._store.track_by_path(str(root / "Ünïcødé 🎵  song  .flac"))
    assert emoji is not None and emoji.title == "Ünïcødé 🎵  song"
    # a folder removed before it was listed is a problem of the scan, not a failed file
    assert len(scanned.scan.problems) == 1
    assert scanned.scan.problems[0] == (
        f"cannot read folder {scanned.walked_away}: No such file or directory"
    )
    assert not any(p.startswith(str(scanned.walked_away)) for p in paths)
    assert not any(f.path.startswith(str(scanned.walked_away)) for f in library.failures())


@pytest.mark.slow
def test_reasons_are_sentences_not_tracebacks(scanned: Scanned) -> None:
    failures = scanned.library.failures()
    assert failures
    for failure in failures:
        assert not _UNREADABLE_REASON.search(failure.reason), failure
        assert "\n" not in failure.reason and len(failure.reason) < 120, failure
        assert str(scanned.corpus.root) not in failure.reason, failure


@pytest.mark.slow
def test_the_decoder_explains_itself_in_the_same_words(scanned: Scanned) -> None:
    """A file can turn bad after its scan (replaced, damaged): analysis says why too."""
    unreadable = [k for k, e in EXPECTED.items() if e.outcome == UNREADABLE]
    files = [p for k in unreadable for p in scanned.corpus.kinds.get(k, []) if p.exists()]
    assert len(files) >= 6
    for path in files:
        with pytest.raises(DecodeError) as caught:
            load_mono(path)
        reason = str(caught.value)
        assert not _UNREADABLE_REASON.search(reason), (path.name, reason)
        assert str(path) not in reason and "'" not in reason, (path.name, reason)


@pytest.mark.slow
def test_counts_add_up(scanned: Scanned) -> None:
    corpus, library, scan, analysis = (
        scanned.corpus,
        scanned.library,
        scanned.scan,
        scanned.analysis,
    )
    by_outcome = {ANALYSED: 0, UNREADABLE: 0, NOT_ANALYSABLE: 0}
    for kind, files in corpus.kinds.items():
        by_outcome[EXPECTED[kind].outcome] += len(files)
    assert not scan.cancelled and not analysis.cancelled
    # every listed file was added or failed; the walked-away folder's file was never listed
    assert scan.added == by_outcome[ANALYSED] + by_outcome[NOT_ANALYSABLE]
    assert scan.failed == by_outcome[UNREADABLE]
    assert (scan.updated, scan.removed, scan.unchanged) == (0, 0, 0)
    assert analysis.analysed == by_outcome[ANALYSED]
    assert analysis.failed == by_outcome[NOT_ANALYSABLE]
    counts = library.status()
    assert counts["tracks"] == scan.added
    assert counts["analysed"] == analysis.analysed and counts["pending"] == 0
    assert counts["unreadable"] == scan.failed
    assert counts["analysis_failed"] == analysis.failed
    failed = [f for f in library.failures() if f.stage != "damaged"]
    assert counts["failed"] == len(failed) == scan.failed + analysis.failed
    assert analysis.damaged == len(library.failures()) - len(failed) >= 1  # truncated FLAC


@pytest.mark.slow
def test_good_files_are_unaffected_by_their_neighbours(scanned: Scanned) -> None:
    library = scanned.library
    ids, vectors = library._store.features()
    vector_of = dict(zip(ids.tolist(), vectors, strict=True))
    for path in scanned.corpus.kinds["ordinary tracks beside all of these"]:
        track = library._store.track_by_path(str(path))
        alone = analyze_file(path)  # in this process, with nothing else around
        np.testing.assert_allclose(vector_of[track.id], alone, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_a_rescan_retries_nothing_and_forgets_what_vanished(scanned: Scanned) -> None:
    library = scanned.library
    before = _failures(library)
    report = run(library.scan())
    assert (report.added, report.updated, report.failed) == (0, 0, 0)
    after = _failures(library)
    vanished = [
        str(p)
        for kind in ("file deleted mid-scan", "folder removed mid-scan (after listing)")
        for p in scanned.corpus.kinds[kind]
    ]
    assert all(p in before for p in vanished)
    assert set(after) == set(before) - set(vanished)


# -- a file nobody may read ------------------------------------------------------------

UNREADABLE_PROBE = """
import json, sys
from engine.analysis.decode import DecodeError, load_mono
from engine.library import Library, run
home, music, locked = sys.argv[1:4]
library = Library(home)
report = run(library.scan([music]))
try:
    load_mono(locked)
    decoded = "decoded"
except DecodeError as exc:
    decoded = str(exc)
print(json.dumps({
    "added": report.added,
    "failed": report.failed,
    "tracks": [t.path for t in library.tracks()],
    "failures": [[f.path, f.stage, f.reason] for f in library.failures()],
    "decode": decoded,
}))
"""


def _without_root_override() -> None:
    """In the child before exec: drop the capabilities that let root read any file.

    Root ignores permission bits through CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH.
    Removing both from the bounding set means the exec'd Python runs as a root that
    obeys them, like any user: the honest way to test chmod 000 when tests run as root.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for cap in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


def test_an_unreadable_file_is_listed_and_the_rest_is_read(tmp_path: Path) -> None:
    """chmod 000, scanned in a subprocess; as root, one without root's read-anything
    capabilities (see :func:`_without_root_override`)."""
    import json

    music, home = tmp_path / "music", tmp_path / "home"
    music.mkdir()
    readable, locked = music / "fine.flac", music / "locked.flac"
    for path in (readable, locked):
        sf.write(path, render("Bell Minimal", 1, seconds=2), SR)
    locked.chmod(0)
    result = subprocess.run(
        [sys.executable, "-c", UNREADABLE_PROBE, str(home), str(music), str(locked)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        preexec_fn=_without_root_override if os.geteuid() == 0 else None,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    # the probe could not read the file itself, so the permission really applied
    assert out["decode"] == "permission denied"
    assert (out["added"], out["failed"]) == (1, 1)
    assert out["tracks"] == [str(readable)]
    assert out["failures"] == [[str(locked), "scan", "permission denied"]]
    assert re.search(EXPECTED["unreadable file (chmod 000)"].reason, out["failures"][0][2])


# -- a 1-hour file ---------------------------------------------------------------------

MEMORY_PROBE = """
import sys
import numpy as np
import engine.analysis.feed
from engine.analysis.features import analyze_file

real, excerpts = engine.analysis.feed.read_excerpts_native, []

def counted(*args: object, **kwargs: object) -> tuple[int, list[np.ndarray]] | None:
    found = real(*args, **kwargs)
    excerpts.extend(found[1] if found else [])
    return found

engine.analysis.feed.read_excerpts_native = counted
vector = analyze_file(sys.argv[1])  # the default: excerpts, as a scan analyses
print(len(excerpts), bool(np.isfinite(vector).all()))
# VmHWM, not ru_maxrss: the latter keeps the forking parent's peak across exec
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")))
"""


@pytest.mark.slow
def test_a_one_hour_file_is_analysed_in_bounded_memory(tmp_path: Path) -> None:
    """The default (excerpt) path on an hour of 44.1 kHz stereo, peak RSS of a fresh process."""
    piece = render("Ambient Pads", 1, seconds=10, sr=44100)
    stereo = np.stack([piece, piece[::-1]], axis=1)
    path = tmp_path / "one-hour.flac"
    with sf.SoundFile(path, "w", samplerate=44100, channels=2, format="FLAC") as f:
        for _ in range(360):
            f.write(stereo)
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    counts, peak_kb = result.stdout.strip().splitlines()[-2:]
    assert counts == "8 True"  # eight excerpts decoded by seeking, finite features
    peak_mb = int(peak_kb) / 1024
    print(f"\npeak RSS analysing a 1-hour file (excerpts): {peak_mb:.0f} MB")
    # ~275 MB measured: the libraries (~260 MB) plus the excerpts. The decoded hour
    # alone would be 300 MB as float32 at 22 050 Hz mono, 1.3 GB at 44.1 kHz stereo.
    assert peak_mb < 600
