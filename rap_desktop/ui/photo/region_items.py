"""Boxes drawn over a photo: one item per region, its look set by the retrieval decision.

The colours are drawn on the photo, not on the window, so they do not follow the light/dark
palette; each box has a dark halo under it and each label its own filled background, which keeps
them readable on bright and dark photos alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QGraphicsSimpleTextItem, QStyleOptionGraphicsItem

from rap_desktop.core import retrieval as rv

# style -> (colour, pen style); decisions that name the region are solid, doubts are dashed,
# what the user or a negative ruled out is grey and dotted (and its label struck through)
STYLES = {
    "accepted": (QColor("#2f80ed"), Qt.PenStyle.SolidLine),
    "confirmed": (QColor("#27ae60"), Qt.PenStyle.SolidLine),
    "below": (QColor("#f2a900"), Qt.PenStyle.DashLine),
    "ruled_out": (QColor("#9e9e9e"), Qt.PenStyle.DotLine),
    "empty": (QColor("#e0e0e0"), Qt.PenStyle.DashLine),
    "proposal": (QColor("#00b8d4"), Qt.PenStyle.DashLine),
    "chosen": (QColor("#27ae60"), Qt.PenStyle.SolidLine),
    "answer": (QColor("#d500f9"), Qt.PenStyle.SolidLine),  # a box the assistant gave (grounding)
}
HALO = QColor(0, 0, 0, 150)
SURE_MARGIN = 0.1  # this far over the threshold a match reads as "sure"
LABEL_Z = 10_000  # tags above every box


@dataclass(frozen=True)
class RegionLook:
    label: str
    style: str
    struck: bool = False


def recognised(region: rv.RegionResult) -> bool:
    """Shown in the quiet view: a concept holds the region."""
    return region.accepted is not None


def confidence(candidate: rv.Candidate, threshold: float) -> str:
    """How sure, in words: the user's own word or well over the threshold is "sure", just over it
    "probably", anything under it "maybe"."""
    if candidate.decision == rv.CONFIRMED:
        return "sure"
    if candidate.similarity >= threshold + SURE_MARGIN:
        return "sure"
    return "probably" if candidate.similarity >= threshold else "maybe"


def quiet_look(region: rv.RegionResult) -> RegionLook:
    """The quiet view: the name alone, no score, id or brackets."""
    accepted = region.accepted
    if accepted is None:
        return RegionLook("", "empty")
    return RegionLook(accepted.concept, "confirmed" if accepted.decision == rv.CONFIRMED else "accepted")


def region_look(region: rv.RegionResult, everything: bool = True) -> RegionLook:
    """What a retrieved region says at a glance. Everything shown: the accepted concept with its
    score, or "unknown" and why; quiet: the name only. Either way names as typed, no brackets."""
    if not everything:
        return quiet_look(region)
    accepted = region.accepted
    if accepted is not None:
        if accepted.decision == rv.CONFIRMED:
            return RegionLook(f"✓ {accepted.concept}", "confirmed")
        return RegionLook(f"{accepted.concept} {accepted.similarity:.2f}", "accepted")
    if not region.candidates:
        return RegionLook("unknown", "empty")
    best = region.candidates[0]
    if best.decision in (rv.SUPPRESSED, rv.REJECTED):
        return RegionLook(f"not {best.concept}", "ruled_out", struck=True)
    return RegionLook(f"unknown {best.similarity:.2f}", "below")


def decision_text(candidate: rv.Candidate, threshold: float) -> str:
    """The decision in words, for the candidate list."""
    return {
        rv.ACCEPTED: "accepted",
        rv.CONFIRMED: "confirmed by you",
        rv.BELOW: f"below the threshold ({threshold:.2f})",
        rv.SUPPRESSED: "suppressed: looks like a photo you rejected",
        rv.REJECTED: "rejected by you",
        rv.TAKEN: "taken by a closer region",
        rv.LOWER: "a better concept holds this region",
    }.get(candidate.decision, candidate.decision)


class RegionItem(QGraphicsRectItem):
    """A selectable, hoverable box with a label that keeps its size at any zoom."""

    def __init__(self, region_id: str, box: tuple[float, float, float, float], look: RegionLook, whole: bool = False):
        x1, y1, x2, y2 = box
        super().__init__(QRectF(x1, y1, x2 - x1, y2 - y1))
        self.region_id = region_id
        self.box = box
        self.look = look
        self.whole = whole  # the whole-photo region answers only on its label, or nothing could be panned
        self.hovered = False
        self.drop_target = False
        colour, pen_style = STYLES[look.style]
        self.colour = colour
        self.pen_style = pen_style
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setToolTip(look.label)
        # the tag is a separate item above every box (a child would hide under a later sibling box);
        # the view adds it with the box. Doubtful regions show theirs on hover or selection only,
        # or a photo full of "unknown" tags hides the faces.
        self.label = _Label(self, look)
        self.label.setPos(QPointF(x1, y1))
        self.quiet = look.style in ("below", "ruled_out", "empty", "proposal")
        self.label.setVisible(not self.quiet)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        if not self.whole:
            path.addRect(self.rect())
        return path

    def boundingRect(self) -> QRectF:
        return self.rect().adjusted(-4, -4, 4, 4)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        if self.whole:
            return  # the whole photo is never drawn as a box: its tag stands for it
        emphasis = self.isSelected() or self.hovered or self.drop_target
        width = 4.0 if emphasis else 1.0 if self.quiet else 2.0
        if emphasis:
            fill = QColor(self.colour)
            fill.setAlpha(70 if self.drop_target else 45)
            painter.fillRect(self.rect(), fill)
        halo = QPen(HALO, width + 2.0)
        halo.setCosmetic(True)  # line widths in screen pixels, whatever the zoom
        painter.setPen(halo)
        painter.drawRect(self.rect())
        pen = QPen(self.colour, width, Qt.PenStyle.SolidLine if self.isSelected() else self.pen_style)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawRect(self.rect())

    def set_emphasis(self, hovered: bool | None = None, drop_target: bool | None = None) -> None:
        if hovered is not None:
            self.hovered = hovered
        if drop_target is not None:
            self.drop_target = drop_target
        self._raise_label()
        self.update()

    def _raise_label(self, selected: bool | None = None) -> None:
        on = self.hovered or self.drop_target or (self.isSelected() if selected is None else selected)
        self.label.setZValue(LABEL_Z + (2 * LABEL_Z if on else self.zValue()))
        self.label.setVisible(on or not self.quiet)

    def hoverEnterEvent(self, event) -> None:
        self.set_emphasis(hovered=True)
        view = _view_of(self)
        if view is not None:
            view.region_hovered.emit(self.region_id)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:
        self.set_emphasis(hovered=False)
        view = _view_of(self)
        if view is not None:
            view.region_hovered.emit("")
        super().hoverLeaveEvent(event)

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self._raise_label(bool(value))
        elif change == QGraphicsItem.GraphicsItemChange.ItemZValueHasChanged:
            self._raise_label()
        return super().itemChange(change, value)


class _Label(QGraphicsSimpleTextItem):
    """The name tag at the box's top-left corner, drawn on its own colour, never scaled."""

    def __init__(self, box: RegionItem, look: RegionLook) -> None:
        super().__init__(look.label)
        self.anchor = QPointF(box.rect().topLeft())  # the box corner the tag belongs to (the view places it)
        self.box = box
        font = QFont(self.font())
        font.setStrikeOut(look.struck)
        font.setBold(look.style in ("accepted", "confirmed", "chosen"))
        self.setFont(font)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        background = QColor(box.colour)
        self.background = background
        light = background.lightness() > 150
        self.setBrush(QBrush(QColor("#111111") if light else QColor("#ffffff")))
        self.setZValue(LABEL_Z)

    def boundingRect(self) -> QRectF:
        return super().boundingRect().adjusted(-3, -2, 3, 2)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(self.boundingRect())
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        painter.fillRect(self.boundingRect(), self.background)
        super().paint(painter, option, widget)

    def mousePressEvent(self, event) -> None:
        # a click on the tag selects its box (the whole-photo box is only reachable here)
        scene = self.scene()
        if scene is not None:
            scene.clearSelection()
        self.box.setSelected(True)
        event.accept()


def _view_of(item: QGraphicsItem):
    scene = item.scene()
    views = scene.views() if scene is not None else []
    return views[0] if views and hasattr(views[0], "region_hovered") else None
