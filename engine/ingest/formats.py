"""Which files Encore treats as music."""

from __future__ import annotations

#: Extensions the scanner picks up (lower case, with the dot).
AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {".mp3", ".ogg", ".oga", ".opus", ".flac", ".wav", ".wave", ".m4a", ".aac", ".mp4"}
)


def is_audio_name(name: str) -> bool:
    """True when ``name`` has one of :data:`AUDIO_EXTENSIONS`."""
    dot = name.rfind(".")
    return dot >= 0 and name[dot:].lower() in AUDIO_EXTENSIONS
