"""The whole screen with the main window as a first start opens it, to look at the layout at the
screen's size: the Photo tab with a photo, then the Album tab. Run under Xvfb at each size:

    xvfb-run -a -s "-screen 0 1024x700x24" .venv/bin/python -m tests.ui.make_layout_screenshots docs/screenshots
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m tests.ui.make_layout_screenshots docs/screenshots

Saves layout_<W>x<H>_photo.png and layout_<W>x<H>_album.png (the screen, so a window wider than it
shows cut off; on a screen bigger than the first start's window, the window widened to fill it).
Tiny random-weight models: the names on the photo are meaningless, the layout is real.
Not a test (no assertions).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import rap_desktop.torch_compat  # noqa: F401

from .make_photo_screenshots import _settler


def main(out: Path) -> None:
    import skimage
    import ultralytics
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from rap_desktop.core.session import Session
    from rap_desktop.devtools.synthetic_album import make_album
    from rap_desktop.devtools.tiny_models import write_all
    from rap_desktop.ui.assistant.assistant_dock import SKIP_MODELS_PROMPT
    from rap_desktop.ui.main_window import MainWindow
    from rap_desktop.ui.runtime.tasks import TaskRunner

    app = QApplication.instance() or QApplication([])
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rap-layout-shots-"))
    session = Session.open(work / "home", write_all(work / "models"))
    zidane = Path(ultralytics.__file__).parent / "assets" / "zidane.jpg"
    store = session.store()
    store.add_concept("coach", zidane, "<coach> is the man in the white shirt.", "person", box=(750, 40, 1150, 710))
    store.add_concept("cat", Path(skimage.__file__).parent / "data" / "chelsea.png", "<cat> is our tabby.", "cat")
    store.add_concept(
        "grandma margaret", Path(skimage.__file__).parent / "data" / "astronaut.png", "<grandma margaret>.", "person"
    )
    settings = QSettings(str(work / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue(SKIP_MODELS_PROMPT, True)
    window = MainWindow(session, TaskRunner(), settings)
    window.show()
    window.activateWindow()  # the keyboard is in the window: the focus ring shows
    settle = _settler(app, window)
    settle(lambda: window.model.rowCount() == 3)
    screen = window.screen()
    size = screen.geometry()
    if size.width() > window.frameGeometry().width():  # a big screen: the window as the user widens it
        window.setGeometry(screen.availableGeometry())
        settle()
    name = f"layout_{size.width()}x{size.height()}"

    shown: list[int] = []
    window.photos.shown.connect(lambda: shown.append(1))
    window.photos.open_path(zidane)
    settle(lambda: bool(shown))
    screen.grabWindow(0).save(str(out / f"{name}_photo.png"))

    page = window.album
    window.tabs.tab_actions[1].trigger()  # Ctrl+2
    page.add_folders([str(make_album(work / "album", 40, seed=3, max_side=320)[0].parents[2])])
    settle(lambda: not page.indexer.running, ms=300_000)
    settle(lambda: not page.loader._wanted and not page.loader._loading)
    page.grid.setCurrentIndex(page.model.index(1))
    window.tabs.tab_actions[1].trigger()  # Ctrl+2 again: the grid has the keyboard, its focus ring shows
    settle()
    screen.grabWindow(0).save(str(out / f"{name}_album.png"))
    window.close()
    session.close()
    print(f"saved to {out}: {name}_photo.png, {name}_album.png")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp"))
