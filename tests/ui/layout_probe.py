"""What a small screen does to the main window: `layout_faults` lists every part that is cut off,
outside the screen or too narrow to use. Run as a module it starts the window as on a first start
(or with a settings file from another run) and prints the faults as JSON, one list; the test runs
it under `QT_QPA_PLATFORM=offscreen:configfile=...` so the screen is exactly 1024x700.

    python -m tests.ui.layout_probe HOME CONFIG INI
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QWidget

from rap_desktop.ui.main_window import MainWindow

USABLE = 150  # narrower than this, a panel's text wraps a word a line


def layout_faults(win: MainWindow, screen: QRect) -> list[str]:
    faults = []
    if not screen.contains(win.frameGeometry()):
        faults.append(f"window frame {win.frameGeometry().getRect()} outside the screen {screen.getRect()}")
    parts: list[tuple[str, QWidget]] = [("centre", win.tabs), ("library", win.library_dock)]
    parts += [(dock.objectName(), dock) for dock in (win.retrieval_dock, win.assistant_dock)]
    for name, part in parts:
        if name.endswith("dock") and part is not win.library_dock:
            part.raise_()  # the right-hand panels share one place as tabs: each in turn
            win.layout().activate()
        place = QRect(part.mapTo(win, part.rect().topLeft()), part.size())
        if not part.isVisible() or not win.rect().contains(place):
            faults.append(f"{name} at {place.getRect()} not within the window {win.rect().getRect()}")
        least = max(part.minimumSizeHint().width(), USABLE)
        if part.width() < least:
            faults.append(f"{name} is {part.width()} wide, less than {least}")
    grid = win.list_view
    if grid.viewport().width() < grid.gridSize().width():
        faults.append(f"concept list {grid.viewport().width()} wide: a name ({grid.gridSize().width()}) is cut off")
    return faults


def main(home: Path, config: Path, ini: Path) -> None:
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from rap_desktop.core.session import Session
    from rap_desktop.ui.runtime.tasks import TaskRunner

    _app = QApplication.instance() or QApplication([])
    session = Session.open(home, config)
    win = MainWindow(session, TaskRunner(), QSettings(str(ini), QSettings.Format.IniFormat))
    loop = QEventLoop()
    win.concepts_loaded.connect(lambda: QTimer.singleShot(200, loop.quit))  # laid out and settled
    win.show()
    loop.exec()
    print(json.dumps(layout_faults(win, win.screen().availableGeometry())))
    win.close()
    session.close()


if __name__ == "__main__":
    main(*(Path(arg) for arg in sys.argv[1:4]))
