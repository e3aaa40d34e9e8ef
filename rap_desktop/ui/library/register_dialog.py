"""The "Remember a concept" dialog: the photo with the detected regions (pick one, draw a box, or
keep the whole photo), name (validated as you type), description, category (suggested from the
detector's label).

The same fields edit an existing concept (no photo to choose then; its cover is shown if known).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import Qt, Signal
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
from rap_desktop.core.regions import Proposal

from ..photo.photo_view import PhotoView
from ..photo.region_items import RegionItem, RegionLook

PREVIEW_SIZE = 320
PICKER_SIZE = 440
DRAWN = "drawn"


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
        photo_size: tuple[int, int] | None = None,
        adding_to: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.adding_to = adding_to  # another photo of this concept: only the photo and box are asked
        self.picker: RegionPicker | None = None
        self._suggested = ""  # the category we filled in from a region's label (replaced, never the user's)
        title = f"Edit {editing}" if editing else f"Add a photo of {adding_to}" if adding_to else ""
        self.setWindowTitle(title or "Remember a concept")
        editing = editing or adding_to
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
        self.ok_button.setText("Add photo" if adding_to else "Save" if editing else "Remember")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("&Name:", self.name_edit)
        form.addRow("", self.error_label)
        form.addRow("&Description:", self.info_edit)
        form.addRow("&Category:", self.category_edit)
        hint = QLabel("The name is how you ask about it later, e.g. \"Where is Bo?\"")
        hint.setTextFormat(Qt.TextFormat.PlainText)
        hint.setWordWrap(True)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        form.addRow("", hint)

        row = QHBoxLayout()
        if preview is not None and photo_size is not None:
            self.picker = RegionPicker(preview, photo_size, caption)
            self.picker.changed.connect(self._region_changed)
            row.addWidget(self.picker, 0)
        elif preview is not None:
            row.addLayout(_preview_column(preview, caption), 0)
        row.addLayout(form, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.resize(900 if self.picker else 760 if preview is not None else 480, 0)

        if adding_to:  # the concept's text is changed with Edit, not here
            for field in (self.name_edit, self.info_edit, self.category_edit):
                field.setEnabled(False)
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

    def box(self) -> tuple[float, float, float, float] | None:
        """The part of the photo to remember: a picked or drawn box, or None for the whole photo."""
        return self.picker.box() if self.picker is not None else None

    def _region_changed(self, label: str) -> None:
        # suggest the detector's word as the category, unless the user typed their own
        current = self.category_edit.text().strip()
        if label and not self.adding_to and (not current or current == self._suggested):
            self.category_edit.setText(label)
            self._suggested = label

    def error(self) -> str:
        """Why the name cannot be used, or "" when it can."""
        try:
            name = clean_name(self.name_edit.text())
        except InvalidNameError as exc:
            # an empty field is not an error worth shouting about; OK stays disabled all the same
            return "" if not self.name_edit.text().strip() else str(exc)
        if name.casefold() in self._taken:
            return f"{name} already exists in your library"
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


class RegionPicker(QWidget):
    """The photo with the detector's regions: click one, draw a box (drag with the button on), or
    none selected = the whole photo."""

    changed = Signal(str)  # the chosen region's detector label ("" for the whole photo or a drawn box)

    def __init__(self, preview: QPixmap, photo_size: tuple[int, int], caption: str) -> None:
        super().__init__()
        self.view = PhotoView(accept_drops=False)
        self.view.setMinimumSize(PICKER_SIZE, PICKER_SIZE)
        self.view.set_photo(preview.toImage(), photo_size)
        self.labels: dict[str, str] = {}
        self._prefix = ""
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.whole_button = QPushButton("&Whole photo")
        self.whole_button.clicked.connect(lambda: self.view.select_region(""))
        self.draw_button = QPushButton("&Draw a box")
        self.draw_button.setCheckable(True)
        self.draw_button.toggled.connect(self.view.set_drawing)
        self.view.box_drawn.connect(self._drawn)
        self.view.region_selected.connect(self._selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.whole_button)
        buttons.addWidget(self.draw_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        text = QLabel(caption)
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.PlainText)
        text.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout.addWidget(text)
        self.caption = caption
        self._status("Finding regions…")

    def set_proposals(self, proposals: Sequence[Proposal]) -> None:
        items = [
            RegionItem(f"d{i}", p.box, RegionLook(f"{p.label} {p.score:.2f}", "proposal"))
            for i, p in enumerate(proposals, 1)
        ]
        self.labels = {item.region_id: p.label for item, p in zip(items, proposals, strict=True)}
        drawn = self.view.items_by_id.get(DRAWN)
        if drawn is not None:  # set_regions replaces every box; keep the user's
            items.append(RegionItem(DRAWN, drawn.box, drawn.look))
        self.view.set_regions(items, selected=self.view.selected_region())
        found = f"{len(proposals)} region{'s' * (len(proposals) != 1)} found" if proposals else "No regions found"
        self._status(found)

    def detection_failed(self, message: str) -> None:
        self._status(f"No regions ({message})")

    def _drawn(self, box: tuple) -> None:
        self.draw_button.setChecked(False)
        items = [i for i in self.view.region_items() if i.region_id != DRAWN]
        # new items: the old ones are removed from the scene (and deleted) by set_regions
        fresh = [RegionItem(i.region_id, i.box, i.look) for i in items]
        fresh.append(RegionItem(DRAWN, box, RegionLook("your box", "chosen")))
        self.view.set_regions(fresh, selected=DRAWN)

    def _selected(self, region_id: str) -> None:
        self._status()
        self.changed.emit(self.labels.get(region_id, ""))

    def _status(self, prefix: str | None = None) -> None:
        if prefix is not None:
            self._prefix = prefix
        chosen = self.view.selected_region()
        what = "your box" if chosen == DRAWN else f"region {chosen[1:]}" if chosen else "the whole photo"
        head = f"{self._prefix.rstrip('.…')}. " if self._prefix else ""
        self.status.setText(f"{head}Remembering {what}. Click a box to choose it, or draw one.")

    def box(self) -> tuple[float, float, float, float] | None:
        item = self.view.items_by_id.get(self.view.selected_region())
        return tuple(float(v) for v in item.box) if item is not None else None  # type: ignore[return-value]


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
