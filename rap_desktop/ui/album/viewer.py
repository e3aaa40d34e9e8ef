"""The album's photo viewer: one photo large, next and previous from the keyboard and the wheel, a
slim info panel (date, where in the album's folders, who and what is in it, the stored caption),
and the Photo tab's recognition and questions one key away (R).

The photo is decoded on the io lane at screen size (a JPEG reduces inside its decoder) and comes
fitted to the canvas, so the GUI thread only copies pixels; its whole-picture thumbnail (the
timeline's tile until that is read) stands in meanwhile. The neighbours' thumbnails and photos are
read next, so stepping through a day waits for nothing; paging fast (a held key) shows each photo's
thumbnail, drops the jobs of the photos passed by and decodes once the keys pause. A photo that
cannot be shown (gone, damaged, too large) says so in plain words. Keys: Right, Space, PageDown
and the wheel down = next; Left, Shift+Space, PageUp and the wheel up = previous; Home, End;
R = recognise and ask in the Photo tab; Escape or Backspace = back to the timeline."""

from __future__ import annotations

import collections
import contextlib
import os
import re
import time

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPaintEvent, QPixmap, QResizeEvent, QShowEvent, QWheelEvent
from PySide6.QtWidgets import QBoxLayout, QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from rap_desktop.core.thumbcache import ThumbCache

from ..runtime.tasks import Task, TaskRunner, message
from .album_model import AlbumModel, name_of, when
from .album_ops import AlbumPhoto, AlbumQueries, PhotoDetails
from .viewer_decode import Shown, cannot_show, decode_photo, decode_thumbnail, fitted_size

KEPT = 5  # decoded photos kept: the one shown and its neighbours both ways
KEPT_THUMBS = 24  # whole-picture thumbnails kept (stand-ins while a photo decodes; ~1 MB each)
SETTLE_MS = 120  # photos opened faster than this (a held key, a fast wheel): decoded when it pauses
NOTCH = 120  # one wheel notch (angleDelta units): one photo
PANEL = 240  # the info panel's width beside the photo
NARROW = 720  # a viewer narrower than this has the info panel under the photo


