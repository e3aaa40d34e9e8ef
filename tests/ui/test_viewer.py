"""The album's viewer with real photos on disk (generated JPEGs, a photo turned by its EXIF orientation,
a truncated file, a file that is gone): paging fast drops the photos passed by, no photo is decoded or
smoothly rescaled on the GUI thread, the photo comes fitted to the canvas, a photo that cannot be shown
says why in plain words, and an EXIF-turned photo stands upright."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt

from rap_desktop.core.images import sha256_file
from rap_desktop.core.session import Session
from rap_desktop.core.thumbcache import for_home
from rap_desktop.devtools.synthetic_album import add_bad_files, make_album
from rap_desktop.ui.album.album_model import AlbumModel, ThumbLoader
from rap_desktop.ui.album.album_ops import AlbumPhoto, AlbumQueries, Listing
from rap_desktop.ui.album.viewer import PhotoViewer
from rap_desktop.ui.runtime.tasks import TaskRunner

WAIT = 30_000
N = 14


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("viewer")
    good = make_album(folder / "album", N, seed=3, max_side=900)
    turned = folder / "turned.jpg"  # stored 600x400, EXIF 6: shown 400x600, its red top on the right
    image = Image.new("RGB", (600, 400), (20, 120, 220))
    image.paste((230, 20, 20), (0, 0, 600, 60))
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(turned, quality=92, exif=exif)
    bad = add_bad_files(folder / "bad", good[0])
    return {"good": good, "turned": turned, "truncated": bad["truncated"], "gone": folder / "gone.jpg"}


@pytest.fixture
def viewer(qtbot, home: Path, tiny_config: Path) -> Iterator[PhotoViewer]:
    session = Session.open(home, tiny_config)
    runner = TaskRunner()
    loader = ThumbLoader(runner, for_home(home))
    model = AlbumModel(loader)
    widget = PhotoViewer(runner, AlbumQueries(session), model, loader.thumbs)
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    yield widget
    widget.close()
    runner.shutdown()
    session.close()


def _list(viewer: PhotoViewer, paths: list[Path]) -> list[AlbumPhoto]:
    rows = [
        AlbumPhoto(i + 1, sha256_file(p) if p.is_file() else f"{i:064x}", str(p), 1.7e9 - i * 60)
        for i, p in enumerate(paths)
    ]
    viewer.model.set_listing(Listing(rows))
    return rows


class GuiThreadWork:
    """What runs on the GUI thread meanwhile: Pillow decoding, and smooth rescales in the canvas's paint."""

    def __init__(self) -> None:
        self.decodes: list[str] = []
        self.rescales = 0

    def __call__(self, frame, event: str, arg) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        if event == "call" and frame.f_code.co_name in ("load", "load_read") and "PIL" in frame.f_code.co_filename:
            self.decodes.append(frame.f_code.co_filename)
        elif event == "c_call" and getattr(arg, "__name__", "") == "scaled" and frame.f_code.co_name == "paintEvent":
            canvas = frame.f_locals.get("self")
            if not getattr(canvas, "_quick", False):  # a stand-in tile may be scaled fast; the photo never
                self.rescales += 1


