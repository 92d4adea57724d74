"""What to say about a file that decodes to less audio than its header claims."""

from __future__ import annotations

from engine.tracks import clock

#: A file is damaged or incomplete when less than this share of its length decodes …
DAMAGED_SHARE = 0.75
#: … and at least this many seconds are missing.
DAMAGED_SECONDS = 2.0


def damage_note(decoded: float, claimed: float | None) -> str:
    """What to tell the user when ``decoded`` seconds of a file said to last ``claimed``
    seconds decode; ``""`` when that is (about) all of it."""
    if not claimed or decoded >= DAMAGED_SHARE * claimed or claimed - decoded < DAMAGED_SECONDS:
        return ""
    decodes, of = clock(decoded, tenths=True), clock(claimed, tenths=True)
    return f"damaged or incomplete: only {decodes} of {of} decodes"
