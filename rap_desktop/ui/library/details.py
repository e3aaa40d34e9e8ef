"""The right-hand panel: the selected concept's name, category, description and its photos."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QFrame, QLabel, QListView, QVBoxLayout, QWidget

from rap_desktop.core.store import Concept

from ..plain_words import unbracket
from ..runtime.thumbnail_model import ThumbnailListModel
from ..runtime.thumbnails import ThumbnailCache
from .operations import ExemplarEntry

STRIP_ICON = 96


class ExemplarModel(ThumbnailListModel):
    """A concept's photos (thumbnails only) for the strip under its details."""

    def thumbnail_of(self, entry: ExemplarEntry) -> tuple[str | None, Path | None]:
        return entry.exemplar.image, entry.path

    def entry_data(self, entry: ExemplarEntry, role: int) -> object:
        if role == Qt.ItemDataRole.ToolTipRole:
            ex = entry.exemplar
            return f"{ex.width} × {ex.height} pixels, {ex.source}"
        return None


class DetailsPanel(QWidget):
    def __init__(self, thumbnails: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        font = QFont(self.title.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setWordWrap(True)
        self.category = QLabel()
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.photos_label = QLabel()
        self.exemplars = ExemplarModel(thumbnails, self)
        self.strip = QListView()
        self.strip.setModel(self.exemplars)
        self.strip.setViewMode(QListView.ViewMode.IconMode)
        self.strip.setFlow(QListView.Flow.LeftToRight)
        self.strip.setWrapping(True)
        self.strip.setResizeMode(QListView.ResizeMode.Adjust)
        self.strip.setMovement(QListView.Movement.Static)
        self.strip.setIconSize(QSize(STRIP_ICON, STRIP_ICON))
        self.strip.setGridSize(QSize(STRIP_ICON + 12, STRIP_ICON + 12))
        self.strip.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.strip.setFrameShape(QFrame.Shape.NoFrame)
        self.strip.viewport().setAutoFillBackground(False)  # sit on the panel, not a white box

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        for widget in (self.title, self.category, self.info, self.photos_label):
            widget.setTextFormat(Qt.TextFormat.PlainText)  # "<bo> is ..." is text, not HTML
            layout.addWidget(widget)
        layout.addWidget(self.strip, 1)
        self.show_nothing()

    def show_nothing(self, selected: int = 0) -> None:
        self._shown: str | None = None
        if selected > 1:
            self.title.setText(f"{selected} concepts selected")
            self.info.setText("Remove (Delete) forgets all of them; Undo (Ctrl+Z) brings them back.")
        else:
            self.title.setText("No concept selected")
            self.info.setText(
                "Choose a concept on the left to see what the assistant knows about it, "
                "or drop photos on this window to remember someone or something new (Ctrl+N)."
            )
        self.category.hide()
        self.photos_label.hide()
        self.exemplars.set_entries([])

    def show_concept(self, concept: Concept) -> None:
        """The concept's text at once; its photos arrive later through `show_exemplars`."""
        if self._shown != concept.name:
            self.exemplars.set_entries([])
        self._shown = concept.name
        self.title.setText(concept.name)
        self.category.setText(f"Category: {concept.category}" if concept.category else "No category")
        self.category.show()
        self.info.setText(unbracket(concept.info) or "No description yet. Edit (F2) to add one.")
        count = concept.exemplar_count
        self.photos_label.setText(f"{count} photo" + ("" if count == 1 else "s"))
        self.photos_label.show()

    def show_exemplars(self, name: str, entries: Sequence[ExemplarEntry]) -> None:
        if self._shown is not None and self._shown.casefold() == name.casefold():  # not a stale answer
            self.exemplars.set_entries(entries)

    @property
    def shown(self) -> str | None:
        return self._shown
