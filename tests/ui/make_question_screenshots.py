"""The photo view as a family sees it, on a real (virtual) screen of a given size: the quiet view
(recognised boxes, names only), everything it found, the "Is this …?" question, and the note an
answer leaves. Run under Xvfb, once per screen size:

    xvfb-run -a -s "-screen 0 1024x700x24" .venv/bin/python -m tests.ui.make_question_screenshots docs/screenshots

Tiny random-weight models: which box carries which name is meaningless, the drawing is real.
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
    from rap_desktop.devtools.tiny_models import write_all
    from rap_desktop.ui.main_window import MainWindow
    from rap_desktop.ui.runtime.tasks import TaskRunner

    app = QApplication.instance() or QApplication([])
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rap-question-shots-"))
    session = Session.open(work / "home", write_all(work / "models"))
    assets = Path(ultralytics.__file__).parent / "assets"
    store = session.store()
    store.add_concept(
        "Bo", assets / "zidane.jpg", "<Bo> is the man in the white shirt.", "person", box=(750, 40, 1150, 710)
    )
    store.add_concept("Mittens", Path(skimage.__file__).parent / "data" / "chelsea.png", "<Mittens> is our cat.", "cat")
    store.add_concept("Big Red", assets / "bus.jpg", "<Big Red> is the school bus.", "thing")
    window = MainWindow(session, TaskRunner(), QSettings(str(work / "ui.ini"), QSettings.Format.IniFormat))
    screen = app.primaryScreen().geometry()
    window.setGeometry(app.primaryScreen().availableGeometry())  # no window manager under Xvfb to maximise it
    window.show()
    settle = _settler(app, window)
    settle(lambda: window.model.rowCount() == 3)
    size = f"{screen.width()}x{screen.height()}"

    def shot(name: str) -> None:
        settle()
        app.primaryScreen().grabWindow(0).save(str(out / f"photo17_{name}_{size}.png"))

    photos = window.photos
    shown: list[int] = []
    photos.shown.connect(lambda: shown.append(1))
    photos.open_path(assets / "zidane.jpg")
    settle(lambda: bool(shown))
    shot("quiet")
    photos.everything_action.setChecked(True)
    shot("everything")
    photos.everything_action.setChecked(False)
    regions = [r for r in photos.current.result.regions if r.accepted]
    known = next((r for r in regions if r.accepted.concept == "Bo"), regions[0])
    photos.view.select_region(known.id)
    photos.view.setFocus()
    shot("question")
    count = len(shown)
    photos.confirm_action.trigger()  # Yes
    settle(lambda: len(shown) > count)
    shot("answered")
    window.close()
    session.close()
    print(f"saved to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp"))
