"""Render the photo view, a correction and the register dialog offscreen to PNGs, to look at them.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.ui.make_photo_screenshots [OUT_DIR] [--dark]

Tiny random-weight models: which box names which concept is meaningless, the drawing is real.
Not a test (no assertions).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import rap_desktop.torch_compat  # noqa: F401


def main(out: Path, dark: bool) -> None:
    import skimage
    import ultralytics
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from rap_desktop.core.session import Session
    from rap_desktop.devtools.tiny_models import write_all
    from rap_desktop.ui.main_window import MainWindow
    from rap_desktop.ui.runtime.tasks import TaskRunner

    from .make_screenshots import _dark

    app = QApplication.instance() or QApplication([])
    if dark:
        _dark(app)
    suffix = "_dark" if dark else ""
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rap-photo-shots-"))
    session = Session.open(work / "home", write_all(work / "models"))
    # a camera-sized photo (14.7 MP): the view shows a screen-sized preview, boxes in the photo's pixels
    zidane = _big_copy(Path(ultralytics.__file__).parent / "assets" / "zidane.jpg", work, 4)
    store = session.store()
    store.add_concept("coach", zidane, "<coach> is the man in the white shirt.", "person", box=(3000, 160, 4600, 2840))
    store.add_concept("cat", Path(skimage.__file__).parent / "data" / "chelsea.png", "<cat> is our tabby.", "cat")
    window = MainWindow(session, TaskRunner(), QSettings(str(work / "ui.ini"), QSettings.Format.IniFormat))
    window.show()
    settle = _settler(app, window)
    settle(lambda: window.model.rowCount() == 2)

    photos = window.photos
    shown: list[int] = []
    photos.shown.connect(lambda: shown.append(1))
    photos.open_path(zidane)
    settle(lambda: bool(shown))
    photos.ask("What is <coach> doing?", zidane)  # as the Assistant's question box hands it on
    settle(lambda: len(shown) > 1)
    accepted = next(r for r in photos.current.result.regions if r.accepted)
    photos.view.select_region(accepted.id)
    settle()
    window.grab().save(str(out / f"photo_view{suffix}.png"))

    # a correction: confirm the named box, reject the next one's best candidate, then undo-able
    count = len(shown)
    photos.confirm_action.trigger()
    settle(lambda: len(shown) > count)
    other = next((r for r in photos.current.result.regions if r.accepted and r.id != accepted.id), None)
    if other is not None:
        photos.view.select_region(other.id)
        count = len(shown)
        photos.reject_action.trigger()
        settle(lambda: len(shown) > count)
    photos.view.select_region(accepted.id)
    settle()
    window.grab().save(str(out / f"corrections{suffix}.png"))

    photos.reassign_action.trigger()
    settle(lambda: photos.dialog is not None)
    photos.dialog.grab().save(str(out / f"concept_picker{suffix}.png"))
    photos.dialog.reject()

    window.commands.register_paths([zidane])
    settle(lambda: window.commands.dialog is not None and bool(window.commands.dialog.picker.labels))
    dialog = window.commands.dialog
    first = dialog.picker.view.region_items()[-1]
    dialog.picker.view.select_region(first.region_id)
    dialog.name_edit.setText("coach")  # taken: the inline message shows
    settle()
    dialog.grab().save(str(out / f"register{suffix}.png"))
    dialog.reject()
    window.close()
    session.close()
    print(f"saved to {out}")


def _big_copy(path: Path, folder: Path, factor: int) -> Path:
    from PIL import Image

    with Image.open(path) as image:
        big = image.convert("RGB").resize((image.width * factor, image.height * factor), Image.Resampling.LANCZOS)
    target = folder / f"{path.stem}_{big.width}x{big.height}.jpg"
    big.save(target, quality=92)
    return target


def _settler(app, window):
    from PySide6.QtCore import QEventLoop, QTimer

    def settle(until=None, ms: int = 30_000) -> None:
        loop = QEventLoop()
        timer = QTimer()
        timer.timeout.connect(lambda: (until is None or until()) and window.runner.pending == 0 and loop.quit())
        timer.start(50)
        QTimer.singleShot(ms, loop.quit)
        loop.exec()
        timer.stop()
        for _ in range(5):
            app.processEvents()

    return settle


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--dark"]
    main(Path(args[0]) if args else Path("/tmp"), "--dark" in sys.argv)
