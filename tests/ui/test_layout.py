"""The main window on a small screen (1024x700): it fits, and every panel keeps a usable width."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QRect

from rap_desktop.ui.main_window import MainWindow

from .layout_probe import layout_faults
from .windows import shown_window

SMALL = QRect(0, 0, 1024, 700)


def _resize_frame_to(qtbot, win: MainWindow, screen: QRect) -> None:
    frame = win.frameGeometry().size() - win.geometry().size()
    win.move(screen.topLeft())
    win.resize(screen.width() - frame.width(), screen.height() - frame.height())
    qtbot.waitUntil(lambda: win.layout().totalMinimumSize().width() <= win.width(), timeout=5000)
    win.layout().activate()


def test_everything_fits_a_1024x700_window(qtbot, window: MainWindow) -> None:
    _resize_frame_to(qtbot, window, SMALL)
    assert layout_faults(window, SMALL) == []
    window.tabs.tab_actions[1].trigger()  # the album's bar is the widest centre
    window.layout().activate()
    assert layout_faults(window, SMALL) == []


def _probe(tmp_path: Path, tiny_config: Path, ini: Path) -> list[str]:
    """The window started in a process of its own on a 1024x700 screen (Qt's offscreen platform
    reads the screen from a file; one application per process, so not in this one)."""
    screen = tmp_path / "screen.json"
    screen.write_text(json.dumps({"screens": [{"name": "small", "x": 0, "y": 0, "width": 1024, "height": 700}]}))
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={screen}")
    done = subprocess.run(
        [sys.executable, "-m", "tests.ui.layout_probe", str(tmp_path / "home"), str(tiny_config), str(ini)],
        cwd=Path(__file__).parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_first_start_and_a_restored_big_window_fit_a_small_screen(
    qtbot, session, tmp_path: Path, tiny_config: Path
) -> None:
    assert _probe(tmp_path, tiny_config, tmp_path / "first.ini") == []
    big = tmp_path / "big.ini"  # the window as it was left on a bigger screen
    win = shown_window(qtbot, session, big, timeout=10_000)
    win.resize(1600, 1000)
    win.close()
    assert _probe(tmp_path, tiny_config, big) == []
