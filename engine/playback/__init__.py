"""Playback rules with no player attached: what plays next, and what was played."""
