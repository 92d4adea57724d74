"""The command line, run as a user runs it: a separate process, JSON parsed back."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from engine.datasets.synth import STYLES, render
from tests.helpers import PER_STYLE, encore, style_of, write_songs


@pytest.mark.slow
def test_scan_train_recommend_evaluate_end_to_end(tmp_path, music_dir):
    home = tmp_path / "home"
    scanned = encore(home, "scan", str(music_dir))
    assert f"{5 * PER_STYLE} added" in scanned.stdout
    assert f"{5 * PER_STYLE} analysed, 0 failed" in scanned.stdout
    assert "Trained on" in encore(home, "train").stdout

    tracks = json.loads(encore(home, "tracks", "--json").stdout)
    assert len(tracks) == 5 * PER_STYLE
    assert set(tracks[0]) == {
        "id",
        "path",
        "title",
        "artist",
        "album",
        "genre",
        "duration",
        "analysed",
    }
    assert all(t["analysed"] for t in tracks)

    queries = [tracks[0]["path"], str(tracks[-1]["id"])]
    out = encore(home, "recommend", *queries, "-n", "5", "--json").stdout
    results = json.loads(out)
    assert [r["query"]["id"] for r in results] == [tracks[0]["id"], tracks[-1]["id"]]
    for result in results:
        recs = result["recommendations"]
        assert len(recs) == 5 == len({r["id"] for r in recs})
        assert result["query"]["id"] not in {r["id"] for r in recs}
        assert set(recs[0]) == {"id", "path", "title", "artist", "album", "distance", "reason"}
        matching = sum(style_of(r["path"]) == style_of(result["query"]["path"]) for r in recs)
        assert matching >= 4

    text = encore(home, "recommend", tracks[3]["path"]).stdout
    assert text.startswith("Like ") and text.count("distance") == 5

    evaluation = json.loads(encore(home, "evaluate", "--label", "genre", "--json").stdout)
    assert set(evaluation) == {
        "label", "family", "radio", "k", "n", "precision", "chance", "majority", "per_label"
    }  # fmt: skip
    assert (evaluation["family"], evaluation["radio"]) == ("both", False)
    assert evaluation["precision"] >= 0.9 > evaluation["chance"]
    assert "chance" in encore(home, "evaluate", "--label", "folder").stdout

    status = json.loads(encore(home, "status", "--json").stdout)
    assert status["analysed"] == 5 * PER_STYLE and status["model"]["k"] >= 1
    assert "Model: k=" in encore(home, "status").stdout


def test_user_mistakes_are_one_clear_line_and_an_exit_code(tmp_path):
    home = tmp_path / "home"
    cases = [
        (("recommend", "42"), 1, "no track with id 42"),
        (("recommend", str(tmp_path / "missing.mp3")), 1, "no such file"),
        (("train",), 1, "at least 2 are needed"),
        (("scan", str(tmp_path / "no-such-folder")), 1, "folder not found"),
        (("scan",), 2, "no folders given"),
        (("recommend",), 2, "required"),
        (("evaluate", "--label", "mood"), 2, "invalid choice"),
        (("train", "--clusters", "0"), 2, "encore train: error: argument --clusters: must be"),
        (("recommend", "1", "-n", "x"), 2, "not a whole number"),
        (("frobnicate",), 2, "invalid choice"),
    ]
    for args, code, message in cases:
        result = encore(home, *args, check=False)
        assert result.returncode == code, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.stdout == ""


def test_json_output_is_only_json_even_when_empty(tmp_path):
    home = tmp_path / "home"
    assert json.loads(encore(home, "tracks", "--json").stdout) == []
    status = json.loads(encore(home, "status", "--json").stdout)
    assert status["tracks"] == 0 and status["model"] is None


def test_encore_home_environment_variable_selects_the_state_folder(tmp_path):
    env = {**os.environ, "ENCORE_HOME": str(tmp_path / "via-env")}
    out = subprocess.run(
        [sys.executable, "-m", "engine", "status", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert json.loads(out)["home"] == str(tmp_path / "via-env")
    assert (tmp_path / "via-env" / "library.sqlite3").exists()


def test_a_closed_pipe_ends_quietly(tmp_path):
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "--home", str(home), "status"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # like `encore status | head -0`
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err


@pytest.mark.slow
def test_more_like_these_export_skips_and_radio_settings(trained_home, tmp_path):
    home = trained_home
    tracks = json.loads(encore(home, "tracks", "--json").stdout)
    a, b = tracks[0], tracks[-1]
    mix = json.loads(
        encore(home, "recommend", str(a["id"]), str(b["id"]), "--together", "--json").stdout
    )
    assert len(mix) == 1 and [q["id"] for q in mix[0]["query"]] == [a["id"], b["id"]]
    got = [r["id"] for r in mix[0]["recommendations"]]
    assert len(got) == 5 and {a["id"], b["id"]}.isdisjoint(got)
    assert all(
        r["reason"].startswith(("similar", "nearest", "nothing")) for r in mix[0]["recommendations"]
    )

    plain = json.loads(encore(home, "recommend", str(a["id"]), "--plain", "--json").stdout)
    distances = [r["distance"] for r in plain[0]["recommendations"]]
    assert distances == sorted(distances)

    out = tmp_path / "lists" / "mix.m3u8"
    out.parent.mkdir()
    encore(home, "export-m3u", "--from", str(a["id"]), "-n", "7", "--relative", str(out))
    lines = out.read_text(encoding="utf-8").splitlines()
    entries = [line for line in lines if not line.startswith("#")]
    assert lines[0] == "#EXTM3U" and len(entries) == 8
    assert all(not os.path.isabs(e) for e in entries)
    assert os.path.normpath(out.parent / entries[0]) == a["path"]
    encore(home, "export-m3u", str(out))
    assert len([x for x in out.read_text().splitlines() if not x.startswith("#")]) == len(tracks)

    assert "No songs skipped" in encore(home, "skips").stdout
    shown = encore(home, "radio", "--artist-window", "5", "--exclude-genre", "Noise Rock").stdout
    assert "artist window: 5" in shown and "Noise Rock" in shown
    assert "artist window: 5" in encore(home, "radio").stdout
    assert "artist window: 3" in encore(home, "radio", "--reset").stdout
    assert "variety tolerance: None" in encore(home, "radio", "--variety-always").stdout
    assert "variety tolerance: 0.25" in encore(home, "radio", "--variety-tolerance", "0.25").stdout
    assert encore(home, "radio", "--variety-tolerance", "-1", check=False).returncode == 2


#: Sequences a crafted tag or file name can hide: clear the screen, retitle the terminal
#: (OSC 0), write the clipboard (OSC 52), overwrite a line (CR, BS), a C1 CSI and DEL.
NASTY = "\x1b[2J\x1b]0;owned\x07\x1b]52;c;ZXZpbA==\x07\r\b\x9b31m\x7f\t"


def _raw_controls(text: str) -> list[str]:
    """The control characters in ``text`` other than line ends: C0, DEL and C1."""
    return [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F]


def test_tags_and_names_cannot_drive_the_terminal(tmp_path: Path) -> None:
    """Point 5 of the bug report: every human-readable line shows control characters as
    visible escapes (``\\x1b``); ``--json`` keeps the exact text."""
    import mutagen.flac

    music = tmp_path / "music"
    write_songs(music, 5, seconds=4.0, ext="flac")
    evil = music / f"evil{NASTY}song.flac"
    sf.write(evil, render(next(iter(STYLES)), 99, seconds=4.0), 22050)
    tags = mutagen.flac.FLAC(evil)
    for key in ("title", "artist", "album", "genre"):
        tags[key] = f"{key}{NASTY}\nforged line"
    tags.save()
    (music / f"broken{NASTY}.mp3").write_bytes(b"not audio at all" * 100)  # a failure row
    home = tmp_path / "home"

    runs = {"scan": encore(home, "scan", str(music))}
    runs["tracks"] = encore(home, "tracks")
    runs["status"] = encore(home, "status")
    runs["find"] = encore(home, "find", "calm", check=False)
    runs["train"] = encore(home, "train")
    runs["recommend"] = encore(home, "recommend", str(evil), "-n", "5")
    runs["recommend other"] = encore(home, "recommend", str(sorted(music.glob("00 *"))[0]))
    runs["missing"] = encore(home, "recommend", str(music / f"gone{NASTY}.flac"), check=False)
    for name, result in runs.items():
        for stream in (result.stdout, result.stderr):
            assert not _raw_controls(stream), (name, stream)
    assert "\\x1b[2J" in runs["tracks"].stdout  # shown, visibly
    assert "\\x1b]52;c;" in runs["status"].stdout  # the broken file's name, in the failures
    assert "\\x1b]0;owned" in runs["recommend"].stdout
    assert "gone\\x1b[2J" in runs["missing"].stderr
    assert runs["find"].returncode in (0, 1)  # the auto-tags may or may not call it "calm"
    # JSON keeps the exact text, escaped as JSON does (C1 and DEL as they are)
    listed = json.loads(encore(home, "tracks", "--json").stdout)
    assert f"title{NASTY}\nforged line" in [t["title"] for t in listed]
    assert str(evil) in [t["path"] for t in listed]
    assert len(runs["tracks"].stdout.splitlines()) == len(listed)  # no forged line


def test_the_progress_line_escapes_file_names() -> None:
    """The progress bar (on a terminal) shows the current file's name: escaped too."""
    from engine.cli import ProgressPrinter
    from engine.progress import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    printer = ProgressPrinter(stream)
    printer.show(Progress(1, 2, f"/music/evil{NASTY}.flac", "Scan"))
    printer.show(Progress(2, 2, "", f"Scanning{NASTY}"))
    printer.close()
    # each write starts with the bar's own carriage return (the last one clears the line)
    written = stream.getvalue()
    assert written.count("\r") == 4, written
    assert not _raw_controls(written.replace("\r", "")), written
    assert "evil\\x1b[2J" in written and "Scanning\\x1b[2J" in written
