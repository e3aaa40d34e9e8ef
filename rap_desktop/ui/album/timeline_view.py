"""The album's timeline: square tiles under day and month headings, newest first, filling the width,
with a date scrubber at the side.

One view paints everything (no widget per photo, no model row per heading): the places come from
TimelineLayout's arithmetic, and a paint asks the model only for the rows on screen, so a
thumbnail is loaded only when its tile is seen. Thumbnails are decoded at the tile's size on the
io lane (the loader is told the size at each layout), so a scroll frame only copies pixels.
Measured: benchmarks/timeline.results.md."""

from __future__ import annotations

from typing import NamedTuple

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, QPoint, QRect, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPalette, QRegion, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QApplication, QStyle, QWidget

from .timeline_layout import DAY_HEIGHT, GAP, MARGIN, MONTH_HEIGHT, TimelineLayout
from .timeline_scrubber import WIDTH as SCRUBBER_WIDTH
from .timeline_scrubber import TimelineScrubber

RING = 3  # the keyboard's ring around the current tile, pixels


class Place(NamedTuple):
    """Where the view is, in a form that outlives a new listing (photos added above, another width):
    the photo at the top and how far its tile sits below the top of the view."""

    sha256: str  # "" when nothing is shown
    below: int  # negative when the tile is partly scrolled past
    offset: int  # the scroll offset then: 0 stays at the top (photos added there are seen)


