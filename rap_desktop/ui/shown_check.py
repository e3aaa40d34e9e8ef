"""RAP_DESKTOP_WHEN_SHOWN=quit (or =print): once the main window is on screen (exposed) and has loaded the
user's concepts, print one line on stdout, e.g. "rap-desktop: window shown: RAP Desktop 1280x800 on xcb,
2 concepts", and with "quit" leave with status 0. The bundle's test starts the frozen app this way
(tests/integration/test_bundle.py); installers/bundle-screenshots.sh waits for the line before it shoots."""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

ENV = "RAP_DESKTOP_WHEN_SHOWN"
POLL_MS = 100


def watch(window: QMainWindow, loaded_signal, app: QApplication) -> QTimer | None:
    mode = os.environ.get(ENV, "")
    if mode not in ("quit", "print"):
        return None
    loaded: list[bool] = []
    loaded_signal.connect(lambda: loaded.append(True))
    timer = QTimer(window)

    def check() -> None:
        handle = window.windowHandle()
        if not (loaded and window.isVisible() and handle is not None and handle.isExposed()):
            return
        timer.stop()
        count = window.model.rowCount() if hasattr(window, "model") else 0
        size = window.size()
        concepts = f"{count} concept" + ("" if count == 1 else "s")
        line = f"{window.windowTitle()} {size.width()}x{size.height()} on {app.platformName()}, {concepts}"
        sys.stdout.write(f"rap-desktop: window shown: {line}\n")
        sys.stdout.flush()
        if mode == "quit":
            # a dialog that opened by itself (the first start's Models dialog) first, then the window: it saves
            # its state and stops its lanes, as a user's close does, and the app leaves with its last window
            for other in app.topLevelWidgets():
                if other is not window and other.isVisible():
                    other.close()
            window.close()

    timer.timeout.connect(check)
    timer.start(POLL_MS)
    return timer