class PhotoCanvas(QWidget):
    """The photo, as large as fits, on a dark ground. The copy it paints comes fitted from the io lane
    (`show`); only a resize makes it scale on the GUI thread, once per size. With a `message` (the
    photo cannot be shown) it says why over a faded stand-in."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pixmap: QPixmap | None = None
        self.message = ""
        self._fitted: QPixmap | None = None
        self._quick = False  # a stand-in: scaled fast when it must be scaled here
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 150)

    def fit(self) -> QSize:
        """The size, in device pixels, the picture is painted at."""
        return self.size() * self.devicePixelRatioF()

    def show_picture(self, pixmap: QPixmap | None, fitted: QPixmap | None = None, quick: bool = False) -> None:
        self.pixmap, self._quick, self.message = pixmap, quick, ""
        self.setToolTip("")
        self._fitted = fitted if fitted is not None and pixmap is not None and self._fits(pixmap, fitted) else None
        self.update()

    def show_message(self, message: str, detail: str) -> None:
        """The photo cannot be shown: say why (the loader's reason in the tooltip); a stand-in stays, faded."""
        self.message = message
        self.setToolTip(detail)
        self.update()

    def prepared(self) -> bool:
        """The copy to paint is ready at the current size (made off the GUI thread, or already scaled)."""
        return self.pixmap is not None and self._fitted is not None and self._fits(self.pixmap, self._fitted)

    def _fits(self, pixmap: QPixmap, fitted: QPixmap) -> bool:
        return fitted.size() == fitted_size(pixmap.size(), self.fit())

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._fitted = None
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 24))
        if self.pixmap is not None and not self.pixmap.isNull():
            if self._fitted is None:
                mode = Qt.TransformationMode
                how = mode.FastTransformation if self._quick else mode.SmoothTransformation
                self._fitted = self.pixmap.scaled(self.fit(), Qt.AspectRatioMode.KeepAspectRatio, how)
            ratio = self.devicePixelRatioF()
            width, height = self._fitted.width() / ratio, self._fitted.height() / ratio
            target = QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height)
            painter.setOpacity(0.25 if self.message else 1.0)
            painter.drawPixmap(target, self._fitted, QRectF(self._fitted.rect()))
            painter.setOpacity(1.0)
        if self.message:
            painter.setPen(QColor(235, 235, 235))
            box = self.rect().adjusted(40, 40, -40, -40)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
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
    decoded = Signal(str)  # a photo (sha256) decoded in full on the io lane: shown, or kept for later
    failed = Signal(int)  # the row whose photo cannot be shown (the canvas says why)
    described = Signal(int)  # the row whose info panel is now filled in

    def __init__(
        self, runner: TaskRunner, queries: AlbumQueries, model: AlbumModel, thumbs: ThumbCache, parent=None
    ) -> None:
        super().__init__(parent)
        self.runner, self.queries, self.model, self.thumbs = runner, queries, model, thumbs
        self.row = -1
        self._photos: collections.OrderedDict[str, tuple[QPixmap, QPixmap]] = collections.OrderedDict()
        self._thumbs: collections.OrderedDict[str, tuple[QPixmap, QPixmap]] = collections.OrderedDict()
        self._broken: dict[str, str] = {}  # sha -> the loader's reason: that photo cannot be shown
        self._tasks: dict[tuple[str, str], Task] = {}  # ("photo" | "thumb", sha) -> its io-lane job
        self._moved_at = 0.0  # when the last photo was opened (monotonic seconds)
        self._settle = QTimer(self)  # paging fast: the photos are decoded once the keys pause
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._decode_near)
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

    def showEvent(self, event: QShowEvent) -> None:
        self._broken.clear()  # opened again: a photo put right meanwhile is tried again
        super().showEvent(event)

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
        self.layout().activate()  # the canvas at its size now: what the photos are fitted to
        self.row = max(0, min(count - 1, row))
        photo = self.model.photo(self.row)
        self.position.setText(f"{self.row + 1:,} of {count:,}")
        self.previous_button.setEnabled(self.row > 0)
        self.next_button.setEnabled(self.row < count - 1)
        self.info.show_photo(photo)
        near = self._near()
        self._drop_stale({photo.sha256, *(p.sha256 for p in near)})
        now = time.monotonic()
        fast, self._moved_at = now - self._moved_at < SETTLE_MS / 1000, now
        self._show(photo)
        for neighbour in near:  # their thumbnails (cheap) at once; the photos when paging pauses
            self._read_thumbnail(neighbour)
        if fast:  # a held key: decoding each photo passed by would keep the io lane busy for the last one
            self._settle.start()
        else:
            self._decode_near()
        self._describe(self.row, photo)
        self.moved.emit(self.row)

    def _show(self, photo: AlbumPhoto) -> None:
        """The photo when decoded; else its thumbnail (or the timeline's tile) at once, and the photo asked for."""
        full = self._photos.get(photo.sha256)
        if full is not None:
            self._photos.move_to_end(photo.sha256)
            self.canvas.show_picture(*full)
            self.loaded.emit(self.row)
            return
        thumb = self._thumbs.get(photo.sha256)
        if thumb is not None:
            self._thumbs.move_to_end(photo.sha256)
            self.canvas.show_picture(*thumb)
        else:
            self.canvas.show_picture(self.model.loader.pixmap(photo.sha256, photo.path), quick=True)
            self._read_thumbnail(photo)
        if photo.sha256 in self._broken:
            self._cannot_show(self._broken[photo.sha256])

    def _near(self) -> list[AlbumPhoto]:
        count = self.model.rowCount()
        return [self.model.photo(r) for r in (self.row + 1, self.row - 1) if 0 <= r < count]  # next first

    def _decode_near(self) -> None:
        """The photo shown, then its neighbours: decoded on the io lane (those already kept are not)."""
        photo = self.photo()
        if photo is None:
            return
        for one in (photo, *self._near()):
            self._decode(one)

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

    def _drop_stale(self, wanted: set[str]) -> None:
        """Paging fast: the jobs for photos no longer near never start (a running decode finishes)."""
        for key in [k for k in self._tasks if k[1] not in wanted]:
            self._tasks.pop(key).cancel()

    def _submit(self, kind: str, photo: AlbumPhoto, fn, *args) -> None:
        key = (kind, photo.sha256)
        with contextlib.suppress(RuntimeError):  # closing
            self._tasks[key] = self.runner.submit(
                fn, *args, lane="io",
                on_done=lambda shown, p=photo: self._arrived(kind, p, shown),
                on_error=lambda exc, p=photo: self._not_arrived(kind, p, exc),
            )  # fmt: skip

    def _read_thumbnail(self, photo: AlbumPhoto) -> None:
        if photo.sha256 in self._thumbs or photo.sha256 in self._photos or ("thumb", photo.sha256) in self._tasks:
            return
        self._submit("thumb", photo, decode_thumbnail, self.thumbs, photo.sha256, photo.path, self.canvas.fit())

    def _decode(self, photo: AlbumPhoto) -> None:
        if not photo.path or photo.sha256 in self._photos or photo.sha256 in self._broken:
            return
        if ("photo", photo.sha256) not in self._tasks:
            self._submit("photo", photo, decode_photo, photo.path, self._side(), self.canvas.fit())

    def _arrived(self, kind: str, photo: AlbumPhoto, shown: Shown) -> None:
        self._tasks.pop((kind, photo.sha256), None)
        pair = (QPixmap.fromImage(shown.image), QPixmap.fromImage(shown.fitted))
        kept, limit = (self._photos, KEPT) if kind == "photo" else (self._thumbs, KEPT_THUMBS)
        kept[photo.sha256] = pair
        while len(kept) > limit:
            kept.popitem(last=False)
        if kind == "photo":
            self.decoded.emit(photo.sha256)
        current = self.photo()
        if current is None or current.sha256 != photo.sha256:
            return
        if kind == "photo":
            self.canvas.show_picture(*pair)
            self.loaded.emit(self.row)
        elif photo.sha256 not in self._photos and not self.canvas.message:
            self.canvas.show_picture(*pair)

    def _not_arrived(self, kind: str, photo: AlbumPhoto, exc: BaseException) -> None:
        self._tasks.pop((kind, photo.sha256), None)
        if kind != "photo":
            return  # no thumbnail: the tile stays until the photo comes (or says why it cannot)
        self._broken[photo.sha256] = message(exc)
        current = self.photo()
        if current is not None and current.sha256 == photo.sha256:
            self._cannot_show(self._broken[photo.sha256])

    def _cannot_show(self, detail: str) -> None:
        self.canvas.show_message(cannot_show(detail), detail)
        self.failed.emit(self.row)

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
