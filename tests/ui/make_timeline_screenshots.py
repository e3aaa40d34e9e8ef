"""Screenshots of the album's timeline and viewer, the whole screen as a person sees it: an album of
package photos taken on a few days (some without EXIF: dated by their file time), indexed through
the window, a concept confirmed in one photo and a caption stored for it. Run under Xvfb, once per
screen size:

    xvfb-run -a -s "-screen 0 1024x700x24" \
        .venv/bin/python -m tests.ui.make_timeline_screenshots docs/screenshots 1024x700

timeline_WxH.png (the newest days), timeline_scrub_WxH.png (the scrubber dragged to an older month,
its month shown), viewer_WxH.png (the captioned photo large with its info panel). Tiny random-weight
models: which photos the concept matches is meaningless; the pages are real. Not a test."""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import tomli_w

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import rap_desktop.torch_compat  # noqa: F401

from .make_words_screenshots import settle, shoot, wait_until, window

# (day, photos that day): a summer holiday, a birthday, Christmas, a few ordinary days
DAYS = [
    ("2025-07-19 10:12", 7),
    ("2025-07-18 16:40", 9),
    ("2025-05-03 15:05", 4),
    ("2025-03-09 11:30", 3),
    ("2024-12-24 18:20", 8),
    ("2024-10-12 09:45", 5),
    ("2024-08-15 13:00", 6),
    ("2024-08-14 17:10", 7),
    ("2024-06-01 12:00", 4),
    ("2023-12-25 10:00", 6),
]
NO_EXIF = 3  # photos per day written without EXIF: their file time places them


def make_dated_album(folder: Path) -> list[Path]:
    from PIL import Image, ImageOps

    from rap_desktop.devtools.synthetic_album import _variant, source_photos

    rng = random.Random(11)
    sources = []
    for path in source_photos():
        with Image.open(path) as im:
            sources.append(ImageOps.exif_transpose(im).convert("RGB"))
    written = []
    for start, count in DAYS:
        first = datetime.strptime(start, "%Y-%m-%d %H:%M")
        for i in range(count):
            taken = first + timedelta(minutes=rng.randint(0, 240))
            image = _variant(sources[rng.randrange(len(sources))], rng, 900)
            path = folder / f"{taken.year}" / f"{taken:%Y-%m-%d}" / f"IMG_{taken:%H%M%S}_{i}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            if i < NO_EXIF and start.startswith("2024-08-14"):  # scanned or sent photos: no EXIF date
                image.save(path, format="JPEG", quality=88)
                stamp = time.mktime(taken.timetuple())  # the local wall clock then
                os.utime(path, (stamp, stamp))
            else:
                exif = Image.Exif()
                exif.get_ifd(0x8769)[36867] = taken.strftime("%Y:%m:%d %H:%M:%S")
                image.save(path, format="JPEG", quality=88, exif=exif)
            written.append(path)
    return written


def main(out: Path, size: tuple[int, int]) -> None:
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    from rap_desktop.core import corrections
    from rap_desktop.core.album import rematch
    from rap_desktop.core.session import Session
    from rap_desktop.core.store import captions
    from rap_desktop.devtools.tiny_models import write_all

    app = QApplication.instance() or QApplication([])
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rap-timeline-shots-"))
    for var, sub in (("XDG_CONFIG_HOME", "xdg"), ("HF_HOME", "hf"), ("RAP_DESKTOP_WEIGHTS_DIR", "weights")):
        os.environ[var] = str(work / sub)
    config = write_all(work / "models")
    data = tomllib.loads(config.read_text())
    data["retrieval"] = {"thresholds": {"tiny-clip": 0.985}}  # random weights: all crops look alike
    strict = config.parent / "config-strict.toml"
    strict.write_bytes(tomli_w.dumps(data).encode())
    album = work / "Family photos"
    files = make_dated_album(album)
    session = Session.open(work / "home", strict)
    win = window(app, session, work, size)
    suffix = f"_{size[0]}x{size[1]}"
    page = win.album
    win.tabs.show_album()
    page.add_folders([str(album)])
    wait_until(app, lambda: not page.indexer.running, 600)
    wait_until(app, lambda: page.model.rowCount() == len(files))

    chosen = files[DAYS[0][1] + 2]  # a photo of the second day shown

    def register(session: Session) -> int:  # as Concepts ▸ Add concept… does, then the album re-match
        store = session.store()
        store.add_concept("Grandpa", chosen, "<Grandpa> is Anna's grandfather.", "person")
        store.add_concept("Bo", files[0], "<Bo> is our Shiba Inu.", "dog")
        rematch.after_change(session)
        row = store.conn.execute(
            "SELECT p.id, p.sha256, r.ordinal FROM photos p JOIN regions r ON r.photo_id = p.id "
            "JOIN matches m ON m.region_id = r.id WHERE p.path = ? AND m.accepted = 1",
            (str(chosen),),
        ).fetchone()
        photo_id = store.conn.execute("SELECT id FROM photos WHERE path = ?", (str(chosen),)).fetchone()[0]
        if row is not None:
            corrections.confirm(store, row[1], f"r{row[2]}", "Grandpa")
            rematch.after_change(session)
        captions.save_caption(
            store, photo_id, "<Grandpa> at the beach with the children, late afternoon.", "tiny", ["Grandpa"]
        )
        return photo_id

    done: list[int] = []
    win.runner.submit(register, session, on_done=lambda pid: (done.append(pid), win.refresh(["Grandpa", "Bo"])))
    wait_until(app, lambda: bool(done))
    page.search_now()
    settle(app, 1.5)
    page.grid.setFocus()
    page.grid.setCurrentIndex(page.model.index(1))
    wait_until(app, lambda: not page.loader._wanted and not page.loader._loading)
    shoot(app, out / f"timeline{suffix}.png")

    # the scrubber dragged two thirds down: an older month at the top, its name beside the pointer
    scrubber = page.grid.scrubber
    y = scrubber.height() * 2 // 3
    for kind in (QMouseEvent.Type.MouseButtonPress, QMouseEvent.Type.MouseMove):
        event = QMouseEvent(
            kind, QPointF(QPoint(8, y)), QPointF(scrubber.mapToGlobal(QPoint(8, y))),
            Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
        )  # fmt: skip
        QApplication.sendEvent(scrubber, event)
    settle(app, 0.5)
    wait_until(app, lambda: not page.loader._wanted and not page.loader._loading)
    shoot(app, out / f"timeline_scrub{suffix}.png")
    release = QMouseEvent(
        QMouseEvent.Type.MouseButtonRelease, QPointF(QPoint(8, y)), QPointF(scrubber.mapToGlobal(QPoint(8, y))),
        Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(scrubber, release)

    page.open_viewer(page.model.row_of_path(chosen))
    wait_until(app, lambda: page.viewer.info.caption.text() not in ("", "…"))
    wait_until(app, lambda: page.viewer.canvas.pixmap is not None and not page.viewer._tasks)
    shoot(app, out / f"viewer{suffix}.png")
    win.close()
    session.close()


if __name__ == "__main__":
    width, height = (int(x) for x in sys.argv[2].split("x"))
    main(Path(sys.argv[1]), (width, height))
