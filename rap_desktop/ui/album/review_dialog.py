"""Album ▸ Who's this?…: one question at a time about what most needs a person (core/review.py).

Non-modal. The question comes from the store lane, its crops from the io lane (big tiles: the longer
side TILE px, aspect kept, several examples of a group; for "Is this Bo?" one of Bo's own photos
beside them). Answers: Yes (Y), No (N), It's… (I: the concept picker, or a new name), Skip (S), Hide
this person (H); each goes on the window's undo stack (Ctrl+Z here too), and the next question follows.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QFont, QImage, QKeySequence, QPalette, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from rap_desktop.core.changes import Changes
from rap_desktop.core.review import Question

from ..context import AppContext
from ..library.concept_picker import ConceptPicker
from ..library.register_dialog import RegisterDialog
from ..runtime.tasks import said
from . import review_ops
from .review_ops import TILE

COLUMNS = 3
DONE_TEXT = (
    "Nothing to ask right now.\n\n"
    "Every look-alike group is named or hidden, and every match is sure enough. New photos bring new questions."
)


class Tile(QLabel):
    """One crop, centred on a fixed square (rows line up whatever the crops' shapes)."""

    def __init__(self, caption: str = "") -> None:
        super().__init__()
        self.setFixedSize(TILE + 8, TILE + 8)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setToolTip(caption)

    def show_image(self, image: QImage | None) -> None:
        if image is None:
            self.setText("(photo not found)")
        else:
            self.setPixmap(QPixmap.fromImage(image))


class ReviewDialog(QDialog):
    asked = Signal(str)  # a question is on show (its id; "" when there is none): tests wait on it
    tiles_shown = Signal(int)  # the crops of the question on show arrived (how many)

    def __init__(self, ctx: AppContext, parent: QWidget) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Who's this?")
        self.setModal(False)
        self.current: review_ops.Asked | None = None
        self.skipped: set[str] = set()  # skipped while the window is open: not asked again
        self.answered = 0
        self.chooser: QDialog | None = None  # the picker or the new-name dialog, while open
        self._loading = 0  # number of the question asked for: answers for an older one are dropped
        self._busy = True
        self._own = False  # an answer of ours is on its way: its changes bring the next question
        self.keys: dict[str, QAction] = {}  # the answer keys (Y, N, I, S, H)

        self.question_label = QLabel()
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        self.question_label.setFont(font)
        self.question_label.setTextFormat(Qt.TextFormat.PlainText)
        self.detail = QLabel()
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setWordWrap(True)
        self.detail.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        self.tiles = QWidget()
        self.grid = QGridLayout(self.tiles)
        self.grid.setSpacing(8)
        self.context, self.context_box = _captioned("In the photo")
        self.cover, self.cover_box = _captioned("")
        self.cover_caption = self.cover_box.findChild(QLabel, "caption")
        pictures = QHBoxLayout()
        pictures.addWidget(self.tiles, 0, Qt.AlignmentFlag.AlignTop)
        pictures.addWidget(self.context_box, 0, Qt.AlignmentFlag.AlignTop)
        pictures.addSpacing(24)
        pictures.addWidget(self.cover_box, 0, Qt.AlignmentFlag.AlignTop)
        pictures.addStretch(1)
        self.empty = QLabel(DONE_TEXT)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.hide()

        self.yes_button = self._button("Yes", "Y", lambda: self.answer("yes"))
        self.no_button = self._button("No", "N", lambda: self.answer("no"))
        self.name_button = self._button("It's…", "I", self.name_it)
        self.skip_button = self._button("Skip", "S", self.skip)
        self.hide_button = self._button("Hide this person", "H", lambda: self.answer("hide"))
        self.hide_button.setToolTip("A stranger: never shown in the groups or asked about again (Undo takes it back)")
        answers = QHBoxLayout()
        for button in (self.yes_button, self.no_button, self.name_button, self.skip_button, self.hide_button):
            answers.addWidget(button)
        answers.addStretch(1)

        self.undo_button = QPushButton("Undo  (Ctrl+Z)")
        self.undo_button.clicked.connect(self.ctx.undo_stack.undo)
        self.ctx.undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        self.undo_button.setEnabled(self.ctx.undo_stack.canUndo())
        undo = QAction(self)  # the window's Ctrl+Z does not reach a separate window
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        undo.triggered.connect(self.ctx.undo_stack.undo)
        redo = QAction(self)
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        redo.triggered.connect(self.ctx.undo_stack.redo)
        self.addActions([undo, redo])
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.undo_button)
        bottom.addWidget(self.status, 1)
        bottom.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addWidget(self.question_label)
        layout.addWidget(self.detail)
        layout.addSpacing(8)
        layout.addLayout(pictures)
        layout.addWidget(self.empty, 1)
        layout.addSpacing(8)
        layout.addLayout(answers)
        layout.addStretch(1)
        layout.addLayout(bottom)
        self.resize(COLUMNS * (TILE + 16) + TILE + 120, 2 * (TILE + 16) + 260)
        self._update_buttons()

    def _button(self, text: str, key: str, slot) -> QPushButton:
        """A big answer button with its key on it; the key is an action of the window (a button's own
        shortcut clicks it only after an animation, and a fast second key could beat it)."""
        button = QPushButton(f"{text}  ({key})")
        action = QAction(text, self)
        action.setShortcut(QKeySequence(key))
        action.triggered.connect(lambda _checked=False: button.isEnabled() and slot())
        self.addAction(action)
        self.keys[key] = action
        button.setAutoDefault(False)
        button.setMinimumHeight(40)
        button.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
        button.clicked.connect(slot)
        return button

    # --- asking --------------------------------------------------------------------------------

    @property
    def loading(self) -> bool:
        return self._busy

    def load(self, prefer: str | None = None) -> None:
        """Ask the store lane for the question to show (`prefer`: one just undone)."""
        self._loading += 1
        number = self._loading
        self._set_busy(True)
        self.status.setText("Looking for the next question…")
        threshold = float(self.ctx.settings.value("groups/threshold", 0.9))
        min_size = int(self.ctx.settings.value("groups/min_size", 3))
        self.ctx.runner.submit(
            review_ops.next_question,
            self.ctx.session,
            threshold,
            min_size,
            frozenset(self.skipped),
            prefer,
            on_done=lambda asked: self._show(number, asked),
            on_error=said(lambda message: self._failed(number, message)),
        )

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_buttons()

    def _show(self, number: int, asked: review_ops.Asked | None) -> None:
        if number != self._loading:
            return
        self.current = asked
        self._own = False
        self._set_busy(False)
        self._clear_tiles()
        if asked is None:
            self.question_label.setText("All done")
            self.detail.setText("")
            self.tiles.hide()
            self.cover_box.hide()
            self.context_box.hide()
            self.empty.show()
            self.status.setText(self._progress(0))
            self.asked.emit("")
            return
        question = asked.question
        self.empty.hide()
        self.tiles.show()
        self.question_label.setText(question.text)
        self.detail.setText(describe(question))
        for n in range(len(question.samples)):
            self.grid.addWidget(Tile(), n // COLUMNS, n % COLUMNS)
        self.cover_box.setVisible(asked.cover is not None)
        self.cover_caption.setText(f"{question.suggested}, as you know them" if asked.cover else "")
        self.cover.clear()
        self.context.clear()
        self.context_box.setVisible(question.kind == "match")
        self.status.setText(self._progress(asked.left))
        self._update_buttons()
        self.ctx.runner.submit(
            review_ops.crops,
            question.samples,
            asked.cover,
            question.kind == "match",
            lane="io",
            on_done=lambda result: self._crops(number, result),
            on_error=lambda _message: None,  # a preview only: the tiles stay empty
        )
        self.asked.emit(question.id)

    def _crops(self, number: int, result: tuple[list[QImage | None], QImage | None, QImage | None]) -> None:
        if number != self._loading:
            return
        images, cover, where = result
        if where is not None:
            self.context.show_image(where)
        for n, image in enumerate(images):
            item = self.grid.itemAtPosition(n // COLUMNS, n % COLUMNS)
            if item is not None and isinstance(item.widget(), Tile):
                item.widget().show_image(image)
        if cover is not None:
            self.cover.show_image(cover)
        self.tiles_shown.emit(len(images))

    def _clear_tiles(self) -> None:
        while self.grid.count():
            widget = self.grid.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()

    def tile_images(self) -> list[QImage]:
        """The crops on show (tests and the new-name dialog's preview)."""
        out = []
        for n in range(self.grid.count()):
            widget = self.grid.itemAt(n).widget()
            pixmap = widget.pixmap() if isinstance(widget, Tile) else None
            if pixmap is not None and not pixmap.isNull():
                out.append(pixmap.toImage())
        return out

    def _failed(self, number: int, message: str) -> None:
        if number != self._loading:
            return
        self._set_busy(False)
        self.status.setText("Could not find the next question")
        self.ctx.status.show_error(message)

    def _progress(self, left: int) -> str:
        done = f"{self.answered} answered" if self.answered else ""
        more = f"{left}+" if left >= review_ops.QUEUE else str(left)
        waiting = f"{more} question{'s' * (left != 1)} waiting" if left else ""
        return " · ".join(p for p in (done, waiting) if p)

    def _update_buttons(self) -> None:
        question = self.current.question if self.current else None
        ready = question is not None and not self._busy and self.chooser is None
        self.yes_button.setEnabled(ready and bool(question.suggested))
        self.no_button.setEnabled(ready and bool(question.suggested))
        for button in (self.name_button, self.skip_button, self.hide_button):
            button.setEnabled(ready)
        self.yes_button.setDefault(ready and bool(question.suggested))

    # --- answering -----------------------------------------------------------------------------

    def _ready(self) -> Question | None:
        if self._busy or self.current is None or self.chooser is not None:
            return None
        return self.current.question

    def answer(self, word: str, info: str = "", category: str | None = None) -> None:
        """yes, no, hide, or a name: one undoable command; the next question follows it."""
        question = self._ready()
        if question is None or (word in ("yes", "no") and not question.suggested):
            return
        self._set_busy(True)
        self._own = True
        self.answered += 1
        self.status.setText("Saving your answer…")
        self.ctx.undo_stack.push(review_ops.AnswerCommand(self.ctx, question, word, info, category, self._after))

    def skip(self) -> None:
        question = self._ready()
        if question is not None:
            self.ctx.undo_stack.push(review_ops.SkipCommand(self.skipped, question.id, self._next))

    def _after(self, prefer: str | None) -> None:
        """An answer (or its undo) is done: ask the next question, or the undone one again."""
        if prefer is not None and self.answered:
            self.answered -= 1
        self._next(prefer)

    def _next(self, prefer: str | None) -> None:
        self._own = False
        if self.isVisible():
            self.load(prefer)
        else:
            self._loading += 1  # drop what is in flight; shown again, it asks afresh
            self._set_busy(False)

    def follow(self, changes: Changes) -> None:
        """A change elsewhere (a correction, a naming) may settle the question on show: look again."""
        touched = changes.groups or changes.matches or changes.concepts
        if touched and self.isVisible() and not self._own and not self._busy and self.chooser is None:
            self.load(self.current.question.id if self.current else None)

    def name_it(self) -> None:
        """It's…: an existing concept from the picker, or a new name."""
        question = self._ready()
        if question is None:
            return
        picker = ConceptPicker(self, self.ctx.concepts, "Who or what is this?", exclude=question.suggested or "")
        picker.ok_button.setText("It's this one")
        new = QPushButton("&New name…")
        picker.findChild(QDialogButtonBox).addButton(new, QDialogButtonBox.ButtonRole.ActionRole)
        new.clicked.connect(lambda: picker.done(2))
        picker.finished.connect(lambda result: self._picked(picker, result, question))
        self._open_chooser(picker)

    def _picked(self, picker: ConceptPicker, result: int, question: Question) -> None:
        chosen, typed = picker.chosen(), picker.search.text().strip()
        self._chooser_closed(picker)
        if result == QDialog.DialogCode.Accepted and chosen:
            self.answer(chosen)
        elif result == 2:
            self.new_name(typed)

    def new_name(self, typed: str = "") -> RegisterDialog | None:
        question = self._ready()
        if question is None:
            return None
        images = self.tile_images()
        preview = QPixmap.fromImage(images[0]) if images else None
        dialog = RegisterDialog(
            self,
            self.ctx.concepts.name_keys(),
            preview,
            "who or what is in these photos",
            category=question.label,
            categories=self.ctx.concepts.categories(),
        )
        dialog.setWindowTitle("Who is this?")
        dialog.name_edit.setText(typed)
        dialog.ok_button.setText("Name")
        dialog.finished.connect(lambda result: self._named(dialog, result))
        self._open_chooser(dialog)
        return dialog

    def _named(self, dialog: RegisterDialog, result: int) -> None:
        name, info, category = dialog.name(), dialog.info(), dialog.category()
        self._chooser_closed(dialog)
        if result == QDialog.DialogCode.Accepted and name:
            self.answer(name, info, category or None)

    def _open_chooser(self, dialog: QDialog) -> None:
        self.chooser = dialog
        self._update_buttons()
        dialog.open()

    def _chooser_closed(self, dialog: QDialog) -> None:
        if self.chooser is dialog:
            self.chooser = None
        dialog.deleteLater()
        self._update_buttons()

    def reject(self) -> None:
        if self.chooser is not None:
            self.chooser.reject()
        super().reject()

    def sizeHint(self) -> QSize:
        return QSize(COLUMNS * (TILE + 16) + TILE + 120, 2 * (TILE + 16) + 260)


def _captioned(caption: str) -> tuple[Tile, QWidget]:
    """A tile with a line under it, in a box to show or hide."""
    tile, label = Tile(), QLabel(caption)
    label.setObjectName("caption")
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    column = QVBoxLayout()
    column.setContentsMargins(0, 0, 0, 0)
    column.addWidget(tile)
    column.addWidget(label)
    box = QWidget()
    box.setLayout(column)
    return tile, box


def describe(question: Question) -> str:
    """What the tiles show, in plain words (no ids, no scores)."""
    what = f" It looks like a {question.label}." if question.label else ""
    if question.kind == "group":
        seen = f"Seen {len(question.regions)} times in {question.photos} photo{'s' * (question.photos != 1)}."
        return seen + what + ("" if question.suggested else " Name them, skip, or hide a stranger.")
    also = f" It could also be {question.other}." if question.other else ""
    return f"The album took this for {question.suggested}, but is not sure.{also}"


def show_review(dialog: ReviewDialog) -> ReviewDialog:
    """Open (or raise) the window; it asks afresh each time it is opened."""
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    if dialog.current is None or not dialog.loading:
        dialog.load(dialog.current.question.id if dialog.current else None)
    return dialog
