"""Render the main window and the register dialog offscreen to PNGs, to look at them.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.ui.make_screenshots [OUT_DIR]

Not a test (no assertions): a quick way to see the layout after a change.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import rap_desktop.torch_compat  # noqa: F401

SAMPLES = {
    "astronaut": ("Eileen Collins, NASA astronaut, in her orange flight suit.", "person"),
    "chelsea": ("<chelsea> is our tabby cat; she has green eyes and a white chin.", "cat"),
    "coffee": ("<coffee> is my favourite cup, white with a saucer and a spoon.", "cup"),
}


def main(out: Path) -> None:
    import skimage
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QPixmap
    from PySide6.QtWidgets import QApplication

    from rap_desktop.core.images import load_image
    from rap_desktop.core.session import Session
    from rap_desktop.devtools.tiny_models import write_all
    from rap_desktop.ui.library.register_dialog import RegisterDialog
    from rap_desktop.ui.main_window import MainWindow
    from rap_desktop.ui.runtime.tasks import TaskRunner

    app = QApplication.instance() or QApplication([])
    if os.environ.get("RAP_SCREENSHOT_DARK"):  # roughly what a dark desktop hands us
        _dark(app)
    work = Path(tempfile.mkdtemp(prefix="rap-shots-"))
    session = Session.open(work / "home", write_all(work / "models"))
    data = Path(skimage.__file__).parent / "data"
    store = session.store()
    for name, (info, category) in SAMPLES.items():
        store.add_concept(name, data / f"{name}.png", info, category)

    runner = TaskRunner()
    window = MainWindow(session, runner, QSettings(str(work / "ui.ini"), QSettings.Format.IniFormat))
    window.show()
    _settle(app, runner, window)
    window.select_names(["chelsea"])
    _settle(app, runner, window)
    window.grab().save(str(out / "rap-main-window.png"))

    loaded = load_image(data / "astronaut.png")
    from rap_desktop.ui.runtime.thumbnails import pil_to_qimage

    dialog = RegisterDialog(
        window,
        window.model.name_keys(),
        QPixmap.fromImage(pil_to_qimage(loaded.image)),
        "astronaut.png\n512 × 512, PNG",
        categories=window.model.categories(),
    )
    dialog.name_edit.setText("Chelsea")  # a duplicate: shows the inline message
    dialog.show()
    _settle(app, runner, window)
    dialog.grab().save(str(out / "rap-register.png"))
    dialog.name_edit.setText("")
    dialog.show()
    _settle(app, runner, window)
    dialog.grab().save(str(out / "rap-register-empty.png"))
    dialog.close()
    window.close()
    session.close()

    empty = Session.open(work / "empty-home", work / "models" / "config.toml")
    window = MainWindow(empty, TaskRunner(), QSettings(str(work / "ui.ini"), QSettings.Format.IniFormat))
    window.show()
    _settle(app, window.runner, window)
    window.grab().save(str(out / "rap-main-window-empty.png"))
    window.close()
    empty.close()
    print(f"saved to {out}")


def _dark(app) -> None:
    from PySide6.QtGui import QColor, QPalette

    app.setStyle("Fusion")
    palette = QPalette()
    role = QPalette.ColorRole
    for r, colour in {
        role.Window: "#2b2b2b",
        role.WindowText: "#e6e6e6",
        role.Base: "#1e1e1e",
        role.AlternateBase: "#262626",
        role.Text: "#e6e6e6",
        role.Button: "#353535",
        role.ButtonText: "#e6e6e6",
        role.Highlight: "#2f65ca",
        role.HighlightedText: "#ffffff",
        role.PlaceholderText: "#8a8a8a",
        role.ToolTipBase: "#353535",
        role.ToolTipText: "#e6e6e6",
    }.items():
        palette.setColor(r, QColor(colour))
    for r in (role.ButtonText, role.Text, role.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, r, QColor("#6e6e6e"))
    app.setPalette(palette)


def _settle(app, runner, window) -> None:
    for _ in range(20):
        runner.wait()
        app.processEvents()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp"))
