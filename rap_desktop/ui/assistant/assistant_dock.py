"""Install the assistant into the main window: the chat panel (a dock), the generator's status-bar
label, an Assistant menu (caption, models, unload), the models dialog at start when weights are
missing, and a clean stop of generation and downloads when the window closes.

The window calls `install_assistant(self)` once; nothing else in it knows about the chat."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QLabel

from . import model_files
from .chat_panel import ChatPanel
from .chat_worker import ChatWorker
from .models_dialog import ModelsDialog

if TYPE_CHECKING:
    from ..main_window import MainWindow

SKIP_MODELS_PROMPT = "models/skip_prompt"  # QSettings key: do not open the models dialog at start


@dataclass
class AssistantParts:
    worker: ChatWorker
    panel: ChatPanel
    dock: QDockWidget
    status_label: QLabel
    models_action: QAction
    caption_action: QAction
    models_dialog: ModelsDialog | None = None


class _CloseWatcher(QObject):
    """Before the window's own closeEvent waits for the workers: stop generating and downloading,
    so the wait is one generation step, not a whole answer or a download."""

    def __init__(self, parts: AssistantParts, parent: QObject) -> None:
        super().__init__(parent)
        self.parts = parts

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Close:
            self.parts.worker.stop()
            if self.parts.models_dialog is not None:
                self.parts.models_dialog.cancel()
                self.parts.models_dialog.close()
        return False


def install_assistant(window: MainWindow) -> AssistantParts:
    worker = ChatWorker(window.session, window.runner, parent=window)
    panel = ChatPanel(worker)
    dock = QDockWidget("Assistant", window)
    dock.setObjectName("assistant-dock")  # saveState() needs a name
    dock.setWidget(panel)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)

    status = QLabel("Generator: not loaded")
    status.setToolTip("The caption and chat model")
    window.statusBar().addPermanentWidget(status)
    worker.state_changed.connect(lambda _state, text: status.setText(text))

    menu = window.menuBar().addMenu("&Assistant")
    caption_action = QAction("&Caption photo", window)
    caption_action.setShortcut("Ctrl+Shift+C")
    caption_action.triggered.connect(lambda _checked=False: panel.caption())
    models_action = QAction("&Models…", window)
    models_action.triggered.connect(lambda _checked=False: show_models(window, parts))
    unload_action = QAction("&Unload generator (free memory)", window)
    unload_action.triggered.connect(lambda _checked=False: worker.unload())
    menu.addActions([caption_action, dock.toggleViewAction(), models_action, unload_action])

    parts = AssistantParts(worker, panel, dock, status, models_action, caption_action)
    panel.concept_clicked.connect(lambda name: window.select_names([name]))
    panel.models_requested.connect(lambda: show_models(window, parts))
    window.changed.connect(
        lambda changes: (
            (changes.concepts or changes.exemplars)
            and panel.set_names([e.concept.name for e in window.model.entries()])
        )
    )
    window.installEventFilter(_CloseWatcher(parts, window))
    worker.failed.connect(window.show_error)
    _check_models_at_start(window, parts)
    return parts


def show_models(window: MainWindow, parts: AssistantParts) -> ModelsDialog:
    if parts.models_dialog is None:
        dialog = parts.models_dialog = ModelsDialog(window.session, window.runner, window)
        dialog.settings_changed.connect(parts.worker.forget_generator)
        dialog.checked.connect(parts.worker.check)  # a download or a folder may have fixed the generator
        dialog.finished.connect(lambda _result: _forget_dialog(parts, dialog))
    parts.models_dialog.show()
    parts.models_dialog.raise_()
    return parts.models_dialog


def _forget_dialog(parts: AssistantParts, dialog: ModelsDialog) -> None:
    if parts.models_dialog is dialog:
        parts.models_dialog = None
    dialog.deleteLater()


def _check_models_at_start(window: MainWindow, parts: AssistantParts) -> None:
    """Look for every needed model (io lane); when one is missing, say so in the models dialog."""

    def checked(rows: list[model_files.ModelRow]) -> None:
        missing = [row for row in rows if not row.found.present]
        if missing and not window.settings.value(SKIP_MODELS_PROMPT, False, type=bool):
            window.notify(f"{len(missing)} model(s) missing: see Assistant ▸ Models…", warning=True)
            show_models(window, parts)

    parts.worker.check()
    window.runner.submit(
        model_files.needed_models, window.session.settings, lane="io", on_done=checked, on_error=lambda _m: None
    )
