"""The files of the repository's `resources/` folder (icon, .desktop file, sample settings), found
both in a checkout and in an installed package (pyproject maps the folder to `rap_desktop/resources`)."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
_FOLDERS = (_HERE / "resources", _HERE.parent / "resources")  # installed, then a checkout
APP_ICON_SVG = "rap-desktop.svg"
APP_ICON_PNG = "rap-desktop.png"
DESKTOP_FILE = "rap-desktop.desktop"


def resource_path(name: str) -> Path:
    for folder in _FOLDERS:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"resource {name!r} not found in {' or '.join(map(str, _FOLDERS))}")
