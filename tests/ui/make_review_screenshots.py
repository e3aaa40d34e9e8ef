"""Screenshots of Album ▸ Who's this?…, the whole screen as a person sees it: a question about an
unknown group, then one about an uncertain match (with the concept's own photo beside it). Run under
Xvfb, once per screen size:

    xvfb-run -a -s "-screen 0 1024x700x24" \
        .venv/bin/python -m tests.ui.make_review_screenshots docs/screenshots 1024x700

An album of package photos indexed with the tiny random-weight models, two concepts made from package
photos: which regions group together is meaningless; the window is real. Not a test (no assertions).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import rap_desktop.torch_compat  # noqa: F401

from .make_words_screenshots import settle, shoot, wait_until


def main(out: Path, size: tuple[int, int]) -> None:
    import skimage
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from rap_desktop.core.album import rematch
    from rap_desktop.core.album.indexer import Indexer
    from rap_desktop.core.session import Session
    from rap_desktop.core.thumbcache import for_home
    from rap_desktop.devtools.synthetic_album import make_album
    from rap_desktop.devtools.tiny_models import write_all
    from rap_desktop.ui.assistant.assistant_dock import SKIP_MODELS_PROMPT
    from rap_desktop.ui.main_window import MainWindow
    from rap_desktop.ui.runtime.tasks import TaskRunner

    app = QApplication.instance() or QApplication([])
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rap-review-shots-"))
    for var, sub in (("XDG_CONFIG_HOME", "xdg"), ("HF_HOME", "hf"), ("RAP_DESKTOP_WEIGHTS_DIR", "weights")):
        os.environ[var] = str(work / sub)
    session = Session.open(work / "home", write_all(work / "models"))
    album = work / "Family photos"
    make_album(album, 24, seed=5, max_side=480)
    Indexer(session.retriever(), for_home(session.home)).index([album])
    sk = Path(skimage.__file__).parent / "data"
    session.store().add_concept("Chelsea", sk / "chelsea.png", "<Chelsea> is our tabby cat.", "cat")
    session.store().add_concept("Eileen", sk / "astronaut.png", "<Eileen> is an astronaut.", "person")
    rematch.after_change(session)

    settings = QSettings(str(work / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue(SKIP_MODELS_PROMPT, True)
    settings.setValue("groups/threshold", 0.8)  # random weights: all crops look alike
    settings.setValue("groups/min_size", 2)
    win = MainWindow(session, TaskRunner(), settings)
    win.resize(*size)
    win.move(0, 0)
    win.show()
    wait_until(app, lambda: win._loaded_once)
    win.tabs.tab_actions[1].trigger()  # the album, behind the question
    settle(app)

    dialog = win.album_tools.show_review()
    suffix = f"_{size[0]}x{size[1]}"

    def shown() -> None:
        wait_until(app, lambda: not dialog.loading and win.runner.pending == 0)
        dialog.move(max(0, (size[0] - dialog.width()) // 2), max(0, (size[1] - dialog.height()) // 3))
        settle(app)

    shown()
    shoot(app, out / f"whos_this_group{suffix}.png")
    for _ in range(30):  # skip the groups: the uncertain matches come after them
        if dialog.current is None or dialog.current.question.kind == "match":
            break
        dialog.skip()
        shown()
    if dialog.current is not None:
        shoot(app, out / f"whos_this_match{suffix}.png")
    dialog.close()
    win.close()
    session.close()


if __name__ == "__main__":
    width, height = (int(x) for x in sys.argv[2].split("x"))
    main(Path(sys.argv[1]), (width, height))
