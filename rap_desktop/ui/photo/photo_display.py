"""Photo pixels for the screen, made on the io lane: a preview about the size of the screen and,
when zoomed in past it, a sharper tile of the part on view.

Both come out as QImages in the screen's own 32-bit format, so the GUI thread's QPixmap.fromImage
is a plain copy (no conversion) and painting never scales a 12-megapixel pixmap down."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtGui import QImage, QScreen

from rap_desktop.core.images import LoadedImage, load_image, thumbnail

from ..runtime.thumbnails import pil_to_qimage

MIN_PREVIEW, MAX_PREVIEW = 1024, 4096  # longest side of the preview, in pixels
MAX_TILE = 4096  # longest side of a sharper tile


def screen_pixels(screen: QScreen | None) -> int:
    """The longest side of the screen in device pixels: a bigger preview is never seen unzoomed."""
    if screen is None:
        return 2048
    size = screen.size()
    return int(max(size.width(), size.height()) * screen.devicePixelRatio())


def preview_side(screen: QScreen | None) -> int:
    return max(MIN_PREVIEW, min(MAX_PREVIEW, screen_pixels(screen)))


def for_screen(image: Image.Image) -> QImage:
    return pil_to_qimage(image).convertToFormat(QImage.Format.Format_RGB32)


def load_for_display(path: Path, side: int) -> tuple[LoadedImage, QImage]:
    """io lane: the photo (decoded once, reused by retrieval) and its screen-sized preview."""
    loaded = load_image(path)
    return loaded, for_screen(thumbnail(loaded.image, side))


def tile(loaded: LoadedImage, box: tuple[int, int, int, int], scale: float) -> QImage:
    """io lane: the photo's pixels in `box` (photo pixels), resized by `scale` (at most 1: the
    photo's own pixels) and to at most MAX_TILE on its longest side."""
    x1, y1, x2, y2 = box
    crop = loaded.image.crop(box)
    scale = min(1.0, scale, MAX_TILE / max(1, x2 - x1, y2 - y1))
    size = (max(1, round((x2 - x1) * scale)), max(1, round((y2 - y1) * scale)))
    if size != crop.size:
        crop = crop.resize(size, Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC)
    return for_screen(crop)
