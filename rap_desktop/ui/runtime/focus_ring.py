"""A focus ring anyone can see on a list or grid: the view's frame and its current item are drawn
in the highlight colour while the keyboard is in it (the style's own dotted rectangle is hard to see)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QAbstractItemView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

Index = QModelIndex | QPersistentModelIndex

# the frame is 2 px either way (1 px + 1 px padding without focus), so taking focus moves nothing
FOCUS_FRAME = """
QAbstractItemView { border: 1px solid palette(mid); padding: 1px; }
QAbstractItemView:focus { border: 2px solid palette(highlight); padding: 0px; }
"""


class FocusRingDelegate(QStyledItemDelegate):
    """Items as usual; the current one, while the view has the keyboard, in a 2 px highlight ring."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        focused = bool(option.state & QStyle.StateFlag.State_HasFocus)
        plain = QStyleOptionViewItem(option)
        plain.state &= ~QStyle.StateFlag.State_HasFocus  # no faint dotted rectangle under the ring
        super().paint(painter, plain, index)
        if focused:
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(option.palette.highlight().color(), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(option.rect.adjusted(1, 1, -1, -1), 4, 4)
            painter.restore()


def add_focus_ring(view: QAbstractItemView) -> None:
    """The frame ring; the item ring needs a FocusRingDelegate (the view's own, or one made here)."""
    view.setStyleSheet(FOCUS_FRAME)
    if not isinstance(view.itemDelegate(), FocusRingDelegate):
        view.setItemDelegate(FocusRingDelegate(view))
