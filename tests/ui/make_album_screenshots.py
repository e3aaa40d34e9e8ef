"""Render the Album tab offscreen to PNGs, to look at them: a synthetic album of a few hundred
photos indexed through the GUI (album_indexing.png: mid-run, progress visible), then a concept
filter active with one photo confirmed (album.png).

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.ui.make_album_screenshots [OUT_DIR] [--count N] [--threshold T]

Tiny random-weight models: which photos the concept matches is meaningless; the page is real.
Not a test (no assertions).
"""

from __future__ import annotations

import os
import sys
import tempfile
import tomllib
from pathlib import Path

import tomli_w

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import rap_desktop.torch_compat  # noqa: F401

from .make_photo_screenshots import _settler


def main(out: Path, count: int, threshold: float) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from rap_desktop.core import corrections
    from rap_desktop.core.album import rematch
    from rap_desktop.core.session import Session
    from rap_desktop.devtools.synthetic_album import add_bad_files, make_album
    from rap_desktop.devtools.tiny_models import write_all
    from rap_desktop.ui.assistant.assistant_dock import SKIP_MODELS_PROMPT
    from rap_desktop.ui.main_window import MainWindow
    from rap_desktop.ui.runtime.tasks import TaskRunner

    app = QApplication.instance() or QApplication([])
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rap-album-view-shots-"))
    config = write_all(work / "models")
    data = tomllib.loads(config.read_text())
    data["retrieval"] = {"thresholds": {"tiny-clip": threshold}}  # random weights: all crops look alike
    strict = config.parent / "config-strict.toml"
    strict.write_bytes(tomli_w.dumps(data).encode())
    session = Session.open(work / "home", strict)
    album = work / "Family photos"
    files = make_album(album, count, seed=7, max_side=480)
    add_bad_files(album / "2019" / "scans")
    settings = QSettings(str(work / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue(SKIP_MODELS_PROMPT, True)
    window = MainWindow(session, TaskRunner(), settings)
    window.resize(1280, 800)
    window.show()
    settle = _settler(app, window)
    settle()
    page = window.album
    window.tabs.tab_actions[1].trigger()  # Ctrl+2
    settle()

    shot: list[int] = []

    def mid_run(progress) -> None:
        if progress.done >= count // 3 and not shot:
            shot.append(1)
            app.processEvents()
            window.grab().save(str(out / "album_indexing.png"))

    page.indexer.progressed.connect(mid_run)
    page.add_folders([str(album)])
    settle(lambda: not page.indexer.running, ms=600_000)

    chosen = files[count // 2]

    def register(session: Session) -> None:  # as Concepts ▸ Add concept… does, then the album re-match
        session.store().add_concept("bike", chosen, "<bike> is grandpa's red motorbike.", "thing")
        rematch.after_change(session)
        row = session.store().conn.execute(
            "SELECT p.sha256, r.ordinal FROM photos p JOIN regions r ON r.photo_id = p.id "
            "JOIN matches m ON m.region_id = r.id WHERE p.path = ? AND m.accepted = 1",
            (str(chosen),),
        ).fetchone()
        if row is not None:
            corrections.confirm(session.store(), row[0], f"r{row[1]}", "bike")
            rematch.after_change(session)

    window.runner.submit(register, session, on_done=lambda _r: window.refresh(["bike"]))
    settle(lambda: page.concept_box.findData("bike") > 0)
    page.concept_box.setCurrentIndex(page.concept_box.findData("bike"))
    settle(lambda: page.model.listing.concept == "bike")
    settle(lambda: not page.loader._wanted and not page.loader._loading)
    page.grid.setCurrentIndex(page.model.index(0))
    settle()
    window.grab().save(str(out / "album.png"))
    window.close()
    session.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    options = {"--count": 300.0, "--threshold": 0.985}  # the committed PNGs: these defaults
    for flag in options:
        if flag in args:
            at = args.index(flag)
            options[flag] = float(args[at + 1])
            del args[at : at + 2]
    main(Path(args[0]) if args else Path("/tmp"), int(options["--count"]), options["--threshold"])
