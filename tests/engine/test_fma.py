"""FMA support: fma_metadata CSVs (in the dataset's exact header layout) matched to scanned
files by the track id in their names, through the engine and through the command line."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from engine.datasets import fma
from engine.datasets.synth import render, write_audio
from engine.library import Library, run
from tests.helpers import encore

# tracks.csv columns: a subset of the real ones, in the real (top level, second level) order.
TRACK_COLUMNS = [
    ("album", "comments"),
    ("album", "id"),
    ("album", "title"),
    ("artist", "id"),
    ("artist", "name"),
    ("set", "split"),
    ("set", "subset"),
    ("track", "genre_top"),
    ("track", "genres"),
    ("track", "genres_all"),
    ("track", "title"),
]
# FMA id -> (title, artist, album, genre_top, genres); 99 is in the metadata but not on disk.
TRACKS = {
    2: ("Food", "AWOL", "AWOL - A Way Of Life", "Hip-Hop", "[21]"),
    3: ("Electric Ave", "AWOL", "AWOL - A Way Of Life", "Hip-Hop", "[21]"),
    5: ('He said "hi", then left', "AWOL", "AWOL - A Way Of Life", "", "[21, 76]"),
    10: ("Freeway", "Kurt Vile", "Constant Hitmaker", "Pop", "[10]"),
    20: ("Spiritual Level", "Nicky Cook", "", "Pop", "[10, 76]"),
    26: ("Où est la fête ?", "Nicky Cook", "Niris", "", "[10, 76]"),
    99: ("Not Downloaded", "Nobody", "Nowhere", "Pop", "[10]"),
}
EXPECTED_GENRE = {2: "Hip-Hop", 3: "Hip-Hop", 5: "Hip-Hop", 10: "Pop", 20: "Pop", 26: "Pop"}
GENRES = [(10, 13845, 0, "Pop", 10), (21, 8389, 0, "Hip-Hop", 21), (76, 1350, 10, "Exp Pop", 10)]
FEATURE_COLUMNS = [
    ("chroma_cens", "kurtosis", "01"),
    ("chroma_cens", "kurtosis", "02"),
    ("mfcc", "mean", "01"),
    ("mfcc", "mean", "02"),
    ("spectral_centroid", "mean", "01"),
    ("zcr", "std", "01"),  # constant: standardising must not divide by zero
]
# Files on disk: the FMA ids above, one FMA-style name without metadata, one ordinary name.
FMA_FILES = ["000/000002.wav", "000/000003.wav", "000/000005.wav", "000/000010.wav"]
FMA_FILES += ["000/000020.wav", "000/000026.wav"]
OTHER_FILES = ["000/000007.wav", "other/01 Intro.wav"]


def feature_rows() -> dict[int, np.ndarray]:
    """float32 rows in which the two genres are far apart, on very different scales."""
    rng = np.random.default_rng(7)
    rows = {}
    for fid, genre in [*EXPECTED_GENRE.items(), (99, "Pop")]:
        offset = 0.0 if genre == "Hip-Hop" else 1.0
        row = rng.normal(offset, 0.05, len(FEATURE_COLUMNS)) * [1, 1, 100, 100, 1000, 1]
        row[-1] = 0.25
        rows[fid] = row.astype(np.float32)
    return rows


def write_rows(path: Path, rows: list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def write_metadata(folder: Path) -> Path:
    """An fma_metadata folder: tracks.csv (two header rows, then the ``track_id,,,`` line),
    genres.csv (one header row) and features.csv (three header rows, then ``track_id,,,``)."""
    folder.mkdir(parents=True)
    blank = [""] * len(TRACK_COLUMNS)
    rows: list[list[object]] = [
        ["", *(top for top, _ in TRACK_COLUMNS)],
        ["", *(second for _, second in TRACK_COLUMNS)],
        ["track_id", *blank],
    ]
    for fid, (title, artist, album, genre_top, genres) in TRACKS.items():
        values = {
            ("album", "comments"): 0,
            ("album", "id"): 1,
            ("album", "title"): album,
            ("artist", "id"): 1,
            ("artist", "name"): artist,
            ("set", "split"): "training",
            ("set", "subset"): "small",
            ("track", "genre_top"): genre_top,
            ("track", "genres"): genres,
            ("track", "genres_all"): genres,
            ("track", "title"): title,
        }
        rows.append([fid, *(values[c] for c in TRACK_COLUMNS)])
    write_rows(folder / "tracks.csv", rows)
    write_rows(
        folder / "genres.csv", [["genre_id", "#tracks", "parent", "title", "top_level"], *GENRES]
    )
    features: list[list[object]] = [
        [level, *(c[n] for c in FEATURE_COLUMNS)]
        for n, level in enumerate(["feature", "statistics", "number"])
    ]
    features.append(["track_id", *[""] * len(FEATURE_COLUMNS)])
    features += [[fid, *(repr(float(v)) for v in row)] for fid, row in feature_rows().items()]
    write_rows(folder / "features.csv", features)
    return folder


@pytest.fixture
def fma_dirs(tmp_path):
    """(audio folder, fma_metadata folder) with 1-second synthetic files named like FMA's."""
    audio = tmp_path / "fma_small"
    for n, name in enumerate(FMA_FILES + OTHER_FILES):
        path = audio / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_audio(path, render("Bright Plucks", n, seconds=1.0), 22050)
    return audio, write_metadata(tmp_path / "fma_metadata")


