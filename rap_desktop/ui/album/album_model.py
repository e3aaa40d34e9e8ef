"""The album timeline's model: one row per photo (no rows for headings: the view paints them from
the listing's sections), thumbnails loaded lazily, no file names in the tiles (the tooltip has it).

A thumbnail is asked for only when the view asks for a row's thumbnail, i.e. when it paints that
row (the timeline's layout is arithmetic, it never asks). Loads run on the io lane from the disk
thumbnail cache, newest request first and a few at a time: after a fast scroll the rows now on
screen load first and the ones scrolled past are dropped. Decoded thumbnails live in a bounded
in-memory cache (least recently used out)."""

from __future__ import annotations

import collections
import contextlib
import os
import time
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRectF,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QStyle

from rap_desktop.core.thumbcache import ThumbCache

from ..runtime.tasks import TaskRunner
from .album_ops import AlbumPhoto, Listing, read_thumbnails
from .timeline_layout import Section, day_title, flat

ICON = 192  # a thumbnail's side in memory: the middle square of the disk thumbnail (tiles are 120-250 px)
CACHE = 600  # decoded thumbnails kept (192 px squares: ~144 KB each, ~90 MB at most; ~6 screens full)
JOBS = 2  # io-lane jobs at once
BATCH = 8  # thumbnails per job (one result delivered to the GUI thread per job, not per thumbnail)
WANTED = 400  # requests waiting; older ones (scrolled past) are dropped and asked again if seen
PhotoRole = Qt.ItemDataRole.UserRole + 1
ThumbRole = Qt.ItemDataRole.UserRole + 2  # the tile's square QPixmap, or None while it loads (or is broken)
BrokenRole = Qt.ItemDataRole.UserRole + 3  # the thumbnail cannot be read

Index = QModelIndex | QPersistentModelIndex


class ThumbLoader(QObject):
    ready = Signal(list)  # sha256s of thumbnails now in memory (or known broken)

    def __init__(self, runner: TaskRunner, thumbs: ThumbCache, side: int = ICON, parent: QObject | None = None):
        super().__init__(parent)
        self.runner, self.thumbs, self.side = runner, thumbs, side
        self._cache: collections.OrderedDict[str, QPixmap] = collections.OrderedDict()
        self._stale: dict[str, QPixmap] = {}  # at the size before a resize: drawn scaled until reloaded
        self._broken: set[str] = set()
        self._wanted: collections.OrderedDict[str, str] = collections.OrderedDict()  # sha -> photo path
        self._loading: set[str] = set()
        self._jobs = 0
        self.asked: set[str] = set()  # every thumbnail ever asked for (tests count them)
        self.loads = 0  # thumbnails sent to the io lane
        # the rows of one paint ask one after another; they go out together once the paint is over
        self._pump_timer = QTimer(self)
        self._pump_timer.setSingleShot(True)
        self._pump_timer.setInterval(0)
        self._pump_timer.timeout.connect(self._pump)

    def set_side(self, side: int) -> None:
        """Thumbnails at this size from now on (the timeline's tiles changed size): decoded at the
        tile's size off the GUI thread, so painting never scales. Until a thumbnail is read again,
        the one in memory stands in."""
        if side == self.side or side <= 0:
            return
        self.side = side
        self._stale = dict(self._cache)
        self._cache.clear()
        self._wanted.clear()

    def pixmap(self, sha256: str, path: str) -> QPixmap | None:
        """The thumbnail if in memory; else None (or the one from before a resize), and a load is
        queued (newest first)."""
        cached = self._cache.get(sha256)
        if cached is not None:
            self._cache.move_to_end(sha256)
            return cached
        if sha256 in self._broken or sha256 in self._loading:
            return self._stale.get(sha256)
        self.asked.add(sha256)
        self._wanted[sha256] = path
        self._wanted.move_to_end(sha256)
        while len(self._wanted) > WANTED:
            self._wanted.popitem(last=False)
        if not self._pump_timer.isActive():
            self._pump_timer.start()
        return self._stale.get(sha256)

    def is_broken(self, sha256: str) -> bool:
        return sha256 in self._broken

    def clear_queue(self) -> None:
        self._wanted.clear()

    def _pump(self) -> None:
        while self._wanted and self._jobs < JOBS:
            batch = [self._wanted.popitem(last=True) for _ in range(min(BATCH, len(self._wanted)))]
            shas = [sha for sha, _ in batch]
            self._loading.update(shas)
            self._jobs += 1
            self.loads += len(batch)
            try:
                self.runner.submit(
                    read_thumbnails,
                    self.thumbs,
                    batch,
                    self.side,
                    lane="io",
                    on_done=lambda images, side=self.side: self._loaded(images, side),
                    on_error=lambda _message, s=shas: self._loaded([(sha, None) for sha in s]),  # placeholders
                )
            except RuntimeError:  # the window is closing
                self._jobs -= 1
                self._loading.difference_update(shas)
                self._wanted.clear()
                return

    def _loaded(self, images: list[tuple[str, QImage | None]], side: int | None = None) -> None:
        self._jobs -= 1
        for sha, image in images:
            self._loading.discard(sha)
            if image is None:
                self._broken.add(sha)
            elif side in (None, self.side):  # not read for the tile size before a resize
                self._cache[sha] = QPixmap.fromImage(image)
                self._stale.pop(sha, None)
        while len(self._cache) > CACHE:
            self._cache.popitem(last=False)
        self.ready.emit([sha for sha, _ in images])
        self._pump()