class TimelineView(QAbstractItemView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = TimelineLayout([], 1)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # the scrubber shows where
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setViewportMargins(0, 0, SCRUBBER_WIDTH, 0)
        self.scrubber = TimelineScrubber(self, lambda: self.grid, self.scroll_to_section)
        self.verticalScrollBar().valueChanged.connect(lambda _v: self.scrubber.update())
        self._broken = QApplication.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon)
        # a tile whose thumbnail is on its way: opaque (a translucent fill is ~10x slower to paint)
        base, text = self.palette().color(QPalette.ColorRole.Base), self.palette().color(QPalette.ColorRole.Text)
        self._placeholder = QColor(
            *(round(b * 0.85 + t * 0.15) for b, t in zip(base.getRgb()[:3], text.getRgb()[:3], strict=True))
        )

    # --- layout ----------------------------------------------------------------------------------

    def relayout(self) -> None:
        sections = getattr(self.model(), "sections", []) if self.model() is not None else []
        self.grid = TimelineLayout(sections, self.viewport().width())
        loader = getattr(self.model(), "loader", None)
        if loader is not None:
            loader.set_side(self.grid.tile)  # thumbnails decoded at the tile's size, off the GUI thread
        self.updateGeometries()
        self.scrubber.update()
        self.viewport().update()

    def reset(self) -> None:  # the model has a new listing
        super().reset()
        self.relayout()

    def doItemsLayout(self) -> None:
        self.relayout()
        super().doItemsLayout()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        area = self.contentsRect()
        self.scrubber.setGeometry(area.right() + 1 - SCRUBBER_WIDTH, area.top(), SCRUBBER_WIDTH, area.height())
        if self.viewport().width() != self.grid.width:
            current = self.currentIndex()
            self.relayout()
            if current.isValid():  # the photo with the keyboard stays in sight
                self.scrollTo(current)

    def updateGeometries(self) -> None:
        bar, height = self.verticalScrollBar(), self.viewport().height()
        bar.setRange(0, max(0, self.grid.height - height))
        bar.setPageStep(height)
        bar.setSingleStep(max(1, self.grid.line // 3))
        super().updateGeometries()

    # --- places ----------------------------------------------------------------------------------

    def horizontalOffset(self) -> int:
        return 0

    def verticalOffset(self) -> int:
        return self.verticalScrollBar().value()

    def isIndexHidden(self, index: QModelIndex) -> bool:
        return False

    def visualRect(self, index: QModelIndex) -> QRect:
        if not index.isValid() or index.row() >= self.grid.count():
            return QRect()
        x, y, w, h = self.grid.rect(index.row())
        return QRect(x, y - self.verticalOffset(), w, h)

    def indexAt(self, point: QPoint) -> QModelIndex:
        row = self.grid.row_at(point.x(), point.y() + self.verticalOffset())
        return self.model().index(row, 0) if row >= 0 and self.model() is not None else QModelIndex()

    def scrollTo(
        self, index: QModelIndex, hint: QAbstractItemView.ScrollHint = QAbstractItemView.ScrollHint.EnsureVisible
    ) -> None:
        if not index.isValid() or index.row() >= self.grid.count():
            return
        _x, y, _w, h = self.grid.rect(index.row())
        line, _column = self.grid.place(index.row())
        top = self.grid.tops[self.grid.section_of(index.row())] if line == 0 else y - GAP  # its day's heading too
        offset, height = self.verticalOffset(), self.viewport().height()
        if hint == QAbstractItemView.ScrollHint.PositionAtTop:
            offset = top
        elif hint == QAbstractItemView.ScrollHint.PositionAtCenter:
            offset = y + h // 2 - height // 2
        elif top < offset:
            offset = top
        elif y + h > offset + height:
            offset = y + h + GAP - height
        self.verticalScrollBar().setValue(offset)

    def place(self) -> Place:
        offset = self.verticalOffset()
        rows = self.grid.rows_between(offset, offset + self.viewport().height())
        row = next(iter(rows), -1)
        if row < 0 or self.model() is None:
            return Place("", 0, offset)
        return Place(self.model().photo(row).sha256, self.grid.rect(row)[1] - offset, offset)

    def go_to(self, place: Place) -> None:
        """Back to `place`: its photo at the same height, else the same offset (as far as it goes)."""
        bar = self.verticalScrollBar()
        row = self.model().row_of_sha(place.sha256) if place.offset and self.model() is not None else -1
        bar.setValue(self.grid.rect(row)[1] - place.below if row >= 0 else min(place.offset, bar.maximum()))

    def scroll_to_section(self, index: int) -> None:
        """The scrubber's jump: this section's heading at the top."""
        if 0 <= index < len(self.grid.tops):
            self.verticalScrollBar().setValue(self.grid.tops[index])

    # --- the keyboard and selection --------------------------------------------------------------

    def moveCursor(self, action: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier) -> QModelIndex:
        count = self.grid.count()
        if not count:
            return QModelIndex()
        current = self.currentIndex()
        if not current.isValid():
            return self.model().index(0, 0)
        row, move = current.row(), QAbstractItemView.CursorAction
        if action in (move.MoveLeft, move.MovePrevious):
            row -= 1
        elif action in (move.MoveRight, move.MoveNext):
            row += 1
        elif action == move.MoveUp:
            row = self.grid.above(row)
        elif action == move.MoveDown:
            row = self.grid.below(row)
        elif action == move.MoveHome:
            row = 0
        elif action == move.MoveEnd:
            row = count - 1
        elif action in (move.MovePageUp, move.MovePageDown):
            row = self._page(row, -1 if action == move.MovePageUp else 1)
        return self.model().index(max(0, min(count - 1, row)), 0)

    def _page(self, row: int, sign: int) -> int:
        """The tile a screen above or below, in the same column or the nearest."""
        x, y, _w, _h = self.grid.rect(row)
        target = y + sign * self.viewport().height()
        band = list(self.grid.rows_between(target, target + self.grid.line))
        if not band:
            return 0 if sign < 0 else self.grid.count() - 1
        return min(band, key=lambda r: (abs(self.grid.rect(r)[1] - target), abs(self.grid.rect(r)[0] - x)))

    def setSelection(self, rect: QRect, command: QItemSelectionModel.SelectionFlag) -> None:
        area = rect.normalized().translated(0, self.verticalOffset())
        band = self.grid.rows_between(area.top(), area.bottom() + 1)
        rows = [r for r in band if QRect(*self.grid.rect(r)).intersects(area)]
        self.selectionModel().select(self._selection(rows), command)

    def _selection(self, rows: list[int]) -> QItemSelection:
        selection = QItemSelection()
        model = self.model()
        start = previous = None
        for row in [*rows, None]:
            if start is not None and (row is None or row != previous + 1):
                selection.select(model.index(start, 0), model.index(previous, 0))
                start = None
            if row is not None and start is None:
                start = row
            previous = row
        return selection

    def visualRegionForSelection(self, selection: QItemSelection) -> QRegion:
        region = QRegion()
        offset = self.verticalOffset()
        for row in self.grid.rows_between(offset, offset + self.viewport().height()):
            if selection.contains(self.model().index(row, 0)):
                region += self.visualRect(self.model().index(row, 0))
        return region

    # --- painting --------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        model = self.model()
        if model is None:
            return
        painter = QPainter(self.viewport())
        offset = self.verticalOffset()
        area = event.rect()
        top, bottom = area.top() + offset, area.bottom() + offset + 1
        painter.translate(0, -offset)
        for index in self.grid.sections_between(top, bottom):
            self._paint_heading(painter, index)
        selection = self.selectionModel()
        chosen = selection is not None and selection.hasSelection()
        current = self.currentIndex().row() if self.currentIndex().isValid() else -1
        focused = self.hasFocus()
        for row in self.grid.rows_between(top, bottom):
            selected = chosen and selection.isRowSelected(row, QModelIndex())
            self._paint_tile(painter, row, selected, focused and row == current)
        painter.end()

    def _paint_heading(self, painter: QPainter, index: int) -> None:
        section = self.grid.sections[index]
        if not section.title:
            return
        y = self.grid.tops[index]
        width = self.grid.width - 2 * MARGIN
        palette = self.palette()
        if section.month:
            font = QFont(self.font())
            font.setPointSizeF(font.pointSizeF() * 1.45)
            font.setBold(True)
            painter.setFont(font)
            painter.setPen(palette.color(QPalette.ColorRole.Text))
            place = QRect(MARGIN, y + 8, width, MONTH_HEIGHT - 8)
            painter.drawText(place, Qt.AlignmentFlag.AlignVCenter, section.month)
            y += MONTH_HEIGHT
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(QRect(MARGIN, y, width, DAY_HEIGHT - 4), Qt.AlignmentFlag.AlignBottom, section.title)

    def _paint_tile(self, painter: QPainter, row: int, selected: bool, ring: bool) -> None:
        x, y, side, _ = self.grid.rect(row)
        place = QRect(x, y, side, side)
        model = self.model()
        photo = model.photo(row)
        pixmap = model.thumbnail(photo)  # None while it loads (a load is queued)
        if pixmap is not None:
            painter.drawPixmap(place, pixmap)  # the tile's size: a copy (scaled only just after a resize)
        else:
            painter.fillRect(place, self._placeholder)
            if model.loader.is_broken(photo.sha256):
                self._broken.paint(painter, place.adjusted(side // 3, side // 3, -side // 3, -side // 3))
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        if selected:  # a veil and a frame inside the tile (the keyboard's ring goes round its edge)
            veil = QColor(highlight)
            veil.setAlpha(70)
            painter.fillRect(place, veil)
            inner = place.adjusted(RING + 1, RING + 1, -RING - 1, -RING - 1)
            for strip in _frame(inner, RING):
                painter.fillRect(strip, highlight)
        if photo.confirmed:
            self._badge(painter, QRect(x + side - 26, y + side - 26, 20, 20), QColor(46, 139, 87), "✓")
        if ring:  # solid strips, not a pen: exactly the highlight colour at the tile's edge
            for strip in _frame(place, RING):
                painter.fillRect(strip, highlight)

    def _badge(self, painter: QPainter, place: QRect, colour: QColor, text: str) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawEllipse(place)
        painter.setPen(QColor("white"))
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(place, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


def _frame(place: QRect, width: int) -> tuple[QRect, ...]:
    """The four strips of a frame `width` pixels wide just inside `place`."""
    x, y, w, h = place.x(), place.y(), place.width(), place.height()
    return (
        QRect(x, y, w, width),
        QRect(x, y + h - width, w, width),
        QRect(x, y, width, h),
        QRect(x + w - width, y, width, h),
    )
