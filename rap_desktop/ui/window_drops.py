"""Photos dropped on the window: on a concept, more photos of it; anywhere else, new concepts."""

from __future__ import annotations

from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent

from .library.concept_model import ConceptRole
from .photo.photo_view import local_paths


class FileDrops:
    """Mixed into the main window: accepts dragged local files and hands them to the concept commands."""

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self._accept_files(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self._accept_files(event)

    def _accept_files(self, event: QDragMoveEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = local_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        # dropped on a concept in the library: more photos of it; anywhere else: new concepts
        where = self.list_view.viewport().mapFrom(self, event.position().toPoint())
        index = self.list_view.indexAt(where) if self.list_view.viewport().rect().contains(where) else None
        concept = index.data(ConceptRole) if index is not None and index.isValid() else None
        self.commands.register_paths(paths, to=concept.name if concept else None)
