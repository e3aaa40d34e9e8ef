"""A 12-megapixel photo on screen: a screen-sized preview, a sharper tile of the part on view when
zoomed in (the photo's own pixels at 1:1), and boxes still in the photo's own pixels."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage

from rap_desktop.ui.main_window import MainWindow
from rap_desktop.ui.photo import photo_display

from .photo_helpers import WAIT, open_photo


def _big_photo(folder: Path, photos) -> Path:
    base = Image.open(photos["astronaut"]).convert("RGB").resize((4000, 3000))
    base.paste(Image.open(photos["chelsea"]).convert("RGB").resize((1200, 800)), (2600, 2000))
    path = folder / "big.png"
    base.save(path)
    return path


def test_big_photo_gets_a_screen_preview_and_a_sharp_tile_when_zoomed(
    qtbot, window: MainWindow, photos, tmp_path: Path
) -> None:
    path = _big_photo(tmp_path, photos)
    window.photos.everything_action.setChecked(True)  # every region drawn (quiet is the default)
    open_photo(qtbot, window, path)
    view = window.photo_view
    preview = view.photo.pixmap()
    side = photo_display.preview_side(view.screen())
    assert max(preview.width(), preview.height()) == min(side, 4000) < 4000
    assert preview.toImage().format() == QImage.Format.Format_RGB32  # no conversion on the GUI thread
    assert view.sceneRect().getRect() == (0, 0, 4000, 3000)  # boxes live in the photo's own pixels
    for region in window.photos.current.result.regions:
        assert view.items_by_id[region.id].rect().getCoords() == tuple(float(v) for v in region.box)
    assert view.detail is None  # fitted: the preview is sharp enough

    view.centerOn(QPointF(3000, 2300))  # on the cat
    with qtbot.waitSignal(view.detail_wanted, timeout=WAIT):
        view.zoom(1.0 / view.transform().m11())  # 1:1
    qtbot.waitUntil(lambda: view.detail is not None, timeout=WAIT)
    tile = view.detail
    image = tile.pixmap().toImage()
    assert abs(tile.scale() - 1.0) < 1e-6 and image.width() > 100  # one tile pixel per photo pixel
    visible = view.mapToScene(view.viewport().rect()).boundingRect().intersected(view.sceneRect())
    assert tile.sceneBoundingRect().contains(visible)
    with Image.open(path) as original:
        for x, y in ((3000, 2300), (2700, 2100), (int(visible.left()) + 3, int(visible.top()) + 3)):
            at = tile.mapFromScene(QPointF(x + 0.5, y + 0.5))
            pixel = image.pixelColor(int(at.x()), int(at.y()))
            assert (pixel.red(), pixel.green(), pixel.blue()) == original.getpixel((x, y))


def test_tile_is_the_photo_crop_scaled(photos) -> None:
    from rap_desktop.core.images import load_image

    loaded = load_image(photos["astronaut"])  # 512 x 512
    half = photo_display.tile(loaded, (100, 50, 300, 250), 0.5)
    assert (half.width(), half.height()) == (100, 100)
    full = photo_display.tile(loaded, (100, 50, 300, 250), 3.0)  # never past the photo's own pixels
    assert (full.width(), full.height()) == (200, 200)
    pixel = full.pixelColor(10, 20)
    assert (pixel.red(), pixel.green(), pixel.blue()) == loaded.image.getpixel((110, 70))
