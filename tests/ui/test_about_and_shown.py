"""Help ▸ About names the app's version and the torch it runs on; RAP_DESKTOP_WHEN_SHOWN=quit makes the app say
when its window is on screen and leave (how the bundle's test sees a frozen app reach its window)."""

from __future__ import annotations

import re
from pathlib import Path

import torch
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from rap_desktop import __version__


def _torch_build() -> str:
    return f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU build"


def _read_and_close_the_box(texts: list[str]) -> None:
    def tick() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            texts.append(box.text())
            box.accept()
        else:
            QTimer.singleShot(20, tick)

    QTimer.singleShot(0, tick)


def test_about_box_says_the_version_and_the_torch_build(window) -> None:
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    about = next(a for a in help_menu.actions() if a.text() == "&About RAP Desktop")
    texts: list[str] = []
    _read_and_close_the_box(texts)
    about.trigger()  # modal: returns once the box is closed
    assert len(texts) == 1
    assert f"rap-desktop {__version__} (Python environment" in texts[0]
    assert f"torch {torch.__version__}, {_torch_build()}" in texts[0]


def _close_all_later(ms: int) -> QTimer:
    """Ends the event loop should the window never say it was shown (the test then fails on the output)."""
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(lambda: [w.close() for w in QApplication.topLevelWidgets()])
    timer.start(ms)
    return timer


def test_when_shown_quit_prints_one_line_once_the_window_is_up(
    qapp, tmp_path: Path, tiny_config: Path, photos: dict[str, Path], monkeypatch, capsys
) -> None:
    from rap_desktop.cli import main
    from rap_desktop.ui import app

    home = tmp_path / "home"
    add = ["--home", str(home), "--config", str(tiny_config), "concept", "add", "bo", str(photos["astronaut"])]
    assert main([*add, "--info", "<bo> is an astronaut.", "--category", "person"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("RAP_DESKTOP_CONFIG", str(tiny_config))
    monkeypatch.setenv("RAP_DESKTOP_HOME", str(home))
    monkeypatch.setenv("RAP_DESKTOP_WHEN_SHOWN", "quit")
    guard = _close_all_later(60_000)
    assert app.run([]) == 0
    guard.stop()
    out = capsys.readouterr().out.splitlines()
    pattern = r"rap-desktop: window shown: RAP Desktop \d+x\d+ on offscreen, .*"
    shown = [line for line in out if re.fullmatch(pattern, line)]
    assert shown == [shown[0]] and shown[0].endswith(", 1 concept")
