"""The album's photo viewer: one photo large, next and previous from the keyboard and the wheel, a
slim info panel (date, where in the album's folders, who and what is in it, the stored caption),
and the Photo tab's recognition and questions one key away (R).

The photo is decoded on the io lane at screen size; its thumbnail stands in until it arrives. The
neighbours are decoded next, so stepping through a day waits for nothing. Keys: Right, Space,
PageDown and the wheel down = next; Left, Shift+Space, PageUp and the wheel up = previous; Home, End;
R = recognise and ask in the Photo tab; Escape or Backspace = back to the timeline."""

from __future__ import annotations

import collections
import contextlib
import os
import re

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QPainter, QPaintEvent, QPixmap, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QBoxLayout, QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from rap_desktop.core.thumbcache import ThumbCache

from ..runtime.tasks import TaskRunner
from .album_model import AlbumModel, name_of, when
from .album_ops import AlbumPhoto, AlbumQueries, PhotoDetails, read_photo, read_thumbnail

KEPT = 5  # decoded photos kept: the one shown and its neighbours both ways
NOTCH = 120  # one wheel notch (angleDelta units): one photo
PANEL = 240  # the info panel's width beside the photo
NARROW = 720  # a viewer narrower than this has the info panel under the photo


class PhotoCanvas(QWidget):
    """The photo, as large as fits, on a dark ground; scaled once per photo and size."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pixmap: QPixmap | None = None
        self._fitted: QPixmap | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 150)

    def set_pixmap(self, pixmap: QPixmap | None) -> None:
        self.pixmap, self._fitted = pixmap, None
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._fitted = None
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 24))
        if self.pixmap is not None and not self.pixmap.isNull():
            if self._fitted is None:
                ratio = self.devicePixelRatioF()
                self._fitted = self.pixmap.scaled(
                    self.size() * ratio, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
                self._fitted.setDevicePixelRatio(ratio)
            size = self._fitted.deviceIndependentSize().toSize()
            painter.drawPixmap((self.width() - size.width()) // 2, (self.height() - size.height()) // 2, self._fitted)
        painter.end()


def _label(text: str = "", bold: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if bold:
        label.setStyleSheet("font-weight: bold;")
    return label


class InfoPanel(QFrame):
    """Date, folder, who and what, caption: what the album knows about the photo, in plain words."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = _label(bold=True)
        self.date = _label()
        self.place = _label()
        self.people = _label()
        self.caption = _label()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(2)
        for title, value in (
            ("", self.name),
            ("Taken", self.date),
            ("Folder", self.place),
            ("In this photo", self.people),
            ("Caption", self.caption),
        ):
            if title:
                heading = QLabel(title)
                heading.setStyleSheet("color: palette(placeholder-text); margin-top: 6px;")
                layout.addWidget(heading)
            layout.addWidget(value)
        layout.addStretch(1)

    def show_photo(self, photo: AlbumPhoto) -> None:
        self.name.setText(name_of(photo))
        self.name.setToolTip(photo.path)
        self.date.setText(when(photo.taken))
        self.place.setText(os.path.dirname(photo.path))
        self.people.setText("…")
        self.caption.setText("…")

    def show_details(self, details: PhotoDetails) -> None:
        self.place.setText(details.place)
        names = [f"✓ {name}" if confirmed else name for name, _category, confirmed in details.names]
        self.people.setText(", ".join(names) if names else "Nobody and nothing you named was found here.")
        caption = re.sub(r"<([^<>]+)>", r"\1", details.caption) if details.caption else ""  # names as written
        self.caption.setText(caption or "No caption yet (Album ▸ Caption and tag photos…).")

    def beside(self, yes: bool) -> None:
        """Beside the photo (a fixed width) or under it (the full width, as high as its text)."""
        self.setFixedWidth(PANEL) if yes else self.setMaximumWidth(16_777_215)
        if not yes:
            self.setMinimumWidth(0)
        self.setSizePolicy(
            QSizePolicy.Policy.Fixed if yes else QSizePolicy.Policy.Preferred,
            QSizePolicy.Policy.Preferred if yes else QSizePolicy.Policy.Maximum,
        )


