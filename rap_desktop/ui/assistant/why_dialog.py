""""Why did it say that?" in sentences: which of the user's own photos each name came from (shown
as thumbnails), how it got there and how sure the match was. The exact prompt the model read, and the
region-by-region story, stay behind "Technical details"."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rap_desktop.core.assistant import Prepared, Reply
from rap_desktop.core.names import tag
from rap_desktop.core.prompting import ConceptRef
from rap_desktop.core.retrieval import ChosenConcept

from ..plain_words import unbracket

THUMB = 72  # px, the longer side of each photo shown


def concept_lines(prepared: Prepared) -> list[str]:
    """One technical line per concept in the prompt, saying how it got there; then those left out."""
    lines = [_why(c) for c in prepared.concepts if c.name in {r.name for r in prepared.conversation.first.concepts}]
    if not lines:
        lines.append("none: the model saw only the photo and the question")
    for ref in prepared.conversation.first.dropped:
        lines.append(f"{tag(ref.name)} left out: the model was trained with at most this many concepts")
    if prepared.retrieval is not None:
        count = len(prepared.retrieval.regions)
        lines.append(f"({count} region{'s' * (count != 1)} of the photo were compared with your concepts)")
    return lines


def _why(concept: ChosenConcept) -> str:
    if concept.reason == "mention":
        return f"{tag(concept.name)}: named in the question"
    if concept.reason == "relation":  # brought along by another concept's description
        return f"{tag(concept.name)}: named in the description of {tag(getattr(concept, 'via', ''))}"
    similarity = f", similarity {concept.similarity:.2f}" if concept.similarity is not None else ""
    return f"{tag(concept.name)}: matched region {concept.region}{similarity}"


def sureness(similarity: float | None, threshold: float) -> str:
    """A match's closeness in words: above the line by a margin is "sure", just above "probably"."""
    if similarity is None:
        return "probably"
    if similarity >= threshold + 0.1:
        return "sure"
    return "probably" if similarity >= threshold else "maybe"


def sentence(concept: ChosenConcept | None, name: str, threshold: float) -> str:
    """Why `name` was in the model's mind, in one sentence (plain name, no brackets)."""
    if concept is None:
        return f"{name}: one of your people and things it was given."
    if concept.reason == "mention":
        return f"{name}: you named {name} in your question, so it was shown this photo of {name}."
    if concept.reason == "relation":
        via = getattr(concept, "via", "") or "another of your people"
        return f"{name}: your description of {via} mentions {name}, so it was told about {name} too."
    said = {"sure": "it is sure this is", "probably": "this is probably", "maybe": "this might be"}
    how = said[sureness(concept.similarity, threshold)]
    return f"{name}: part of the photo looks like your photo of {name}, so {how} {name}."


def summary(prepared: Prepared) -> str:
    kept, dropped = prepared.conversation.first.concepts, prepared.conversation.first.dropped
    if not kept:
        text = "It did not recognise any of your people or things: it answered from the photo and your question alone."
    else:
        names = [ref.name for ref in kept]
        shown = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        text = f"It answered knowing about {shown}, from these photos of yours:"
    if dropped:
        left = ", ".join(ref.name for ref in dropped)
        text += f" (It also found {left}, but it can only think about {len(kept)} at a time.)"
    return text


def thumbnail(image: object) -> QPixmap:
    """The concept's photo as the model saw it (a PIL image), small."""
    if not isinstance(image, Image.Image):
        return QPixmap()
    small = image.convert("RGB")
    small.thumbnail((THUMB, THUMB))
    data = small.tobytes()
    qimage = QImage(data, small.width, small.height, 3 * small.width, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(qimage)


class WhyDialog(QDialog):
    def __init__(self, prepared: Prepared, reply: Reply | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Why did it say that?")
        self.resize(640, 480)
        self.summary = QLabel(summary(prepared))
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        chosen = {c.name: c for c in prepared.concepts}
        threshold = prepared.retrieval.threshold if prepared.retrieval is not None else 0.0
        self.thumbnails: list[QLabel] = []
        self.sentences: list[QLabel] = []
        rows = QWidget()
        grid = QGridLayout(rows)
        for r, ref in enumerate(prepared.conversation.first.concepts):
            self._add_row(grid, r, ref, sentence(chosen.get(ref.name), ref.name, threshold))
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(len(self.sentences), 1)
        scroll = QScrollArea()
        scroll.setWidget(rows)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)

        self.details_button = QToolButton()
        self.details_button.setText("Technical details")
        self.details_button.setCheckable(True)
        self.details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_button.setArrowType(Qt.ArrowType.RightArrow)
        self.details_button.toggled.connect(self._show_technical)
        self.technical = self._technical(prepared, reply)
        self.technical.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        column = QVBoxLayout(self)
        column.addWidget(self.summary)
        column.addWidget(scroll, 1)
        column.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignLeft)
        column.addWidget(self.technical, 2)
        column.addWidget(buttons)

    def _add_row(self, grid: QGridLayout, row: int, ref: ConceptRef, text: str) -> None:
        picture = QLabel()
        picture.setPixmap(thumbnail(ref.image))
        picture.setFixedSize(THUMB, THUMB)
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        picture.setToolTip(unbracket(ref.info))
        words = QLabel(text)
        words.setWordWrap(True)
        words.setTextFormat(Qt.TextFormat.PlainText)
        grid.addWidget(picture, row, 0)
        grid.addWidget(words, row, 1)
        self.thumbnails.append(picture)
        self.sentences.append(words)

    def _technical(self, prepared: Prepared, reply: Reply | None) -> QWidget:
        """The concepts as the retrieval chose them, and the whole rendered conversation up to this
        answer: what the model read, token for token."""
        box = QWidget()
        conversation = reply.conversation if reply is not None else prepared.conversation
        images = len(conversation.images)
        self.concepts = QLabel("Concepts given to the model:\n" + "\n".join(f"• {x}" for x in concept_lines(prepared)))
        self.concepts.setWordWrap(True)
        self.concepts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.prompt = QPlainTextEdit()
        self.prompt.setReadOnly(True)
        self.prompt.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.prompt.setPlainText(prepared.conversation.prompt())
        model = f" by {reply.model}" if reply is not None else ""
        note = QLabel(
            f"Exact prompt{model} ({images} image{'s' * (images != 1)}: the photo first, then one per concept; "
            "each <image> is replaced by that image's features):"
        )
        note.setWordWrap(True)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.concepts)
        column.addWidget(note)
        column.addWidget(self.prompt, 1)
        return box

    def _show_technical(self, shown: bool) -> None:
        self.details_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.technical.setVisible(shown)
