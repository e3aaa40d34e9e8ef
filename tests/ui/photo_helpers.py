"""Helpers for the photo-view tests: open a photo and wait for its boxes, find items, drop things."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from rap_desktop.core.store import photos
from rap_desktop.ui.main_window import MainWindow
from rap_desktop.ui.photo.region_items import RegionItem

WAIT = 20_000  # ms: the first retrieval loads the tiny detector and embedder


def open_photo(qtbot, win: MainWindow, path: Path) -> None:
    with qtbot.waitSignal(win.photos.shown, timeout=WAIT):
        win.photos.open_path(path)
    idle(qtbot, win)


def idle(qtbot, win: MainWindow) -> None:
    qtbot.waitUntil(lambda: win.runner.pending == 0, timeout=WAIT)


def after(qtbot, win: MainWindow, trigger) -> None:
    """Run `trigger` (a correction, an undo) and wait until the photo is drawn again."""
    with qtbot.waitSignal(win.photos.shown, timeout=WAIT):
        trigger()
    idle(qtbot, win)


def drop(widget, mime: QMimeData, pos: QPointF) -> QDropEvent:
    event = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)
    return event


def file_mime(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def centre_of(win: MainWindow, item: RegionItem) -> QPointF:
    return QPointF(win.photo_view.mapFromScene(item.rect().center()))


def statuses(store, win: MainWindow, region_id: str) -> dict[str, str]:
    """What the store holds as the user's decisions for a region: concept name -> status."""
    photo_id, _, _ = photos.find_photo(store, win.photos.current.result.photo)
    region = photos.region(store, photo_id, region_id)
    names = {c.id: c.name for c in store.list_concepts()}
    return {names[c]: s for (_, c), s in photos.manual_statuses(store, [region.id]).items()}


def open_corrections(store) -> list[tuple[str, int]]:
    return [tuple(r) for r in store.conn.execute("SELECT action, undone FROM corrections ORDER BY id")]
