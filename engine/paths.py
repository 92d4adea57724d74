"""Where Encore keeps its state: one folder for the database, models and logs."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "Encore"


def state_dir(home: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the state folder: ``home``, else ``$ENCORE_HOME``, else the user data dir."""
    if home is None:
        home = os.environ.get("ENCORE_HOME") or platformdirs.user_data_dir(APP_NAME, False)
    path = Path(home).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir(home: Path) -> Path:
    path = home / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_setting(home: Path) -> str | None:
    """The shared store URI chosen in the window (``store.json`` in the state folder)."""
    import json

    try:
        return json.loads((home / "store.json").read_text(encoding="utf-8")).get("uri") or None
    except (OSError, ValueError, AttributeError):
        return None


def set_store_setting(home: Path, uri: str | None) -> None:
    """Remember ``uri`` (None: the local library). Readable by the user only: it may
    hold a password."""
    import json

    path = home / "store.json"
    if uri is None:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"uri": uri}, f)
    os.replace(tmp, path)
