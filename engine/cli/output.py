"""How the commands print: escaped lines for people, exact JSON for tools."""

from __future__ import annotations

import json
import math
import re
import sys
from typing import TYPE_CHECKING, Any, TextIO

from engine.tracks import plural

if TYPE_CHECKING:
    from engine.library import Library

#: What a terminal acts on rather than shows: every C0 control (tab and line feed too:
#: a line break of a tag's own would forge an output line), DEL and the C1 controls
#: (0x9b is CSI by itself). Tags, file names and decoders' messages may hold any of them.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


def shown(text: object) -> str:
    """``text`` as it may reach a terminal: control characters as visible escapes
    (ESC as ``\\x1b``), so a crafted tag can neither clear the screen, retitle the
    terminal, write the clipboard (OSC 52) nor overwrite or forge a line."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def finite(value: Any) -> Any:
    """``value`` with every float that is not a finite number (NaN, ±inf) made None,
    through dicts, lists and tuples: JSON has no such numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def print_json(value: Any) -> None:
    """Print ``value`` as JSON (``--json``): never a bare ``NaN`` or ``Infinity``, which
    is not JSON and breaks the tools that parse it (``allow_nan=False`` proves it)."""
    print(json.dumps(finite(value), indent=2, ensure_ascii=False, allow_nan=False))


def say(line: object = "", *, file: TextIO | None = None) -> None:
    """Print one human-readable line: the only way the commands print, ``--json`` aside
    (JSON escapes control characters itself and must stay byte for byte)."""
    print(shown(line), file=file or sys.stdout)


def warn_damaged_neural(library: Library) -> None:
    """Say on stderr when stored neural vectors were left out as not usable (reads skip
    them; the next second pass records and redoes them)."""
    damaged = library.damaged_neural()
    if damaged:
        say(
            "encore: warning: left out the stored neural vectors of "
            f"{plural(len(damaged), 'track')} (a wrong length, NaN or infinite values); "
            "`encore analyze` embeds them again",
            file=sys.stderr,
        )
