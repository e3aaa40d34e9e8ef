"""A photo with boxes on it: zoom (wheel, keys), pan (drag the photo, or the middle button), fit,
select and hover regions, draw a missing box, and drops (photo files, or a concept onto a box).

Scene coordinates are the photo's own pixels (EXIF-oriented), whatever the size of the preview
shown, so boxes from the core go in as they are and drawn boxes come out in the same units. Zoomed
in past the preview's own resolution, the view asks (`detail_wanted`) for a sharper tile of what is
on view and lays it over the preview (`set_detail`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QByteArray, QMimeData, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QWidget,
)

from .region_items import RegionItem, RegionLook

CONCEPT_MIME = "application/x-rap-desktop-concept"  # a concept dragged from the library: its name
ZOOM_STEP = 1.25
MIN_SCALE, MAX_SCALE = 0.02, 40.0
MIN_DRAWN = 8.0  # photo pixels: a smaller drag is a click, not a box
SHARPER_AT = 1.2  # ask for a sharper tile once the screen shows this many pixels per preview pixel
DETAIL_DELAY_MS = 150  # wait for zooming and panning to settle before asking
LABEL_GAP = 2.0  # screen pixels between stacked tags


def concept_mime(name: str) -> QMimeData:
    mime = QMimeData()
    mime.setData(CONCEPT_MIME, QByteArray(name.encode("utf-8")))
    mime.setText(f"<{name}>")
    return mime


def dropped_concept(mime: QMimeData | None) -> str | None:
    if mime is None or not mime.hasFormat(CONCEPT_MIME):
        return None
    return bytes(mime.data(CONCEPT_MIME).data()).decode("utf-8", "replace") or None


def local_paths(mime: QMimeData | None) -> list[Path]:
    if mime is None or not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class PhotoView(QGraphicsView):
    region_selected = Signal(str)  # region id, "" when none
    region_hovered = Signal(str)  # region id, "" when the pointer left it
    photo_dropped = Signal(list)  # [Path]
    concept_dropped = Signal(str, str)  # region id, concept name
    box_drawn = Signal(tuple)  # (x1, y1, x2, y2) in photo pixels
    context_requested = Signal(str, QPoint)  # region id ("" = the photo), global position
    detail_wanted = Signal(QRectF, float)  # photo pixels to show sharper, and the scale wanted (<= 1)

    def __init__(self, parent: QWidget | None = None, accept_drops: bool = True) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAcceptDrops(accept_drops)
        self.viewport().setAcceptDrops(accept_drops)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.photo: QGraphicsPixmapItem | None = None
        self.photo_size: tuple[int, int] | None = None
        self.items_by_id: dict[str, RegionItem] = {}
        self._fitted = True  # follow the window's size until the user zooms
        self._drawing = False
        self._draw_start: QPointF | None = None
        self._rubber: QGraphicsRectItem | None = None
        self._pan_from: QPoint | None = None
        self._drop_item: RegionItem | None = None
        self.answer: RegionItem | None = None
        self.sharpen = True  # ask for sharper tiles when zoomed in (off: the preview only)
        self.detail: QGraphicsPixmapItem | None = None
        self._detail_rect = QRectF()
        self._detail_scale = 0.0
        self._preview_scale = 1.0  # preview pixels per photo pixel
        self._detail_timer = QTimer(self)
        self._detail_timer.setSingleShot(True)
        self._detail_timer.setInterval(DETAIL_DELAY_MS)
        self._detail_timer.timeout.connect(self._check_detail)
        # (a scrollbar signal, not a scrollContentsBy override: PySide6 crashed on that override
        # under fast zooming, "deallocating None")
        self.horizontalScrollBar().valueChanged.connect(self._scrolled)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.scene().selectionChanged.connect(self._selection_changed)
        # shown while there is no photo; lets drops and clicks through to the view
        self.hint = QLabel(self.viewport())
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.hint.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)

    def set_hint(self, text: str) -> None:
        self.hint.setText(text)
        self.hint.setVisible(self.photo is None and bool(text))

    # --- contents ------------------------------------------------------------------------------

    def set_photo(self, image: QImage, size: tuple[int, int]) -> None:
        """Show `image` (any preview size) stretched over `size` photo pixels; boxes are cleared."""
        self.clear()
        item = QGraphicsPixmapItem(QPixmap.fromImage(image))
        item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        if image.width() > 0:
            item.setScale(size[0] / image.width())
            self._preview_scale = image.width() / max(1, size[0])
        item.setZValue(-1)
        self.scene().addItem(item)
        self.photo, self.photo_size = item, (int(size[0]), int(size[1]))
        self.scene().setSceneRect(QRectF(0, 0, size[0], size[1]))
        self.hint.hide()
        self.fit()

    def clear(self) -> None:
        self.scene().blockSignals(True)
        self.scene().clear()
        self.scene().blockSignals(False)
        self.photo, self.photo_size = None, None
        self.detail, self._detail_rect, self._detail_scale = None, QRectF(), 0.0
        self.items_by_id = {}
        self._rubber = None
        self._drop_item = None
        self.answer: RegionItem | None = None

    def set_regions(self, items: Sequence[RegionItem], selected: str = "") -> None:
        """Replace the boxes; larger boxes go below smaller ones, so each stays reachable."""
        scene = self.scene()
        scene.blockSignals(True)
        for old in self.items_by_id.values():
            scene.removeItem(old.label)
            scene.removeItem(old)
        self.items_by_id = {}
        ordered = sorted(items, key=lambda it: -(it.rect().width() * it.rect().height()))
        for z, item in enumerate(ordered):
            scene.addItem(item)
            scene.addItem(item.label)
            item.setZValue(z)
            self.items_by_id[item.region_id] = item
        if selected in self.items_by_id:
            self.items_by_id[selected].setSelected(True)
        scene.blockSignals(False)
        self.place_labels()
        self._selection_changed()

    def place_labels(self) -> None:
        """Tags keep their size on screen, so whether they collide depends on the zoom: each goes just
        above its box's corner (inside it at the top edge of the view) and, where it would cover a tag
        placed before, is stacked below that one. Tags shown only on hover get their place too, so
        none jumps when the pointer moves."""
        labels = [item.label for item in self.items_by_id.values() if item.label.text()]
        if self.answer is not None:
            labels.append(self.answer.label)
        to_view = self.viewportTransform()
        to_scene, _ = to_view.inverted()
        placed: list[QRectF] = []
        for label in sorted(labels, key=lambda lab: (lab.anchor.y(), lab.anchor.x())):
            local = label.boundingRect()
            corner = to_view.map(label.anchor)
            rect = QRectF(corner.x() + local.left(), corner.y() - local.height(), local.width(), local.height())
            if rect.top() < 0:
                rect.moveTop(corner.y())
            moved = True
            while moved:
                moved = False
                for other in placed:
                    if rect.intersects(other):
                        rect.moveTop(other.bottom() + LABEL_GAP)
                        moved = True
            placed.append(rect)
            label.setPos(to_scene.map(QPointF(rect.left() - local.left(), rect.top() - local.top())))

    def label_rects(self) -> list[QRectF]:
        """Where the shown tags are on screen (viewport pixels)."""
        transform = self.viewportTransform()
        labels = [item.label for item in self.items_by_id.values()]
        if self.answer is not None:
            labels.append(self.answer.label)
        return [lab.deviceTransform(transform).mapRect(lab.boundingRect()) for lab in labels if lab.isVisible()]

    def show_answer_box(self, box: tuple[float, float, float, float], text: str = "answer") -> None:
        """A box from the assistant's answer (grounding), over the regions until the next photo."""
        if self.photo is None:
            return
        if self.answer is not None:
            self.scene().removeItem(self.answer.label)
            self.scene().removeItem(self.answer)
        self.answer = RegionItem("answer", box, RegionLook(text, "answer"))
        self.answer.setFlag(RegionItem.GraphicsItemFlag.ItemIsSelectable, False)
        self.answer.setAcceptHoverEvents(False)
        self.answer.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.answer.setZValue(5_000)
        self.scene().addItem(self.answer)
        self.scene().addItem(self.answer.label)
        self.place_labels()
        self.ensureVisible(self.answer, 20, 20)

    def set_detail(self, image: QImage, rect: QRectF, scale: float) -> None:
        """A sharper tile: `image` shows `rect` (photo pixels) at `scale` image pixels per photo pixel."""
        if self.photo is None or image.isNull():
            return
        if self.detail is not None:
            self.scene().removeItem(self.detail)
        item = QGraphicsPixmapItem(QPixmap.fromImage(image))  # already in the screen's format: a copy
        item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        item.setPos(rect.topLeft())
        item.setScale(rect.width() / max(1, image.width()))
        item.setZValue(-0.5)  # over the preview, under every box
        self.scene().addItem(item)
        self.detail, self._detail_rect, self._detail_scale = item, QRectF(rect), scale

    def _check_detail(self) -> None:
        if self.photo is None or not self.sharpen:
            return
        shown = self.transform().m11() * self.devicePixelRatioF()  # screen pixels per photo pixel
        if shown <= self._preview_scale * SHARPER_AT:
            return  # the preview is sharp enough
        visible = self.mapToScene(self.viewport().rect()).boundingRect().intersected(self.sceneRect())
        wanted = min(1.0, shown)
        if self._detail_rect.contains(visible) and self._detail_scale >= wanted * 0.95:
            return  # the tile on view already covers it
        margin_x, margin_y = visible.width() / 4, visible.height() / 4  # room to pan before the next one
        rect = visible.adjusted(-margin_x, -margin_y, margin_x, margin_y).intersected(self.sceneRect())
        rect = QRectF(rect.toAlignedRect())
        if not rect.isEmpty():
            self.detail_wanted.emit(rect, wanted)

    def _scrolled(self, _value: int) -> None:
        if self.photo is not None and not self._fitted:
            self._detail_timer.start()

    def region_items(self) -> list[RegionItem]:
        return list(self.items_by_id.values())

    def selected_region(self) -> str:
        chosen = [i for i in self.scene().selectedItems() if isinstance(i, RegionItem)]
        return chosen[0].region_id if chosen else ""

    def select_region(self, region_id: str) -> None:
        scene = self.scene()
        if region_id == self.selected_region():
            return
        scene.blockSignals(True)
        scene.clearSelection()
        item = self.items_by_id.get(region_id)
        if item is not None:
            item.setSelected(True)
            self.ensureVisible(item, 20, 20)
        scene.blockSignals(False)
        self._selection_changed()

    def keyPressEvent(self, event) -> None:
        """The arrow keys move from box to box (left to right, then top to bottom)."""
        step = {Qt.Key.Key_Right: 1, Qt.Key.Key_Down: 1, Qt.Key.Key_Left: -1, Qt.Key.Key_Up: -1}.get(event.key())
        shown = [i for i in self.items_by_id.values() if i.isVisible() and not i.whole]
        if step is None or not shown or event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            super().keyPressEvent(event)
            return
        shown.sort(key=lambda i: (i.rect().center().x(), i.rect().center().y()))
        ids = [i.region_id for i in shown]
        current = self.selected_region()
        at = ids.index(current) + step if current in ids else (0 if step > 0 else len(ids) - 1)
        self.select_region(ids[at % len(ids)])
        event.accept()

    def _selection_changed(self) -> None:
        self.region_selected.emit(self.selected_region())

    # --- zoom ----------------------------------------------------------------------------------

    def fit(self) -> None:
        if self.photo is not None:
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
            self.place_labels()
        self._fitted = True

    def zoom(self, factor: float) -> None:
        current = self.transform().m11()
        factor = max(MIN_SCALE / current, min(MAX_SCALE / current, factor))
        self.scale(factor, factor)
        self.place_labels()
        self._fitted = False
        self._detail_timer.start()

    def zoom_in(self) -> None:
        self.zoom(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom(1 / ZOOM_STEP)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps and self.photo is not None:
            self.zoom(ZOOM_STEP**steps)
            event.accept()
        else:
            super().wheelEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.hint.setGeometry(self.viewport().rect().adjusted(24, 24, -24, -24))
        if self._fitted:
            self.fit()

    # --- drawing a box, panning ----------------------------------------------------------------

    @property
    def drawing(self) -> bool:
        return self._drawing

    def set_drawing(self, on: bool) -> None:
        self._drawing = on
        self.setDragMode(QGraphicsView.DragMode.NoDrag if on else QGraphicsView.DragMode.ScrollHandDrag)
        self.viewport().setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.OpenHandCursor)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton:
            self._pan_from = event.position().toPoint()
            event.accept()
            return
        if self._drawing and event.button() == Qt.MouseButton.LeftButton and self.photo is not None:
            self._draw_start = self._clamped(self.mapToScene(event.position().toPoint()))
            self._rubber = QGraphicsRectItem(QRectF(self._draw_start, self._draw_start))
            pen = QPen(QColor("#ffffff"), 2, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            self._rubber.setPen(pen)
            self._rubber.setZValue(10_000)
            self.scene().addItem(self._rubber)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position().toPoint() - self._pan_from
            self._pan_from = event.position().toPoint()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        if self._rubber is not None and self._draw_start is not None:
            end = self._clamped(self.mapToScene(event.position().toPoint()))
            self._rubber.setRect(QRectF(self._draw_start, end).normalized())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() == Qt.MouseButton.MiddleButton:
            self._pan_from = None
            event.accept()
            return
        if self._rubber is not None:
            rect = self._rubber.rect()
            self.scene().removeItem(self._rubber)
            self._rubber, self._draw_start = None, None
            if rect.width() >= MIN_DRAWN and rect.height() >= MIN_DRAWN:
                self.box_drawn.emit((rect.left(), rect.top(), rect.right(), rect.bottom()))
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def _clamped(self, point: QPointF) -> QPointF:
        width, height = self.photo_size or (0, 0)
        return QPointF(min(max(point.x(), 0.0), width), min(max(point.y(), 0.0), height))

    def contextMenuEvent(self, event) -> None:
        item = self.region_at(event.pos())
        if item is not None:
            self.select_region(item.region_id)
        self.context_requested.emit(item.region_id if item else "", event.globalPos())

    def region_at(self, pos: QPoint) -> RegionItem | None:
        for item in self.items(pos):
            owner = item if isinstance(item, RegionItem) else getattr(item, "box", None)  # a box or its tag
            if isinstance(owner, RegionItem) and owner is not self.answer:
                return owner
        # the whole-photo box answers only on its tag; anywhere else on the photo it is the fallback
        whole = [i for i in self.items_by_id.values() if i.whole]
        if whole and self.scene().sceneRect().contains(self.mapToScene(pos)):
            return whole[0]
        return None

    # --- drops ---------------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self._drag(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self._drag(event)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._mark_drop(None)
        event.accept()

    def _drag(self, event: QDragMoveEvent) -> None:
        mime = event.mimeData()
        if dropped_concept(mime) is not None:
            item = self.region_at(event.position().toPoint())
            self._mark_drop(item)
            if item is not None:
                event.acceptProposedAction()
            else:
                event.ignore()
        elif local_paths(mime):
            event.acceptProposedAction()
        else:
            event.ignore()

    def _mark_drop(self, item: RegionItem | None) -> None:
        if self._drop_item is not None and self._drop_item is not item:
            self._drop_item.set_emphasis(drop_target=False)
        self._drop_item = item
        if item is not None:
            item.set_emphasis(drop_target=True)

    def dropEvent(self, event: QDropEvent) -> None:
        self._mark_drop(None)
        mime = event.mimeData()
        name = dropped_concept(mime)
        if name is not None:
            item = self.region_at(event.position().toPoint())
            if item is None:
                event.ignore()
                return
            event.acceptProposedAction()
            self.concept_dropped.emit(item.region_id, name)
            return
        paths = local_paths(mime)
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.photo_dropped.emit(paths)
