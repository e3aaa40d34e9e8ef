"""Pick a concept by typing: the library's own model behind a search box (same filter as the library)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QListView, QVBoxLayout, QWidget

from .concept_model import ConceptFilterModel, ConceptListModel, ConceptRole


class ConceptPicker(QDialog):
    def __init__(self, parent: QWidget | None, model: ConceptListModel, title: str, exclude: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.proxy = ConceptFilterModel(self)
        self.proxy.setSourceModel(model)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Type to search names, categories, descriptions…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.search.installEventFilter(self)
        self.list = QListView()
        self.list.setModel(self.proxy)
        self.list.setIconSize(QSize(40, 40))
        self.list.setUniformItemSizes(True)
        self.list.doubleClicked.connect(lambda _index: self.accept())
        self.current = exclude.casefold()
        self.note = QLabel(f"Now shown as {exclude}." if exclude else "")
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setVisible(bool(exclude))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Assign")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.note)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)
        self.list.selectionModel().currentChanged.connect(lambda *_: self._update())
        self.resize(380, 440)
        self._filter("")
        self.search.setFocus()

    def _filter(self, text: str) -> None:
        self.proxy.set_query(text)
        rows = self.proxy.rowCount()
        if rows and not self.list.currentIndex().isValid():
            # start on the first concept that is not the one the region holds now
            names = [self.proxy.index(r, 0).data(ConceptRole).name.casefold() for r in range(rows)]
            first = next((r for r, n in enumerate(names) if n != self.current), 0)
            self.list.setCurrentIndex(self.proxy.index(first, 0))
        elif not rows:
            self.list.setCurrentIndex(self.proxy.index(-1, -1))
        self._update()

    def _update(self) -> None:
        self.ok_button.setEnabled(self.chosen() is not None)

    def eventFilter(self, watched, event) -> bool:
        # arrows in the search box move through the list, as in any picker
        arrow = isinstance(event, QKeyEvent) and event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up)
        if watched is self.search and arrow and event.type() == QKeyEvent.Type.KeyPress:
            row = self.list.currentIndex().row() + (1 if event.key() == Qt.Key.Key_Down else -1)
            if 0 <= row < self.proxy.rowCount():
                self.list.setCurrentIndex(self.proxy.index(row, 0))
            return True
        return super().eventFilter(watched, event)

    def chosen(self) -> str | None:
        index = self.list.currentIndex()
        concept = index.data(ConceptRole) if index.isValid() else None
        return concept.name if concept is not None else None

    def accept(self) -> None:
        if self.chosen() is not None:
            super().accept()
