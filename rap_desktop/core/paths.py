"""Where the data folder and the settings file live (flag, then environment, then platform default)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "rap-desktop"


def data_home(flag: str | os.PathLike | None = None) -> Path:
    chosen = flag or os.environ.get("RAP_DESKTOP_HOME") or platformdirs.user_data_dir(APP, appauthor=False)
    return Path(chosen).expanduser()


def config_file(flag: str | os.PathLike | None = None) -> Path:
    chosen = flag or os.environ.get("RAP_DESKTOP_CONFIG")
    if chosen:
        return Path(chosen).expanduser()
    return Path(platformdirs.user_config_dir(APP, appauthor=False)) / "config.toml"
