"""Model/View for concepts: a list model over the store's listing and the search-box filter."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import (
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from rap_desktop.core.store import Concept

from ..photo.photo_view import CONCEPT_MIME, concept_mime
from ..plain_words import unbracket
from ..runtime.thumbnail_model import ThumbnailListModel
from .operations import ConceptEntry

ConceptRole = Qt.ItemDataRole.UserRole + 1  # the Concept dataclass of a row
SearchTextRole = Qt.ItemDataRole.UserRole + 2  # casefolded name + category + info

Index = QModelIndex | QPersistentModelIndex


class ConceptListModel(ThumbnailListModel):
    """The concepts, each with its cover photo."""

    def entries(self) -> list[ConceptEntry]:
        return list(self._entries)

    def entry(self, row: int) -> ConceptEntry:
        return self._entries[row]

    def name_keys(self) -> set[str]:
        return {e.concept.name.casefold() for e in self._entries}

    def categories(self) -> list[str]:
        return sorted({e.concept.category for e in self._entries if e.concept.category}, key=str.casefold)

    def row_of(self, name: str) -> int:
        key = name.casefold()
        return next((i for i, e in enumerate(self._entries) if e.concept.name.casefold() == key), -1)

    # --- Qt ------------------------------------------------------------------------------------

    def thumbnail_of(self, entry: ConceptEntry) -> tuple[str | None, Path | None]:
        return entry.cover, entry.cover_path

    def entry_data(self, entry: ConceptEntry, role: int) -> object:
        concept = entry.concept
        if role == Qt.ItemDataRole.DisplayRole:
            return concept.name  # as typed: the model's <brackets> stay in its prompt
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(concept)
        if role == ConceptRole:
            return concept
        if role == SearchTextRole:
            return f"{concept.name}\n{concept.category}\n{concept.info}".casefold()
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        return flags | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else flags

    def mimeTypes(self) -> list[str]:
        return [CONCEPT_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        """A dragged concept: its name, for dropping onto a box on the photo."""
        rows = sorted({i.row() for i in indexes if i.isValid()})
        return concept_mime(self._entries[rows[0]].concept.name) if rows else QMimeData()


def _tooltip(concept: Concept) -> str:
    # tooltips guess rich text, and "<b> is ..." would turn bold: send escaped HTML instead
    text = html.escape(unbracket(concept.info) or "(no description)").replace("\n", "<br>")
    if concept.category:
        text += f"<br><i>Category: {html.escape(concept.category)}</i>"
    return f"<p>{text}</p>"


class ConceptFilterModel(QSortFilterProxyModel):
    """The search box: every word must occur in the name, category or info (case-insensitive)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._words: list[str] = []

    def set_query(self, text: str) -> None:
        # strip <> so typing "<bo>" finds bo just like "bo" does
        words = text.replace("<", " ").replace(">", " ").casefold().split()
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9; invalidateFilter() is deprecated there
            self.beginFilterChange()
            self._words = words
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._words = words
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not self._words:
            return True
        model = self.sourceModel()
        text = str(model.data(model.index(source_row, 0, source_parent), SearchTextRole) or "")
        return all(word in text for word in self._words)
