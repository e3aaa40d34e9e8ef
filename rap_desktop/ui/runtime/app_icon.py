"""The application icon (resources/rap-desktop.svg, with the PNG for platforms without SVG icons)."""

from __future__ import annotations

from PySide6.QtGui import QIcon

from rap_desktop.resource_files import APP_ICON_PNG, APP_ICON_SVG, resource_path


def app_icon() -> QIcon:
    icon = QIcon()
    for name in (APP_ICON_SVG, APP_ICON_PNG):
        try:
            icon.addFile(str(resource_path(name)))
        except FileNotFoundError:  # a broken install: no icon is better than no window
            continue
    return icon
