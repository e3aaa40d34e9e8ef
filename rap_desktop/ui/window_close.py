"""Closing the window: ask first while indexing, stop every part's work, save the state, wait for the lanes."""

from __future__ import annotations

from PySide6.QtGui import QCloseEvent


class CloseHandling:
    """Mixed into the main window: its closeEvent."""

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.close_question.allows_close():  # indexing: "Stop and finish next time" or "Keep going"
            event.ignore()
            return
        self.auto_index.close()
        # before the lanes are waited for: a caption run stops at its next step, indexing after its
        # batch, the chat after one generation step, a download at once
        self.album_tools.close()
        self.album.close_index()
        self.assistant.close()
        self._save_state()
        self.commands.close_dialogs()
        self.photos.close_dialogs()
        self.runner.shutdown()  # waits for running store work (an add in flight lands, then we go)
        super().closeEvent(event)
