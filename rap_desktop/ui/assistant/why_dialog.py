""""Why did it say that?": the concepts the model was given (and why each) and the exact prompt."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from rap_desktop.core.assistant import Prepared, Reply
from rap_desktop.core.names import tag
from rap_desktop.core.retrieval import ChosenConcept


def concept_lines(prepared: Prepared) -> list[str]:
    """One line per concept in the prompt, saying how it got there; then those left out."""
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
    similarity = f", similarity {concept.similarity:.2f}" if concept.similarity is not None else ""
    return f"{tag(concept.name)}: matched region {concept.region}{similarity}"


class WhyDialog(QDialog):
    def __init__(self, prepared: Prepared, reply: Reply | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Why did it say that?")
        self.resize(640, 480)
        conversation = reply.conversation if reply is not None else prepared.conversation
        images = len(conversation.images)
        self.concepts = QLabel("Concepts given to the model:\n" + "\n".join(f"• {x}" for x in concept_lines(prepared)))
        self.concepts.setWordWrap(True)
        self.prompt = QPlainTextEdit()
        self.prompt.setReadOnly(True)
        self.prompt.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        # the whole rendered conversation up to this answer: what the model read, token for token
        self.prompt.setPlainText(prepared.conversation.prompt())
        model = f" by {reply.model}" if reply is not None else ""
        note = QLabel(
            f"Exact prompt{model} ({images} image{'s' * (images != 1)}: the photo first, then one per concept; "
            "each <image> is replaced by that image's features):"
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        column = QVBoxLayout(self)
        column.addWidget(self.concepts)
        column.addWidget(note)
        column.addWidget(self.prompt, 1)
        column.addWidget(buttons)
