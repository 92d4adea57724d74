import pytest

from desktop.launch import wants_cli


@pytest.mark.parametrize(
    "argv, cli",
    [
        ([], False),
        (["scan", "/m"], True),
        (["--home", "/h", "recommend", "1"], True),
        (["--home", "/h"], False),
        (["--version"], True),
        (["-h"], True),
        (["/music/song.mp3"], False),
        (["/music/folder"], False),
    ],
)
def test_subcommands_go_to_the_cli_everything_else_opens_the_window(argv, cli):
    assert wants_cli(argv) is cli


def test_every_subcommand_is_known_to_the_launcher():
    from engine.cli import COMMANDS, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)
