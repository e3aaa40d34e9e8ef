"""What a person sees in the window's status bar and on quitting: plain words, no model jargon,
no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QLabel

from rap_desktop.ui.main_window import MainWindow

from .photo_helpers import WAIT, idle

JARGON = ("embedder", "detector", "generator", "Generator", "Models:")


def _visible_bar_text(win: MainWindow) -> str:
    labels = win.statusBar().findChildren(QLabel)
    return " | ".join(label.text() for label in labels if label.isVisible())


def test_status_bar_says_what_the_app_is_doing_in_plain_words(qtbot, window: MainWindow, photos) -> None:
    idle(qtbot, window)
    assert window.status_line.text() == "Ready"
    seen: list[str] = []
    window.photos.photo_opened.connect(lambda _path: seen.append(window.status_line.text()))
    with qtbot.waitSignal(window.photos.shown, timeout=WAIT):
        window.photos.open_path(photos["coffee"])
    assert seen == ["Recognising people and things…"]
    idle(qtbot, window)
    assert window.status_line.text() == "Ready"
    shown = _visible_bar_text(window)
    assert not any(word in shown for word in JARGON), shown
    # the technical detail is still there for whoever hovers over the status
    assert "embedder on cpu" in window.status_line.toolTip()


_QUIT = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from rap_desktop.ui.app import run
from rap_desktop.ui.main_window import MainWindow

def window():
    return next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())

def leave():
    window().quit_action.trigger() if sys.argv[1] == "quit" else window().close()

QTimer.singleShot(0, lambda: window().photos.open_path(__import__("pathlib").Path(sys.argv[2])))
QTimer.singleShot(0, lambda: window().photos.shown.connect(leave))
sys.exit(run([]))
"""


def _run_and_leave(how: str, tmp_path: Path, tiny_config: Path, photo: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, RAP_DESKTOP_HOME=str(tmp_path / how), RAP_DESKTOP_CONFIG=str(tiny_config))
    return subprocess.run(
        [sys.executable, "-c", _QUIT, how, str(photo)], env=env, capture_output=True, text=True, timeout=300
    )


def test_quit_and_close_leave_no_traceback(tmp_path: Path, tiny_config: Path, photos) -> None:
    for how in ("quit", "close"):  # Ctrl+Q's action, and the window's close button
        done = _run_and_leave(how, tmp_path, tiny_config, photos["coffee"])
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        assert "Error" not in done.stderr, done.stderr


def test_a_photo_opened_without_the_models_says_so_plainly(qtbot, tiny_config: Path, tmp_path: Path, photos) -> None:
    """The embedder's weights are missing: the box says what to do in plain words (no command line,
    no settings key; those stay behind Details) and the panel does not go on claiming it is looking."""
    import tomllib

    import tomli_w

    from rap_desktop.core.session import Session
    from rap_desktop.ui.photo.photo_controller import MODELS_MISSING

    from .windows import shown_window

    config = tomllib.loads(tiny_config.read_text(encoding="utf-8"))
    for spec in config["models"]["custom"].values():  # absolute paths, as the tiny config's folder holds them
        spec["path"] = str(tiny_config.parent / spec["path"])
    config["models"]["custom"]["tiny-clip"]["path"] = str(tmp_path / "no-such-folder")
    broken = tmp_path / "config.toml"
    broken.write_text(tomli_w.dumps(config), encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    session = Session.open(home, broken)
    win = shown_window(qtbot, session, tmp_path / "ui.ini", timeout=10_000)
    try:
        win.photos.open_path(photos["coffee"])
        qtbot.waitUntil(lambda: win._error_box is not None and win._error_box.isVisible(), timeout=WAIT)
        box = win._error_box
        assert box.text() == MODELS_MISSING
        assert "not available" in box.detailedText() and "rap-desktop models" not in box.text()
        qtbot.waitUntil(lambda: "could not look" in win.photos.panel.summary.text(), timeout=WAIT)
        assert "looking for" not in win.photos.panel.summary.text()
    finally:
        win.close()
        session.close()