def _placeholder(side: int) -> QIcon:
    pixmap = QPixmap(side, side)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(128, 128, 128, 48))
    painter.drawRoundedRect(QRectF(6, 6, side - 12, side - 12), 8, 8)
    painter.end()
    return QIcon(pixmap)


def when(taken: float | None) -> str:
    """A photo's date and time in words ("Saturday 14 June 2025, 14:05"); taken is wall clock read as UTC."""
    if taken is None:
        return "No date"
    moment = time.gmtime(taken)
    return f"{day_title(moment, True)}, {moment.tm_hour:02d}:{moment.tm_min:02d}"


class AlbumModel(QAbstractListModel):
    def __init__(self, loader: ThumbLoader, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.listing = Listing([])
        self.sections: list[Section] = []
        self._rows: dict[str, list[int]] = {}
        self._icons: dict[str, QIcon] = {}  # an icon per pixmap in the loader's cache, made once
        self._placeholder = _placeholder(loader.side)
        self._broken_icon = QApplication.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon)
        loader.ready.connect(self._thumbnails_ready)

    @property
    def photos(self) -> list[AlbumPhoto]:
        return self.listing.photos

    def set_listing(self, listing: Listing) -> None:
        self.beginResetModel()
        self.listing = listing
        self.sections = listing.sections if listing.sections is not None else flat(len(listing.photos))
        self._rows = {}
        for row, photo in enumerate(listing.photos):
            self._rows.setdefault(photo.sha256, []).append(row)
        self.loader.clear_queue()  # rows asked for before belong to the old listing
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.listing.photos)

    def photo(self, row: int) -> AlbumPhoto:
        return self.listing.photos[row]

    def thumbnail(self, photo: AlbumPhoto) -> QPixmap | None:
        """What ThumbRole answers, without the trip through Qt (the timeline paints ~50 a frame)."""
        return self.loader.pixmap(photo.sha256, photo.path)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.listing.photos):
            return None
        photo = self.listing.photos[index.row()]
        if role == ThumbRole:
            return self.loader.pixmap(photo.sha256, photo.path)
        if role == BrokenRole:
            return self.loader.is_broken(photo.sha256)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icon(photo)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{name_of(photo)}, {when(photo.taken)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(photo)
        if role == PhotoRole:
            return photo
        return None

    def _icon(self, photo: AlbumPhoto) -> QIcon:
        icon = self._icons.get(photo.sha256)
        if icon is not None:
            return icon
        pixmap = self.loader.pixmap(photo.sha256, photo.path)
        if pixmap is None:
            return self._broken_icon if self.loader.is_broken(photo.sha256) else self._placeholder
        icon = self._icons[photo.sha256] = QIcon(pixmap)
        if len(self._icons) > CACHE:  # follow the loader's bound
            self._icons.pop(next(iter(self._icons)))
        return icon

    def _tooltip(self, photo: AlbumPhoto) -> str:
        lines = [name_of(photo), when(photo.taken), os.path.dirname(photo.path)]
        listing = self.listing
        if photo.confirmed and listing.concept:
            lines.append(f"✓ you said this is {listing.concept}")
        elif photo.score is not None:
            lines.append(f'found for "{listing.text}"' if listing.text else f"looks like {listing.concept}")
        return "\n".join(line for line in lines if line)

    def _thumbnails_ready(self, shas: list[str]) -> None:
        roles = [Qt.ItemDataRole.DecorationRole, ThumbRole]
        for sha in shas:
            self._icons.pop(sha, None)
            for row in self._rows.get(sha, ()):
                index = self.index(row)
                self.dataChanged.emit(index, index, roles)

    def row_of_sha(self, sha256: str) -> int:
        rows = self._rows.get(sha256)
        return rows[0] if rows else -1

    def row_of_path(self, path: str | Path) -> int:
        wanted = str(path)
        with contextlib.suppress(StopIteration):
            return next(r for r, p in enumerate(self.listing.photos) if p.path == wanted)
        return -1


def name_of(photo: AlbumPhoto) -> str:
    return os.path.basename(photo.path) or photo.sha256[:12]
