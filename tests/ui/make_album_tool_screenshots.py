"""Render the album tools offscreen to PNGs, to look at them: Album ▸ Unknown groups… (the listing
and the naming dialog refusing a name in use) and Album ▸ Caption and tag photos… (mid-run and
the summary).

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.ui.make_album_tool_screenshots [OUT_DIR]

Tiny random-weight models: which regions group together and what the captions say is meaningless;
the dialogs are real. Not a test (no assertions).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import rap_desktop.torch_compat  # noqa: F401

from .make_photo_screenshots import _settler


def main(out: Path) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from rap_desktop.core.album import rematch
    from rap_desktop.core.album.indexer import Indexer
    from rap_desktop.core.models.generator import GenerationOptions
    from rap_desktop.core.session import Session
    from rap_desktop.core.thumbcache import for_home
    from rap_desktop.devtools.synthetic_album import make_album
    from rap_desktop.devtools.tiny_models import write_all
    from rap_desktop.ui.assistant.assistant_dock import SKIP_MODELS_PROMPT
    from rap_desktop.ui.main_window import MainWindow
    from rap_desktop.ui.runtime.tasks import TaskRunner

    app = QApplication.instance() or QApplication([])
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rap-album-shots-"))
    session = Session.open(work / "home", write_all(work / "models"))
    album = work / "Family photos"
    files = make_album(album, 16, seed=5, max_side=480)
    Indexer(session.retriever(), for_home(session.home)).index([album])
    session.store().add_concept("bo", files[0], "<bo> is our dog.", "dog")
    rematch.after_change(session)
    settings = QSettings(str(work / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue(SKIP_MODELS_PROMPT, True)
    settings.setValue("groups/threshold", 0.8)
    settings.setValue("groups/min_size", 2)
    window = MainWindow(session, TaskRunner(), settings)
    window.show()
    settle = _settler(app, window)
    settle(lambda: window.model.rowCount() == 1)

    tools = window.album_tools
    groups = tools.show_groups()
    settle(lambda: not groups.loading)
    settle()
    groups.grab().save(str(out / "groups.png"))
    groups.name_selected()
    ask = groups.name_dialog
    ask.name_edit.setText("Bo")  # taken: the inline message shows
    settle()
    ask.grab().save(str(out / "groups_name.png"))
    ask.reject()
    groups.close()

    caption = tools.show_caption()
    settle(lambda: caption.folder.isEnabled() and caption.folder.count() > 0)
    caption.write_xmp.setChecked(True)
    caption.options = GenerationOptions(max_new_tokens=24)
    shot: list[int] = []

    def mid_run(progress) -> None:
        if progress.done == 5 and not shot:
            shot.append(1)
            caption.grab().save(str(out / "caption_album.png"))

    files[3].write_bytes(files[4].read_bytes())  # changed since indexing: listed in the summary
    caption.start()
    caption.run.progress.connect(mid_run)
    settle(lambda: not caption.running, ms=600_000)
    settle()
    caption.grab().save(str(out / "caption_album_done.png"))
    window.close()
    session.close()
    print(f"saved to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp"))
