"""The "Remember a concept" dialog: photo preview, name (validated as you type), description, category.

The same fields edit an existing concept (no photo to choose then; its cover is shown if known).
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette, QPixmap
from PySide6.QtWidgets import (
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from rap_desktop.core.errors import InvalidNameError
from rap_desktop.core.names import MAX_NAME_LENGTH, clean_name, tag

PREVIEW_SIZE = 320


class RegisterDialog(QDialog):
    def __init__(
        self,
        parent: QWidget | None,
        taken: Iterable[str],
        preview: QPixmap | None = None,
        caption: str = "",
        *,
        editing: str | None = None,
        info: str = "",
        category: str = "",
        categories: Iterable[str] = (),
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Edit {tag(editing)}" if editing else "Remember a concept")
        self.caption = caption  # what the photo is (file name, size): shown under the preview
        # names already in the store (casefolded); a concept being edited may keep its own name
        self._taken = {t.casefold() for t in taken} - ({editing.casefold()} if editing else set())
        self.name_edit = QLineEdit(editing or "")
        self.name_edit.setMaxLength(MAX_NAME_LENGTH + 2)  # room for the optional <>
        self.name_edit.setPlaceholderText("e.g. bo")
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)  # messages quote names as <name>
        self.error_label.setPalette(_error_palette(self.palette()))
        self.info_edit = QPlainTextEdit(info)
        self.info_edit.setTabChangesFocus(True)  # Tab moves on, like the other fields
        self.category_edit = QLineEdit(category)
        self.category_edit.setPlaceholderText("a word for what it is: person, dog, mug …")
        self.category_edit.setCompleter(QCompleter(sorted(set(categories), key=str.casefold), self))

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button: QPushButton = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Save" if editing else "Remember")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("&Name:", self.name_edit)
        form.addRow("", self.error_label)
        form.addRow("&Description:", self.info_edit)
        form.addRow("&Category:", self.category_edit)
        hint = QLabel("The name is how you ask about it later, written as <name> in a question.")
        hint.setTextFormat(Qt.TextFormat.PlainText)
        hint.setWordWrap(True)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        form.addRow("", hint)

        row = QHBoxLayout()
        if preview is not None:
            row.addLayout(_preview_column(preview, caption), 0)
        row.addLayout(form, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.resize(760 if preview is not None else 480, 0)

        self.name_edit.textChanged.connect(self._validate)
        self._validate()
        self.name_edit.setFocus()

    # --- values --------------------------------------------------------------------------------

    def name(self) -> str:
        return clean_name(self.name_edit.text())

    def info(self) -> str:
        return self.info_edit.toPlainText().strip()

    def category(self) -> str:
        return self.category_edit.text().strip()

    def error(self) -> str:
        """Why the name cannot be used, or "" when it can."""
        try:
            name = clean_name(self.name_edit.text())
        except InvalidNameError as exc:
            # an empty field is not an error worth shouting about; OK stays disabled all the same
            return "" if not self.name_edit.text().strip() else str(exc)
        if name.casefold() in self._taken:
            return f"a concept named {tag(name)} already exists"
        return ""

    def is_valid(self) -> bool:
        return bool(self.name_edit.text().strip()) and not self.error()

    def _validate(self) -> None:
        message = self.error()
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))
        self.ok_button.setEnabled(self.is_valid())
        shown = self.name_edit.text().strip().strip("<>").strip() or "name"
        self.info_edit.setPlaceholderText(f"{tag(shown)} is … (who or what it is, what makes it recognisable)")

    def accept(self) -> None:
        if self.is_valid():  # Enter in a field must not get past the validation
            super().accept()


def _preview_column(pixmap: QPixmap, caption: str) -> QVBoxLayout:
    column = QVBoxLayout()
    picture = QLabel()
    picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
    scaled = pixmap.scaled(
        PREVIEW_SIZE, PREVIEW_SIZE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    picture.setPixmap(scaled)
    picture.setFixedSize(PREVIEW_SIZE, PREVIEW_SIZE)
    column.addWidget(picture)
    if caption:
        text = QLabel(caption)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setWordWrap(True)
        text.setMaximumWidth(PREVIEW_SIZE)
        column.addWidget(text)
    column.addStretch(1)
    return column


def _error_palette(base: QPalette) -> QPalette:
    # there is no "error" colour role: pick a red that reads on the current (light or dark) window
    palette = QPalette(base)
    dark = base.color(QPalette.ColorRole.Window).lightness() < 128
    palette.setColor(QPalette.ColorRole.WindowText, QColor("#ff7b72") if dark else QColor("#b3261e"))
    return palette
