"""UI fixtures: a real Session/Store on a temporary folder (tiny real-format models, from the
top-level `tiny_config` fixture), a window wired to it, and a test photo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _freed_on_the_gui_thread(qapp) -> Iterator[None]:
    """After each test (and after qtbot closed its widgets), delete what the test left on this
    thread: a closed window left for a later collection could be freed by any thread that happens
    to allocate, and a Qt object destroyed off its own thread crashes the process."""
    yield
    import gc

    from PySide6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


@pytest.fixture(scope="session")
def astronaut_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image
    from skimage import data

    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)
    return path


@pytest.fixture
def window(qtbot, session, tmp_path: Path) -> Iterator:
    from .windows import shown_window

    win = shown_window(qtbot, session, tmp_path / "ui.ini", timeout=10_000)
    yield win
    win.close()  # shuts the runner down before the session fixture closes the store