def test_track_ids_come_from_six_digit_file_names():
    assert fma.track_id_from_path("fma_large/000/000002.mp3") == 2
    assert fma.track_id_from_path(Path("155/155320.mp3")) == 155320
    assert fma.track_id_from_path("/music/Album/01 Intro.mp3") is None
    assert fma.track_id_from_path("/music/Album/01.mp3") is None  # not FMA track 1
    assert fma.track_id_from_path("000/0000002.mp3") is None


def test_tracks_csv_is_read_by_id_with_the_genre_fallback(tmp_path):
    tracks = fma.read_tracks(write_metadata(tmp_path / "meta"))
    assert set(tracks) == set(TRACKS)  # the `track_id,,,` line is not a track
    assert tracks[2] == {
        "title": "Food",
        "artist": "AWOL",
        "album": "AWOL - A Way Of Life",
        "genre": "Hip-Hop",
    }
    assert tracks[5]["title"] == 'He said "hi", then left'  # quoted comma and quotes
    assert tracks[26]["title"] == "Où est la fête ?"
    assert tracks[20]["album"] == ""
    # no genre_top: the first of the genre ids, by its title in genres.csv
    assert {fid: tracks[fid]["genre"] for fid in EXPECTED_GENRE} == EXPECTED_GENRE


def test_features_csv_is_read_as_float32_rows_by_id(tmp_path):
    ids, matrix, names = fma.read_features(write_metadata(tmp_path / "meta"))
    expected = feature_rows()
    assert ids.dtype == np.int64 and ids.tolist() == list(expected)
    assert matrix.dtype == np.float32 and matrix.shape == (len(expected), len(FEATURE_COLUMNS))
    np.testing.assert_array_equal(matrix, np.stack(list(expected.values())))
    assert names[0] == "chroma_cens/kurtosis/01" and names[-1] == "zcr/std/01"


def test_import_attaches_tags_and_features_by_track_id(tmp_path, fma_dirs):
    audio, metadata = fma_dirs
    library = Library(tmp_path / "home")
    try:
        run(library.scan([str(audio)]))
        before = {t.path: t for t in library.tracks()}
        report = fma.import_metadata(library._store, metadata, features=True)
        assert (report.matched, report.unmatched) == (6, 2)
        assert report.tags_updated == 6 and report.features_imported == 6
        assert "6 FMA tracks matched by id, 2 other files" in report.summary()

        by_path = {t.path: t for t in library.tracks()}
        for name in FMA_FILES:
            fid = fma.track_id_from_path(name)
            track = by_path[str(audio / name)]
            title, artist, album, _, _ = TRACKS[fid]
            assert (track.title, track.artist, track.genre) == (title, artist, EXPECTED_GENRE[fid])
            # a blank FMA album keeps the file's own (here: its folder name)
            assert track.album == (album or before[track.path].album)
        for name in OTHER_FILES:  # untouched
            path = str(audio / name)
            assert by_path[path].title == before[path].title
            assert by_path[path].genre == before[path].genre == ""

        ids, matrix = library._store.external_features("fma")
        expected = feature_rows()
        assert ids.dtype == np.int64 and matrix.dtype == np.float32
        fma_of = {t.id: fma.track_id_from_path(t.path) for t in by_path.values()}
        assert sorted(fma_of[i] for i in ids.tolist()) == sorted(EXPECTED_GENRE)
        for i, row in zip(ids.tolist(), matrix, strict=True):
            np.testing.assert_array_equal(row, expected[fma_of[i]])

        again = fma.import_metadata(library._store, metadata, features=False)
        assert (again.matched, again.tags_updated, again.features_imported) == (6, 0, 0)
        assert len(library._store.external_features("fma")[0]) == 6
    finally:
        library.close()


