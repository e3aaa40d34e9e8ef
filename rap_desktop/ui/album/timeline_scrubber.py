"""The timeline's date scrubber: a slim bar at the side where the whole album is one height. A mark
per year, a handle where the view is; press or drag to jump to a month (its first day at the top),
the month and year shown beside the pointer while dragging, in the whole album and in search results
by date alike. For results ordered best matches first (no dates) it is a plain scroll bar."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QAbstractScrollArea, QLabel, QWidget

from .timeline_layout import MONTHS, UNDATED, TimelineLayout

WIDTH = 18  # pixels
HANDLE = 28  # the handle's least height


class TimelineScrubber(QWidget):
    """On `view` (its scroll bar moves the timeline); `layout()` is the timeline's current layout and
    `to_section(i)` puts section i at the top."""

    def __init__(
        self, view: QAbstractScrollArea, layout: Callable[[], TimelineLayout], to_section: Callable[[int], None]
    ) -> None:
        super().__init__(view)
        self.view, self.timeline, self.to_section = view, layout, to_section
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setMouseTracking(True)
        self.setToolTip("Drag or click to jump to a month")
        self.bubble = QLabel(view)  # "June 2024" beside the pointer while dragging
        palette = view.palette()
        self.bubble.setStyleSheet(
            f"QLabel {{ background: {palette.color(QPalette.ColorRole.ToolTipBase).name()}; "
            f"color: {palette.color(QPalette.ColorRole.ToolTipText).name()}; "
            "border: 1px solid palette(mid); border-radius: 4px; padding: 6px 10px; font-weight: bold; }"
        )
        self.bubble.hide()
        self.dragging = False

    # --- where ---------------------------------------------------------------------------------

    def _content_y(self, y: float) -> int:
        """The content height at this bar height (the bar is the whole album)."""
        return int(max(0.0, min(1.0, y / max(1, self.height()))) * self.timeline().height)

    def month_at(self, y: float) -> str:
        """The month and year shown at this bar height, "" in results ordered best first."""
        grid = self.timeline()
        if not grid.sections:
            return ""
        key = grid.sections[grid.section_at(self._content_y(y))].month_key
        if not key:
            return UNDATED if grid.sections[grid.section_at(self._content_y(y))].title == UNDATED else ""
        year, month = key.split("-")
        return f"{MONTHS[int(month) - 1]} {year}"

    def jump(self, y: float) -> None:
        """To the first day of the month at this bar height (results best first: to that height)."""
        grid, bar = self.timeline(), self.view.verticalScrollBar()
        content = self._content_y(y)
        if grid.sections and grid.sections[0].title:
            self.to_section(grid.month_start(content))
        else:
            bar.setValue(int(content * bar.maximum() / max(1, grid.height)))
        text = self.month_at(y)
        self.bubble.setText(text)
        self.bubble.adjustSize()
        at = self.mapTo(self.view, QPoint(0, int(y)))
        self.bubble.move(at.x() - self.bubble.width() - 6, max(0, at.y() - self.bubble.height() // 2))
        self.bubble.setVisible(bool(text))
        self.bubble.raise_()

    # --- mouse ---------------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.dragging = True
            self.jump(event.position().y())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self.dragging:
            self.jump(event.position().y())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self.dragging = False
        self.bubble.hide()

    # --- paint ---------------------------------------------------------------------------------

    def handle(self) -> QRect:
        bar, total = self.view.verticalScrollBar(), max(1, self.timeline().height)
        height = max(HANDLE, int(self.height() * bar.pageStep() / total))
        top = int((self.height() - height) * bar.value() / max(1, bar.maximum())) if bar.maximum() else 0
        return QRect(3, top, self.width() - 6, height)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Window))
        total = max(1, self.timeline().height)
        mark = palette.color(QPalette.ColorRole.PlaceholderText)
        for y, _year in self.timeline().years():  # a tick where each year starts
            at = int(y * self.height() / total)
            painter.fillRect(QRect(4, at, self.width() - 8, 2), mark)
        if self.view.verticalScrollBar().maximum() > 0:
            handle = QColor(palette.color(QPalette.ColorRole.Highlight))
            handle.setAlpha(200 if self.dragging else 140)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(handle)
            painter.drawRoundedRect(self.handle(), 4, 4)
        painter.end()
