"""The main window as the UI tests open it: a real session, its own settings file, shown once its
concept list has loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from rap_desktop.core.session import Session
from rap_desktop.ui.main_window import MainWindow
from rap_desktop.ui.runtime.tasks import TaskRunner


def shown_window(
    qtbot, session: Session, ini: Path, values: dict[str, Any] | None = None, timeout: int = 60_000
) -> MainWindow:
    """`ini` is the window's settings file (never the user's); `values` are set in it first."""
    settings = QSettings(str(ini), QSettings.Format.IniFormat)
    for key, value in (values or {}).items():
        settings.setValue(key, value)
    win = MainWindow(session, TaskRunner(), settings)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.concepts_loaded, timeout=timeout):
        win.show()
    # the window first fits Qt's 800x800 offscreen screen; the tests were written for the 1280x800 it had
    win.resize(1280, 800)
    return win