def test_paging_fast_skips_the_photos_passed_by_off_the_gui_thread(qtbot, viewer: PhotoViewer, files) -> None:
    rows = _list(viewer, files["good"])  # type: ignore[arg-type]
    decoded: list[str] = []
    viewer.decoded.connect(decoded.append)
    with qtbot.waitSignal(viewer.loaded, timeout=WAIT):
        viewer.open_row(0)
    qtbot.waitUntil(lambda: rows[1].sha256 in decoded, timeout=WAIT)  # the next one, read ahead
    assert viewer.canvas.prepared()  # the photo came fitted to the canvas: painting only copies
    work = GuiThreadWork()
    sys.setprofile(work)
    try:
        for _ in range(10):  # a held key: nothing is delivered between the presses
            qtbot.keyClick(viewer, Qt.Key.Key_Right)
        assert viewer.row == 10
        with qtbot.waitSignal(viewer.loaded, timeout=WAIT, check_params_cb=lambda row: row == 10):
            pass
        qtbot.waitUntil(lambda: rows[11].sha256 in decoded and rows[9].sha256 in decoded, timeout=WAIT)
        viewer.canvas.repaint()
    finally:
        sys.setprofile(None)
    assert viewer.canvas.prepared() and viewer.canvas.pixmap is not None
    assert work.decodes == [] and work.rescales == 0
    passed = {r.sha256 for r in rows[2:9]}
    # the photos passed by were dropped, but for the io lane's threads already at work when a key came
    io_threads = viewer.runner._lanes["io"].maxThreadCount()
    assert len(passed & set(decoded)) <= io_threads, (len(passed & set(decoded)), io_threads)
    # the photo on show is the photo, at the screen size it was decoded for (a 900-px photo as it is)
    with Image.open(rows[10].path) as image:
        assert (viewer.canvas.pixmap.width(), viewer.canvas.pixmap.height()) == image.size


def test_a_photo_that_cannot_be_shown_says_why_in_plain_words(qtbot, viewer: PhotoViewer, files) -> None:
    good = files["good"]
    _list(viewer, [good[1], files["truncated"], files["gone"], good[2]])  # type: ignore[index]
    with qtbot.waitSignal(viewer.failed, timeout=WAIT, check_params_cb=lambda row: row == 1):
        viewer.open_row(1)
    canvas = viewer.canvas
    assert canvas.message == "This photo cannot be shown: its file is damaged or is not a photo."
    assert "truncated" in canvas.toolTip() and files["truncated"].name in canvas.toolTip()  # type: ignore[union-attr]
    with qtbot.waitSignal(viewer.failed, timeout=WAIT, check_params_cb=lambda row: row == 2):
        qtbot.keyClick(viewer, Qt.Key.Key_Right)
    assert canvas.message == "This photo is no longer in its folder: it was moved, renamed or deleted."
    assert "not found" in canvas.toolTip()
    canvas.repaint()  # the message paints (nothing raises)
    with qtbot.waitSignal(viewer.loaded, timeout=WAIT, check_params_cb=lambda row: row == 3):
        qtbot.keyClick(viewer, Qt.Key.Key_Right)  # the keys still work, and the next photo shows
    assert canvas.message == "" and canvas.toolTip() == "" and canvas.pixmap is not None
    with qtbot.waitSignal(viewer.failed, timeout=WAIT, check_params_cb=lambda row: row == 1):
        qtbot.keyClick(viewer, Qt.Key.Key_Left)
        qtbot.keyClick(viewer, Qt.Key.Key_Left)  # known to fail: said at once, not read again
    assert canvas.message.startswith("This photo cannot be shown")


def test_a_photo_turned_by_its_exif_orientation_stands_upright(qtbot, viewer: PhotoViewer, files) -> None:
    rows = _list(viewer, [files["turned"], files["good"][0]])  # type: ignore[list-item,index]
    viewer.open_row(1)
    with qtbot.waitSignal(viewer.loaded, timeout=WAIT, check_params_cb=lambda row: row == 0):
        qtbot.keyClick(viewer, Qt.Key.Key_Left)
    assert viewer.row == 0 and rows[0].path == str(files["turned"])
    image = viewer.canvas.pixmap.toImage()
    assert (image.width(), image.height()) == (400, 600)
    red, blue = image.pixelColor(370, 300), image.pixelColor(100, 300)  # the stored top is now the right edge
    assert red.red() > 180 and red.blue() < 80 and blue.blue() > 180 and blue.red() < 80
    thumb = getattr(viewer, "_thumbs", {}).get(rows[0].sha256)  # the stand-in it showed first: upright too
    if thumb is not None:
        assert thumb[0].height() > thumb[0].width()
