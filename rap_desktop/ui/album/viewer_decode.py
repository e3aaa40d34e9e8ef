"""What the viewer runs on the io lane: a photo (or its thumbnail) decoded and already scaled to the
size it is painted at, so the GUI thread only copies pixels; and, when a photo cannot be shown, why,
in words for a family (the technical reason goes behind a tooltip).

Measured with 12-MP JPEGs on 2 cores (benchmarks/viewer.results.md): a smooth rescale of a screen-size
photo in the paint event held the GUI thread ~20-40 ms per photo."""

from __future__ import annotations

from typing import NamedTuple

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage

from rap_desktop.core.thumbcache import ThumbCache

from .album_ops import read_photo, read_thumbnail

# the format the raster paint engine and QPixmap use for opaque pictures: no conversion on the GUI thread
FAST = QImage.Format.Format_RGB32


class Shown(NamedTuple):
    """A picture for the canvas: the decoded one (kept for resizes) and a copy fitted to `fit`."""

    image: QImage
    fitted: QImage


def fitted_size(size: QSize, box: QSize) -> QSize:
    """`size` scaled to fill `box` with its aspect kept (what the canvas paints)."""
    return size.scaled(box, Qt.AspectRatioMode.KeepAspectRatio)


def _shown(image: QImage, fit: QSize) -> Shown:
    image = image.convertToFormat(FAST)
    target = fitted_size(image.size(), fit)
    if target.isEmpty() or target == image.size():
        return Shown(image, image)
    smooth = Qt.TransformationMode.SmoothTransformation
    return Shown(image, image.scaled(target, Qt.AspectRatioMode.IgnoreAspectRatio, smooth))


def decode_photo(path: str, side: int, fit: QSize) -> Shown:
    """io lane: the photo within `side` pixels (a JPEG reduces inside its decoder), upright by its
    EXIF orientation, and fitted to `fit` device pixels."""
    return _shown(read_photo(path, side), fit)


def decode_thumbnail(thumbs: ThumbCache, sha256: str, path: str, fit: QSize) -> Shown:
    """io lane: the whole-picture thumbnail (the stand-in while the photo loads), fitted to `fit`."""
    return _shown(read_thumbnail(thumbs, sha256, path, 512, False), fit)


def cannot_show(detail: str) -> str:
    """Why a photo cannot be shown, for a family, from the loader's one-line reason."""
    reason = detail.lower()
    if "not found" in reason or "broken link" in reason:
        return "This photo is no longer in its folder: it was moved, renamed or deleted."
    if "permission" in reason:
        return "This photo cannot be opened: the app is not allowed to read it."
    if "too many pixels" in reason or "too large" in reason or "out of memory" in reason:
        return "This photo is too large to show."
    return "This photo cannot be shown: its file is damaged or is not a photo."
