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
