"""The window's feedback: the status bar's plain line and busy bar, error dialogs, questions, notices."""

from __future__ import annotations

import contextlib

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QProgressBar

from .photo import photo_ops
from .plain_words import readable
from .status_line import RECOGNISING, WRITING_ANSWER, WRITING_CAPTION, StatusLine
from .window_state import APPLICATION


class WindowFeedback:
    """Mixed into the main window: what it says, in the status bar and in dialogs."""

    def _build_status_bar(self) -> None:
        """One plain line ("Ready", "Recognising people and things…", "Writing a caption…"); which
        model is loaded where stays in its tooltip, and the data folder in the folder label's."""
        bar = self.statusBar()
        self.count_label = QLabel()
        self.status_line = StatusLine()
        # the technical lines live in the tooltip only
        self.status_line.set_detail("models", "Models: not loaded")
        self.status_line.set_detail("generator", self.assistant.status_text)
        self.assistant.worker.state_changed.connect(lambda _s, text: self.status_line.set_detail("generator", text))
        self.folder_label = QLabel(f"Data: {self.session.home}")
        self.folder_label.setToolTip(str(self.session.home))
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: "working", not a percentage
        self.busy.setMaximumWidth(120)
        self.busy.setMaximumHeight(14)
        self.busy.setTextVisible(False)
        self.busy.hide()
        for widget in (self.busy, self.count_label, self.status_line, self.folder_label):
            bar.addPermanentWidget(widget)
        self._follow_activity()

    def _follow_activity(self) -> None:
        line, worker = self.status_line, self.assistant.worker
        self.photos.photo_opened.connect(lambda _path: line.start("photo", RECOGNISING))
        self.photos.shown.connect(lambda: line.end("photo"))
        self.runner.failed.connect(lambda _message: line.end("photo"))  # nothing claims work that stopped

        def writing(busy: bool) -> None:
            if busy:
                line.start("chat", WRITING_CAPTION if worker.captioning else WRITING_ANSWER)
            else:
                line.end("chat")

        worker.busy_changed.connect(writing)
        self.auto_index.activity.connect(lambda text: line.start("album", text) if text else line.end("album"))

    def _model_state(self, text: str) -> None:
        self.status_line.set_detail("models", text)

    def update_model_state(self) -> None:
        """Ask (store lane: the models live there) which models are loaded, where, and GPU memory."""
        with contextlib.suppress(RuntimeError):  # closing: nothing to report to
            self.runner.submit(
                photo_ops.model_state, self.session, on_done=self._model_state, on_error=lambda _m: None
            )

    def _show_error_late(self, message: str, details: str = "") -> None:
        # one argument when there are no details: tests replace show_error with a one-argument callable
        if details:
            self.show_error(message, details)
        else:
            self.show_error(message)

    def show_error(self, message: str, details: str = "") -> None:
        """Every failure ends here: a plain message in a dialog (non-blocking: work goes on); technical
        `details` only behind the box's "Show Details…" button. A message with no details is put in
        plain words here: a technical one (a library's text, a command line) goes behind Details."""
        if not details:
            message, details = readable(message)
        box = QMessageBox(QMessageBox.Icon.Warning, APPLICATION, message, QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.PlainText)  # messages quote names as <name>
        if details:
            box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._error_box = box
        box.open()

    def confirm(self, title: str, text: str) -> bool:
        """Ask before something that cannot be undone. Tests replace this on the instance."""
        box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        return box.exec() == QMessageBox.StandardButton.Yes

    def notify(self, message: str, warning: bool = False) -> None:
        self.statusBar().showMessage(message, 20000 if warning else 6000)

    def _busy_changed(self, pending: int) -> None:
        self.busy.setVisible(pending > 0)
        self.busy.setToolTip(f"{pending} task(s) running")
