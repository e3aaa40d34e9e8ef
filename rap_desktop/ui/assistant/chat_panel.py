"""The chat panel: caption the current photo, chat about it (multi-turn), or ask about concepts
without a photo. Answers stream in; concept names in them are links that select the concept; each
answer has a "why?" link showing the exact prompt and the concepts the model was given."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from rap_desktop.core.assistant import Prepared, Reply
from rap_desktop.core.mentions import mention_spans
from rap_desktop.core.photo_context import PhotoContext
from rap_desktop.core.prompting import caption_question

from ..library.operations import IMAGE_FILTER
from ..plain_words import readable, unbracket
from .chat_worker import LOADING, MISSING, ChatWorker, Request
from .why_dialog import WhyDialog

FLUSH_MS = 40  # streamed pieces are shown at most this often: one re-render per batch, not per token


@dataclass
class Turn:
    question: str
    photo: str | None  # file name shown with the first question about a photo
    answer: str = ""
    prepared: Prepared | None = None
    reply: Reply | None = None
    done: bool = False
    error: str | None = None


class ChatPanel(QWidget):
    concept_clicked = Signal(str)  # a name in an answer was clicked: select that concept
    box_found = Signal(object, object)  # (x1, y1, x2, y2) in photo pixels, and the photo it is about
    models_requested = Signal()  # "Models…" in the missing-weights hint
    answer_finished = Signal()  # after each answer (tests and scripts wait on it)
    asked = Signal(str, object)  # a question typed here, and the photo it is about (the photo view marks its names)

    def __init__(self, worker: ChatWorker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.photo: Path | None = None
        self.context: PhotoContext | None = None  # the photo on screen, decoded and retrieved (self.photo)
        self.turns: list[Turn] = []
        self.why: WhyDialog | None = None
        self._names: list[str] = []
        self._reply: Reply | None = None  # the conversation a follow-up continues
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(FLUSH_MS)
        self._flush.timeout.connect(self._render)
        self._build()
        worker.piece.connect(self._piece)
        worker.prepared.connect(self._prepared)
        worker.finished.connect(self._finished)
        worker.failed.connect(self._failed)
        worker.busy_changed.connect(lambda _busy: self._update())
        worker.state_changed.connect(lambda _state, _text: self._update())
        worker.box_found.connect(self.box_found)
        self._update()

    def _build(self) -> None:
        self.photo_label = QLabel()
        self.photo_label.setTextFormat(Qt.TextFormat.PlainText)
        self.photo_label.setWordWrap(True)  # a narrow window: the line wraps, the panel stays narrow
        self.choose_button = QPushButton("Choose photo…")
        self.choose_button.clicked.connect(self._choose_photo)
        self.text_only_button = QPushButton("No photo")
        self.text_only_button.setToolTip("Ask about your concepts by name, without a photo")
        self.text_only_button.clicked.connect(lambda: self.set_photo(None))
        top = QHBoxLayout()
        top.addWidget(self.photo_label, 1)
        top.addWidget(self.choose_button)
        top.addWidget(self.text_only_button)

        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setTextFormat(Qt.TextFormat.RichText)
        self.hint.linkActivated.connect(lambda _link: self.models_requested.emit())

        self.transcript = QTextBrowser()
        self.transcript.setOpenLinks(False)  # links are ours: concept names and "why?"
        self.transcript.anchorClicked.connect(self._anchor)
        self.transcript.setPlaceholderText("Captions and answers appear here.")

        self.question_edit = QLineEdit()
        self.question_edit.setPlaceholderText("Ask about this photo, or about someone by name…")
        self.question_edit.returnPressed.connect(self.send)
        self.question_edit.textChanged.connect(lambda _text: self._update())
        self.send_button = QPushButton("Ask")
        self.send_button.clicked.connect(self.send)
        self.caption_button = QPushButton("Caption")
        self.caption_button.setToolTip("Describe the photo, naming the people, pets and things you taught it")
        self.caption_button.clicked.connect(self.caption)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.worker.stop)
        self.new_button = QPushButton("New chat")
        self.new_button.clicked.connect(self.new_chat)
        ask_row = QHBoxLayout()
        ask_row.addWidget(self.question_edit, 1)
        ask_row.addWidget(self.send_button)
        buttons = QHBoxLayout()
        for button in (self.caption_button, self.stop_button, self.new_button):
            buttons.addWidget(button)
        buttons.addStretch(1)

        column = QVBoxLayout(self)
        column.setContentsMargins(6, 6, 6, 6)
        column.addLayout(top)
        column.addWidget(self.hint)
        column.addWidget(self.transcript, 1)
        column.addLayout(ask_row)
        column.addLayout(buttons)
        self.set_photo(None)

    # --- inputs --------------------------------------------------------------------------------

    def set_photo(self, path: Path | None) -> None:
        """The photo questions are about (None: questions about concepts by name). A new photo
        starts a new conversation."""
        path = Path(path) if path is not None else None
        if path != self.photo:
            self._reply = None
            self.context = None
        self.photo = path
        self.photo_label.setText(f"Photo: {path.name}" if path else "No photo: ask about concepts by name")
        self.photo_label.setToolTip(str(path) if path else "")
        self._update()

    def set_context(self, context: PhotoContext) -> None:
        """The photo on screen, retrieved: a question about it uses this decode and retrieval. Only
        while the chat is about that photo (a photo chosen here stays until the view opens another)."""
        if context.path == self.photo:
            self.context = context

    def _about(self) -> PhotoContext | Path | None:
        context = self.context
        return context if context is not None and context.path == self.photo else self.photo

    def set_names(self, names: list[str]) -> None:
        """The concept names to highlight (after every change to the concept list)."""
        self._names = list(names)
        self._render()

    def _choose_photo(self) -> None:
        start = str(self.photo.parent) if self.photo else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Photo to talk about", start, IMAGE_FILTER)
        if path:
            self.set_photo(Path(path))

    # --- actions -------------------------------------------------------------------------------

    def send(self) -> None:
        question = self.question_edit.text().strip()
        if not question or not self._can_ask():
            return
        follow = self._reply
        about = self._about()
        if self._start(Request(question, about, follow), question):
            self.asked.emit(question, about)
        self.question_edit.clear()

    def caption(self) -> None:
        if self.photo is None or not self._can_ask():
            return
        self._start(Request(caption_question(), self._about()), "Caption this photo.")

    def new_chat(self) -> None:
        self.worker.stop()
        self._reply = None
        self.turns.clear()
        self._render()
        self._update()

    def focus_question(self) -> None:
        """The one question box takes the keyboard (Assistant ▸ Ask about this photo…)."""
        self.question_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.question_edit.selectAll()

    def _start(self, request: Request, shown: str) -> bool:
        if request.follow is None:
            self._reply = None  # a new conversation
        about = request.photo.path if isinstance(request.photo, PhotoContext) else request.photo
        photo = about.name if (about is not None and request.follow is None) else None
        if not self.worker.ask(request):
            return False
        self.turns.append(Turn(shown, photo))
        self._render()
        return True

    def _can_ask(self) -> bool:
        return not self.worker.busy and self.worker.state != MISSING

    # --- worker signals ------------------------------------------------------------------------

    def _piece(self, text: str) -> None:
        if self.turns and not self.turns[-1].done:
            self.turns[-1].answer += text
            if not self._flush.isActive():
                self._flush.start()

    def _prepared(self, prepared: Prepared) -> None:
        if self.turns:
            self.turns[-1].prepared = prepared

    def _finished(self, reply: Reply | None) -> None:
        if self.turns and not self.turns[-1].done:
            turn = self.turns[-1]
            turn.done = True
            turn.reply = reply
            if reply is not None:
                turn.answer = reply.text
                self._reply = reply
        self._flush.stop()
        self._render()
        self._update()
        self.answer_finished.emit()

    def _failed(self, message: str) -> None:
        if self.turns and not self.turns[-1].done:
            self.turns[-1].done = True
            self.turns[-1].error = message
        self._render()
        self._update()
        self.answer_finished.emit()

    def _anchor(self, url: QUrl) -> None:
        kind, _, value = url.toString().partition(":")
        if kind == "concept":
            self.concept_clicked.emit(unquote(value))
        elif kind == "why" and value.isdigit() and int(value) < len(self.turns):
            self.show_why(int(value))

    def show_why(self, index: int) -> None:
        turn = self.turns[index]
        if turn.prepared is None:
            return
        if self.why is not None:
            self.why.close()
        self.why = WhyDialog(turn.prepared, turn.reply, self)
        self.why.open()

    # --- view ----------------------------------------------------------------------------------

    def _update(self) -> None:
        busy, state = self.worker.busy, self.worker.state
        usable = state != MISSING
        self.send_button.setEnabled(usable and not busy and bool(self.question_edit.text().strip()))
        self.caption_button.setEnabled(usable and not busy and self.photo is not None)
        self.stop_button.setEnabled(busy)
        self.choose_button.setEnabled(not busy)
        self.text_only_button.setEnabled(not busy and self.photo is not None)
        if state == MISSING:
            self.hint.setText(
                "<b>Captions and chat need a model that is not on this computer yet.</b> <a href='models'>Get it…</a>"
            )
            self.hint.setToolTip(self.worker.missing or "the generator is not configured")
        elif state == LOADING:
            self.hint.setText("Getting ready to write; the first answer takes a little longer.")
        self.hint.setVisible(state in (MISSING, LOADING))
        why_not = (
            "" if usable else "Captions and chat need a model that is not on this computer yet: see Assistant ▸ Models…"
        )
        for button in (self.send_button, self.caption_button):
            button.setToolTip(why_not or button.toolTip())

    def _render(self) -> None:
        bar = self.transcript.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 4
        self.transcript.setHtml("".join(self._turn_html(i, t) for i, t in enumerate(self.turns)))
        if at_end:
            bar.setValue(bar.maximum())

    def _turn_html(self, index: int, turn: Turn) -> str:
        about = f" <span style='color:gray'>({html.escape(turn.photo)})</span>" if turn.photo else ""
        parts = [f"<p><b>You:</b> {html.escape(turn.question)}{about}</p>"]
        answer = self.highlight(turn.answer) if turn.answer else ""
        if turn.error:
            plain, _details = readable(turn.error)  # the technical text: in the error box's Details
            answer += f" <span style='color:#b00020'>{html.escape(plain)}</span>"
        elif not turn.done:
            answer += " <span style='color:gray'>▍</span>"
        elif turn.reply is None or turn.reply.answer.cancelled:
            answer += " <i style='color:gray'>(stopped)</i>"
        if turn.done and turn.prepared is not None:
            answer += f" &nbsp;<a href='why:{index}' style='color:gray'>why?</a>"
        parts.append(f"<p style='margin-left:12px'><b>Assistant:</b> {answer}</p>")
        return "".join(parts)

    def highlight(self, text: str) -> str:
        """Escaped HTML of `text`, each concept name (`<bo>`, `bo`, `Bo`) a link that selects it, shown
        without the model's brackets (`<bo>` reads `bo`)."""
        out, at = [], 0
        for start, end, name in mention_spans(text, self._names):
            out.append(html.escape(text[at:start]))
            shown = html.escape(unbracket(text[start:end]))
            out.append(f"<a href='concept:{quote(name)}' style='font-weight:600'>{shown}</a>")
            at = end
        out.append(html.escape(text[at:]))
        return "".join(out).replace("\n", "<br>")
