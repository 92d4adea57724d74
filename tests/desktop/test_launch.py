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
