"""A flat list model whose rows each show a thumbnail from the ThumbnailCache: the entries, the row
count, and a repaint of exactly the rows whose thumbnail has just been decoded (io lane).

Subclasses say which image a row shows (`thumbnail_of`) and what else it answers (`entry_data`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from .thumbnails import ThumbnailCache

Index = QModelIndex | QPersistentModelIndex


class ThumbnailListModel(QAbstractListModel):
    def __init__(self, thumbnails: ThumbnailCache, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[Any] = []
        self._rows_by_image: dict[str, list[int]] = {}
        self._thumbnails = thumbnails
        thumbnails.ready.connect(self._thumbnail_ready)

    # --- for subclasses ------------------------------------------------------------------------

    def thumbnail_of(self, entry: Any) -> tuple[str | None, Path | None]:
        """The image file name (the cache key) and path a row shows."""
        raise NotImplementedError

    def entry_data(self, entry: Any, role: int) -> object:
        """Every role but the thumbnail (DecorationRole)."""
        return None

    # --- contents ------------------------------------------------------------------------------

    def set_entries(self, entries: Sequence[Any]) -> None:
        # a reset is right here: every refresh is a fresh listing from the store
        self.beginResetModel()
        self._entries = list(entries)
        self._rows_by_image = {}
        for row, entry in enumerate(self._entries):
            name = self.thumbnail_of(entry)[0]
            if name:
                self._rows_by_image.setdefault(name, []).append(row)
        self.endResetModel()

    def entries(self) -> list[Any]:
        return list(self._entries)

    def entry(self, row: int) -> Any:
        return self._entries[row]

    # --- Qt ------------------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._entries)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnails.icon(*self.thumbnail_of(entry))  # a blank until decoded off-thread
        return self.entry_data(entry, role)

    def _thumbnail_ready(self, name: str) -> None:
        for row in self._rows_by_image.get(name, ()):
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
