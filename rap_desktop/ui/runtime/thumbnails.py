"""Thumbnails decoded off the GUI thread, cached by image file name (content-addressed, so a name
never changes its pixels)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QStyle

from rap_desktop.core.images import LoadedImage, load_image, thumbnail

from .tasks import TaskRunner


def pil_to_qimage(image: Image.Image) -> QImage:
    """An RGB PIL image as a QImage that owns its pixels (safe to hand to another thread)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    data = rgb.tobytes("raw", "RGB")
    return QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888).copy()


def load_thumbnail(path: Path, size: int) -> QImage:
    """io lane: decode through the core's safe loader, shrink, convert (QImage is thread-safe, QPixmap is not).

    Centred on a transparent square, so captions under landscape and portrait photos line up."""
    image = pil_to_qimage(thumbnail(load_image(path).image, size))
    side = max(image.width(), image.height())
    square = QImage(side, side, QImage.Format.Format_ARGB32_Premultiplied)
    square.fill(Qt.GlobalColor.transparent)
    painter = QPainter(square)
    painter.drawImage((side - image.width()) // 2, (side - image.height()) // 2, image)
    painter.end()
    return square


def load_photo(path: Path, preview_size: int) -> tuple[LoadedImage, QImage]:
    """io lane: the photo to register (decoded once, reused by the store) and its preview."""
    loaded = load_image(path)
    return loaded, pil_to_qimage(thumbnail(loaded.image, preview_size))


class ThumbnailCache(QObject):
    """`icon(name, path)` answers at once: the icon when cached, else a blank one and a load in the io lane."""

    ready = Signal(str)  # an image file name whose icon is now cached

    def __init__(self, runner: TaskRunner, size: int = 256, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self.size = size
        self._icons: dict[str, QIcon] = {}
        self._loading: set[str] = set()
        # an empty square while loading: views size their items from the first answer they get
        blank = QPixmap(size, size)
        blank.fill(Qt.GlobalColor.transparent)
        self._placeholder = QIcon(blank)

    def icon(self, name: str | None, path: Path | None) -> QIcon:
        if not name or path is None:
            return self._placeholder
        cached = self._icons.get(name)
        if cached is None and name not in self._loading:
            self._loading.add(name)
            self._runner.submit(
                load_thumbnail,
                path,
                self.size,
                lane="io",
                on_done=lambda image, n=name: self._store(n, image),
                on_error=lambda _message, n=name: self._store(n, None),  # a broken file: placeholder, no dialog
            )
        return cached or self._placeholder

    def pixmap(self, name: str | None) -> QPixmap | None:
        icon = self._icons.get(name or "")
        return icon.pixmap(QSize(self.size, self.size)) if icon is not None else None

    def _store(self, name: str, image: QImage | None) -> None:
        self._loading.discard(name)
        self._icons[name] = QIcon(QPixmap.fromImage(image)) if image is not None else _broken_icon()
        self.ready.emit(name)


def _broken_icon() -> QIcon:
    # the style's own icon: it follows the light/dark theme
    return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
