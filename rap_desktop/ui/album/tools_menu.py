"""The album tools in the Album menu: "Unknown groups…" and "Caption and tag photos…".

The window calls `install_album_tools(self)` once; the dialogs are made on first use and kept
(non-modal: the library, the photo and undo stay usable beside them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction

from ..assistant.chat_worker import READY, Loaded
from .caption_dialog import CaptionDialog, show_caption
from .groups_dialog import GroupsDialog, show_groups

if TYPE_CHECKING:
    from ..main_window import MainWindow


class AlbumTools(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.groups_dialog: GroupsDialog | None = None
        self.caption_dialog: CaptionDialog | None = None
        self.groups_action = QAction("Unknown &groups…", window)
        self.groups_action.setShortcut("Ctrl+Shift+G")
        self.groups_action.setToolTip("Look-alike people, pets and things not named yet: name them in one step")
        self.groups_action.triggered.connect(lambda _checked=False: self.show_groups())
        self.caption_action = QAction("Caption and &tag photos…", window)
        self.caption_action.setShortcut("Ctrl+Shift+T")
        self.caption_action.setToolTip("Personalised captions for an album folder, and XMP sidecars for other apps")
        self.caption_action.triggered.connect(lambda _checked=False: self.show_caption())
        window.installEventFilter(self)
        assistant = getattr(window, "assistant", None)
        if assistant is not None:
            assistant.worker.unloading.connect(self._generator_unloading)

    def _generator_unloading(self) -> None:
        """Unload generator during a caption run: the run stops after its current photo."""
        if self.caption_dialog is not None and self.caption_dialog.running:
            self.caption_dialog.cancel("the generator was unloaded")

    def show_groups(self) -> GroupsDialog:
        self.groups_dialog = show_groups(self.w, self.groups_dialog)
        return self.groups_dialog

    def show_caption(self) -> CaptionDialog:
        self.caption_dialog = show_caption(self.w, self.caption_dialog)
        return self.caption_dialog

    def show_models(self) -> None:
        """The generator's weights are missing: the models dialog says where to get them."""
        from ..assistant.assistant_dock import show_models

        assistant = getattr(self.w, "assistant", None)
        if assistant is not None:
            show_models(self.w, assistant)

    def generator_loaded(self, loaded: Loaded) -> None:
        """A caption run loaded the generator: the chat panel uses (and can unload) the same one."""
        worker = getattr(getattr(self.w, "assistant", None), "worker", None)
        if worker is not None and worker._loaded is None:
            worker._loaded = loaded
            worker.missing = None
            worker._set_state(READY, worker._ready_text())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # before the window waits for the lanes at close: a caption run stops at its next step
        if watched is self.w and event.type() == QEvent.Type.Close and self.caption_dialog is not None:
            self.caption_dialog.cancel()
        return False


def install_album_tools(window: MainWindow) -> AlbumTools:
    tools = AlbumTools(window)
    menu = window.album_menu
    if menu.actions():
        menu.addSeparator()
    menu.addActions([tools.groups_action, tools.caption_action])
    return tools