class PhotoViewer(QWidget):
    back_requested = Signal()  # Escape, Backspace, the Back button
    recognise_requested = Signal(str)  # R: this photo in the Photo tab (recognition and questions)
    moved = Signal(int)  # the row now shown
    loaded = Signal(int)  # the row whose full photo is now on screen (tests wait on it)
    described = Signal(int)  # the row whose info panel is now filled in

    def __init__(
        self, runner: TaskRunner, queries: AlbumQueries, model: AlbumModel, thumbs: ThumbCache, parent=None
    ) -> None:
        super().__init__(parent)
        self.runner, self.queries, self.model, self.thumbs = runner, queries, model, thumbs
        self.row = -1
        self._photos: collections.OrderedDict[str, QPixmap] = collections.OrderedDict()  # sha -> decoded photo
        self._loading: set[str] = set()
        self._wheel = 0
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._build()

    def _build(self) -> None:
        self.back_button = QPushButton("← Album")
        self.back_button.setToolTip("Back to the album, to this photo (Esc)")
        self.back_button.clicked.connect(self.back_requested)
        self.previous_button = QPushButton("◀")
        self.previous_button.setToolTip("Previous photo (Left, Page Up, Shift+Space)")
        self.previous_button.clicked.connect(self.previous)
        self.next_button = QPushButton("▶")
        self.next_button.setToolTip("Next photo (Right, Page Down, Space)")
        self.next_button.clicked.connect(self.next)
        self.position = QLabel()
        self.recognise_button = QPushButton("Who's in it? Ask… (R)")
        self.recognise_button.setToolTip(
            "Open this photo in the Photo tab: who and what is in it, fix it, ask about it (R)"
        )
        self.recognise_button.clicked.connect(self.recognise)
        for button in (self.back_button, self.previous_button, self.next_button, self.recognise_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys stay with the viewer
        for button in (self.previous_button, self.next_button):
            button.setMaximumWidth(48)
        bar = QHBoxLayout()
        bar.addWidget(self.back_button)
        bar.addWidget(self.previous_button)
        bar.addWidget(self.next_button)
        bar.addWidget(self.position)
        bar.addStretch(1)
        bar.addWidget(self.recognise_button)
        self.canvas = PhotoCanvas()
        self.info = InfoPanel()
        self.body = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.body.setSpacing(0)
        self.body.addWidget(self.canvas, 1)
        self.body.addWidget(self.info)
        self.info.beside(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(bar)
        layout.addLayout(self.body, 1)

    def resizeEvent(self, event: QResizeEvent) -> None:
        beside = event.size().width() >= NARROW
        direction = QBoxLayout.Direction.LeftToRight if beside else QBoxLayout.Direction.TopToBottom
        if self.body.direction() != direction:
            self.body.setDirection(direction)
            self.info.beside(beside)
        super().resizeEvent(event)

    # --- which photo -----------------------------------------------------------------------------

    def photo(self) -> AlbumPhoto | None:
        return self.model.photo(self.row) if 0 <= self.row < self.model.rowCount() else None

    def open_row(self, row: int) -> None:
        count = self.model.rowCount()
        if not count:
            return
        self.row = max(0, min(count - 1, row))
        photo = self.model.photo(self.row)
        self.position.setText(f"{self.row + 1:,} of {count:,}")
        self.previous_button.setEnabled(self.row > 0)
        self.next_button.setEnabled(self.row < count - 1)
        self.info.show_photo(photo)
        full = self._photos.get(photo.sha256)
        if full is not None:
            self._photos.move_to_end(photo.sha256)
            self.canvas.set_pixmap(full)
            self.loaded.emit(self.row)
        else:
            self.canvas.set_pixmap(self.model.loader.pixmap(photo.sha256, photo.path))  # the tile, while it loads
            self._read_thumbnail(photo)
        self._decode(photo)
        for near in (self.row + 1, self.row - 1):  # the next first: most people go forward
            if 0 <= near < count:
                self._decode(self.model.photo(near))
        self._describe(self.row, photo)
        self.moved.emit(self.row)

    def next(self) -> None:
        if self.row < self.model.rowCount() - 1:
            self.open_row(self.row + 1)

    def previous(self) -> None:
        if self.row > 0:
            self.open_row(self.row - 1)

    def recognise(self) -> None:
        photo = self.photo()
        if photo is not None and photo.path:
            self.recognise_requested.emit(photo.path)

    # --- background work -------------------------------------------------------------------------

    def _side(self) -> int:
        screen = self.screen().size() if self.screen() is not None else QSize(1920, 1080)
        return min(2560, int(max(screen.width(), screen.height()) * self.devicePixelRatioF()))

    def _read_thumbnail(self, photo: AlbumPhoto) -> None:
        with contextlib.suppress(RuntimeError):  # closing
            self.runner.submit(
                read_thumbnail, self.thumbs, photo.sha256, photo.path, 512, False,
                lane="io", on_done=lambda image, p=photo: self._thumbnail_read(p, image), on_error=lambda _e: None,
            )  # fmt: skip

    def _thumbnail_read(self, photo: AlbumPhoto, image: QImage) -> None:
        shown = self.photo()
        if shown is not None and shown.sha256 == photo.sha256 and photo.sha256 not in self._photos:
            self.canvas.set_pixmap(QPixmap.fromImage(image))

    def _decode(self, photo: AlbumPhoto) -> None:
        if not photo.path or photo.sha256 in self._photos or photo.sha256 in self._loading:
            return
        self._loading.add(photo.sha256)
        with contextlib.suppress(RuntimeError):
            self.runner.submit(
                read_photo, photo.path, self._side(),
                lane="io", on_done=lambda image, p=photo: self._decoded(p, image),
                on_error=lambda _e, p=photo: self._loading.discard(p.sha256),  # the thumbnail stays
            )  # fmt: skip

    def _decoded(self, photo: AlbumPhoto, image: QImage) -> None:
        self._loading.discard(photo.sha256)
        self._photos[photo.sha256] = QPixmap.fromImage(image)
        while len(self._photos) > KEPT:
            self._photos.popitem(last=False)
        shown = self.photo()
        if shown is not None and shown.sha256 == photo.sha256:
            self.canvas.set_pixmap(self._photos[photo.sha256])
            self.loaded.emit(self.row)

    def _describe(self, row: int, photo: AlbumPhoto) -> None:
        with contextlib.suppress(RuntimeError):
            self.runner.submit(
                self.queries.details, photo,
                on_done=lambda details, r=row: self._described(r, details), on_error=lambda _e: None,
            )  # fmt: skip

    def _described(self, row: int, details: PhotoDetails) -> None:
        photo = self.photo()
        if row == self.row and photo is not None and photo.photo_id == details.photo_id:
            self.info.show_details(details)
            self.described.emit(row)

    # --- keys and wheel --------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, shift = event.key(), bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        keys = Qt.Key
        if key in (keys.Key_Right, keys.Key_PageDown, keys.Key_Down) or (key == keys.Key_Space and not shift):
            self.next()
        elif key in (keys.Key_Left, keys.Key_PageUp, keys.Key_Up) or (key == keys.Key_Space and shift):
            self.previous()
        elif key == keys.Key_Home:
            self.open_row(0)
        elif key == keys.Key_End:
            self.open_row(self.model.rowCount() - 1)
        elif key in (keys.Key_Escape, keys.Key_Backspace):
            self.back_requested.emit()
        elif key == keys.Key_R and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            self.recognise()
        else:
            super().keyPressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        """A notch (or a swipe's worth of a touchpad's small steps) is one photo; down or left = next."""
        delta = event.angleDelta()
        self._wheel += delta.y() if abs(delta.y()) >= abs(delta.x()) else delta.x()
        while abs(self._wheel) >= NOTCH:
            step = 1 if self._wheel < 0 else -1
            self._wheel += NOTCH * step
            self.next() if step > 0 else self.previous()
        event.accept()
