"""A focus ring anyone can see on a list or grid: the view's frame and its current item turn the
highlight colour while the keyboard is in it (the style's own dotted rectangle is hard to see)."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView

# the frame is 2 px either way (1 px + 1 px padding without focus), so taking focus moves nothing
FOCUS_RING = """
QAbstractItemView { border: 1px solid palette(mid); padding: 1px; }
QAbstractItemView:focus { border: 2px solid palette(highlight); padding: 0px; }
QAbstractItemView::item:focus { border: 2px solid palette(highlight); border-radius: 4px; }
"""


def add_focus_ring(view: QAbstractItemView) -> None:
    view.setStyleSheet(FOCUS_RING)
