"""UI fixtures: a real Session/Store on a temporary folder (tiny real-format models, from the
top-level `tiny_config` fixture), a window wired to it, and a test photo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def astronaut_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image
    from skimage import data

    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)
    return path


@pytest.fixture
def window(qtbot, session, tmp_path: Path) -> Iterator:
    from PySide6.QtCore import QSettings

    from rap_desktop.ui.main_window import MainWindow
    from rap_desktop.ui.tasks import TaskRunner

    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)  # never the user's
    win = MainWindow(session, TaskRunner(), settings)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.concepts_loaded, timeout=10_000):
        win.show()
    yield win
    win.close()  # shuts the runner down before the session fixture closes the store
