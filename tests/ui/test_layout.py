"""The main window on a small screen (1024x700): it fits, and every panel keeps a usable width; the
tab shown has the keyboard, and a list with the keyboard shows it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QAbstractItemView, QApplication

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


# --- the keyboard: a tab shown has it, and the grid shows where it is ---------------------------


def _active(qtbot, win: MainWindow) -> None:
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)


def test_the_tab_shown_has_the_keyboard(qtbot, window: MainWindow, tmp_path: Path) -> None:
    from rap_desktop.devtools.synthetic_album import make_album

    _active(qtbot, window)
    page = window.album
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is page
    assert QApplication.focusWidget() is page.text_edit  # an empty album: its search
    with qtbot.waitSignal(page.indexer.finished, timeout=60_000):
        page.add_folders([str(make_album(tmp_path / "album", 3, seed=2, max_side=120)[0].parents[2])])
    qtbot.waitUntil(lambda: page.model.rowCount() == 3, timeout=60_000)
    window.search.setFocus()  # the keyboard elsewhere, then the shortcuts
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.photo_view
    assert QApplication.focusWidget() is window.photo_view
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is page.grid
    qtbot.keyClick(page.grid, Qt.Key.Key_Right)  # the arrows walk the grid at once
    assert page.grid.currentIndex().isValid()
    highlight = page.grid.palette().color(QPalette.ColorRole.Highlight)
    assert _item_edge(page.grid) == highlight  # the current photo in a ring
    window.search.setFocus()
    qtbot.waitUntil(lambda: not page.grid.hasFocus(), timeout=5000)
    assert _item_edge(page.grid) != highlight
    window.tabs.show_album()
    window.tabs.setCurrentWidget(window.photo_view)  # a click on the tab, as well
    assert QApplication.focusWidget() is window.photo_view


def _edge(view: QAbstractItemView) -> QColor:
    """The colour of the view's frame, halfway down its left edge."""
    image = view.grab().toImage()
    return image.pixelColor(0, image.height() // 2)


def _item_edge(view: QAbstractItemView) -> QColor:
    """The colour just inside the current item's left edge, halfway down."""
    place = view.visualRect(view.currentIndex())
    return view.viewport().grab().toImage().pixelColor(place.left() + 1, place.center().y())


def test_a_list_with_the_keyboard_has_a_clear_ring(qtbot, window: MainWindow) -> None:
    _active(qtbot, window)
    highlight = window.list_view.palette().color(QPalette.ColorRole.Highlight)
    for view in (window.list_view, window.album.grid):
        window.tabs.show_album()
        window.album.stack.setCurrentWidget(window.album.grid)  # as with photos (this store has none)
        window.left_stack.setCurrentWidget(window.list_view)
        view.setFocus()
        qtbot.waitUntil(view.hasFocus, timeout=5000)
        assert _edge(view) == highlight
        window.search.setFocus()
        qtbot.waitUntil(lambda v=view: not v.hasFocus(), timeout=5000)
        assert _edge(view) != highlight