def test_store_rules_for_tags_and_external_features(tmp_path, fma_dirs):
    audio, _ = fma_dirs
    library = Library(tmp_path / "home")
    try:
        store = library._store
        ids, matrix = store.external_features("fma")
        assert ids.shape == (0,) and matrix.shape == (0, 0) and matrix.dtype == np.float32
        run(library.scan([str(audio)]))
        first, second = (t.id for t in store.tracks()[:2])
        with pytest.raises(ValueError, match="not a tag field: path"):
            store.update_tags([(first, {"title": "X"}), (second, {"path": "/etc/passwd"})])
        assert store.tracks_by_ids([first])[first].title != "X"  # nothing was written
        assert store.update_tags([(first, {"title": "X", "albumartist": "Y"}), (999, {})]) == 1
        assert store.tracks_by_ids([first])[first].albumartist == "Y"

        store.put_external_features("fma", [(first, np.ones(3)), (999, np.ones(3))])
        ids, matrix = store.external_features("fma")
        assert ids.tolist() == [first] and matrix.tolist() == [[1.0, 1.0, 1.0]]
        with pytest.raises(ValueError, match="one length"):
            store.put_external_features("fma", [(second, np.ones(4))])
        assert store.external_features("other")[1].shape == (0, 0)
    finally:
        library.close()


def test_cli_imports_and_evaluates_fma_features(tmp_path, fma_dirs):
    from desktop.launch import wants_cli

    assert wants_cli(["import-fma", "fma_metadata"])  # not mistaken for a GUI launch
    audio, metadata = fma_dirs
    home = tmp_path / "home"
    assert "8 added" in encore(home, "scan", "--no-analyze", str(audio)).stdout
    out = encore(home, "import-fma", str(metadata), "--features").stdout
    assert out.startswith("FMA import: 6 FMA tracks matched by id, 2 other files, 6 retagged")
    assert "6 feature rows imported" in out

    tracks = json.loads(encore(home, "tracks", "--json").stdout)
    assert {t["title"] for t in tracks} >= {TRACKS[fid][0] for fid in EXPECTED_GENRE}

    text = encore(home, "evaluate", "--features", "fma", "--label", "genre", "-k", "2").stdout
    assert text.startswith("precision@2 by genre over 6 tracks (fma): 100.0%")
    assert "(chance 40.0%, majority class 50.0%)" in text
    assert "Hip-Hop" in text and "Pop" in text
    result = json.loads(
        encore(home, "evaluate", "--features", "fma", "--label", "artist", "--json").stdout
    )
    assert set(result) == {"label", "k", "n", "precision", "chance", "majority", "per_label"}
    assert result["label"] == "artist" and result["n"] == 6 and result["k"] == 5


def test_cli_reports_missing_or_malformed_metadata_clearly(tmp_path, fma_dirs):
    audio, metadata = fma_dirs
    home = tmp_path / "home"
    encore(home, "scan", "--no-analyze", str(audio))
    titles = sorted(t["title"] for t in json.loads(encore(home, "tracks", "--json").stdout))
    empty = tmp_path / "empty"
    empty.mkdir()
    one_header = tmp_path / "one-header"
    one_header.mkdir()
    (one_header / "tracks.csv").write_text("track_id,title,artist\n2,Food,AWOL\n")
    bad_features = write_metadata(tmp_path / "bad-features")
    (bad_features / "features.csv").write_text("track_id,mfcc\n2,1.5\n")
    cases = [
        ((str(tmp_path / "nowhere"),), "FMA metadata folder not found"),
        ((str(empty),), "no tracks.csv in"),
        ((str(one_header),), "does not have the fma_metadata layout (two header rows"),
        ((str(bad_features), "--features"), "layout (three header rows"),
    ]
    for args, message in cases:
        result = encore(home, "import-fma", *args, check=False)
        assert result.returncode == 1, (args, result.stderr)
        assert "encore: error: " in result.stderr and message in result.stderr, args
        assert "Traceback" not in result.stderr and result.stdout == ""
    # the bad features.csv was found before any tag was written
    after = sorted(t["title"] for t in json.loads(encore(home, "tracks", "--json").stdout))
    assert after == titles

    encore(home, "import-fma", str(metadata))  # tags only
    result = encore(home, "evaluate", "--features", "fma", check=False)
    assert result.returncode == 1
    assert "encore: error: no FMA features in the library" in result.stderr
