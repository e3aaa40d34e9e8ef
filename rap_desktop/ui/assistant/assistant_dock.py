"""The assistant: the chat panel (the window docks it), the generator's state line (for the status bar's tooltip), the
Assistant menu's actions (caption, models, unload), the models dialog at start when weights are
missing, and a clean stop of generation and downloads when the window closes (`close`).

The window makes one `Assistant(ctx, window)`, places its widgets and actions, and wires its
signals; nothing else in the window knows about the chat."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from rap_desktop.core.changes import Changes

from ..context import AppContext
from ..plain_words import readable
from . import model_files
from .chat_panel import ChatPanel
from .chat_worker import ChatWorker
from .models_dialog import ModelsDialog

SKIP_MODELS_PROMPT = "models/skip_prompt"  # QSettings key: do not open the models dialog at start


class Assistant(QObject):
    def __init__(self, ctx: AppContext, parent: QWidget) -> None:
        """`parent`: the window, the parent of the actions and the models dialog."""
        super().__init__(parent)
        self.ctx, self.parent_widget = ctx, parent
        self.worker = ChatWorker(ctx.session, ctx.runner, parent=parent)
        self.panel = ChatPanel(self.worker)
        self.models_dialog: ModelsDialog | None = None
        self.status_text = "Generator: not loaded"  # the technical line, for the status bar's tooltip
        self.worker.state_changed.connect(self._state_changed)

        self.caption_action = QAction("&Caption photo", parent)
        self.caption_action.setShortcut("Ctrl+Shift+C")
        self.caption_action.triggered.connect(lambda _checked=False: self.panel.caption())
        # the one question box is the chat's: this takes the keyboard there (the window shows the panel)
        self.ask_action = QAction("&Ask about this photo…", parent)
        self.ask_action.setShortcut("Ctrl+Shift+A")
        self.ask_action.setIconText("Ask about this photo…")  # a button keeps the "…" (Qt strips it from the text)
        self.ask_action.setToolTip("Ask the Assistant about the photo, or about your people and things (Ctrl+Shift+A)")
        self.models_action = QAction("&Models…", parent)
        self.models_action.triggered.connect(lambda _checked=False: self.show_models())
        self.unload_action = QAction("&Unload generator (free memory)", parent)
        self.unload_action.triggered.connect(lambda _checked=False: self.worker.unload())

        self.panel.models_requested.connect(self.show_models)
        self.worker.failed.connect(self._failed)
        self._check_models_at_start()

    def _failed(self, message: str) -> None:
        """An answer or a caption that could not be written: plain words, the technical text behind Details."""
        self.ctx.status.show_error(*readable(message, "The Assistant could not answer."))

    def _state_changed(self, _state: str, text: str) -> None:
        self.status_text = text

    def follow(self, changes: Changes) -> None:
        """The list has reloaded when concepts changed: the chat's names are the list's."""
        if changes.concepts or changes.exemplars:
            self.panel.set_names(self.ctx.names())

    def show_models(self) -> ModelsDialog:
        if self.models_dialog is None:
            dialog = self.models_dialog = ModelsDialog(self.ctx.session, self.ctx.runner, self.parent_widget)
            dialog.settings_changed.connect(self.worker.forget_generator)
            dialog.checked.connect(self.worker.check)  # a download or a folder may have fixed the generator
            dialog.finished.connect(lambda _result: self._forget_dialog(dialog))
        self.models_dialog.show()
        self.models_dialog.raise_()
        return self.models_dialog

    def _forget_dialog(self, dialog: ModelsDialog) -> None:
        if self.models_dialog is dialog:
            self.models_dialog = None
        dialog.deleteLater()

    def _check_models_at_start(self) -> None:
        """Look for every needed model (io lane); when one is missing, say so in the models dialog."""

        def checked(rows: list[model_files.ModelRow]) -> None:
            missing = [row for row in rows if not row.found.present]
            if missing and not self.ctx.settings.value(SKIP_MODELS_PROMPT, False, type=bool):
                self.ctx.status.notify(
                    "Some models are not on this computer yet: see Assistant ▸ Models…", warning=True
                )
                self.show_models()

        self.worker.check()
        self.ctx.runner.submit(
            model_files.needed_models, self.ctx.session.settings, lane="io", on_done=checked, on_error=lambda _m: None
        )

    def close(self) -> None:
        """Before the window waits for the workers: stop generating and downloading, so the wait
        is one generation step, not a whole answer or a download."""
        self.worker.stop()
        if self.models_dialog is not None:
            self.models_dialog.cancel()
            self.models_dialog.close()
