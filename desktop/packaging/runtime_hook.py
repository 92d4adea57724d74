"""PyInstaller runtime hook: runs before any of Encore's code in the frozen app.

numba (under librosa) caches compiled functions. In a frozen app it ignores
``NUMBA_CACHE_DIR`` and always uses ``$XDG_CACHE_HOME/numba`` (default
``~/.cache/numba``); if that folder cannot be created, ``import librosa`` fails.
So when it is not writable, point ``XDG_CACHE_HOME`` at a private temporary folder.
"""

import os
import sys
import tempfile


def _writable(folder: str) -> bool:
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            return True
    except OSError:
        return False


if getattr(sys, "frozen", False):
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    if not _writable(os.path.join(base, "numba")):
        user = getattr(os, "getuid", lambda: 0)()
        fallback = os.path.join(tempfile.gettempdir(), f"encore-cache-{user}")
        os.makedirs(fallback, mode=0o700, exist_ok=True)
        os.environ["XDG_CACHE_HOME"] = fallback
