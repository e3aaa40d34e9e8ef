"""Indexing nobody has to think about: at start the folders an earlier run did not finish are
resumed in the background (and the status line says so), new photos dropped into an album folder
are indexed while the app runs (`watcher.FolderWatcher`), and closing the window mid-run asks in
plain words whether to stop (the batch in flight lands; the next start finishes the rest) or keep
going. What counts as unfinished is stored by the core (`core/store/index_state.py`)."""

from __future__ import annotations

import contextlib
import os

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

from rap_desktop.core.album.indexer import Progress
from rap_desktop.core.store.index_state import Unfinished

from ..library.name_job import resume_at_start
from .album_view import AlbumPage
from .watcher import FolderWatcher

STOP = "Stop and finish next time"
KEEP = "Keep going"


def folder_names(folders: list[str]) -> str:
    """ "Pictures", "Pictures and Phone", "Pictures and 2 other folders" """
    names = [os.path.basename(f.rstrip(os.sep)) or f for f in folders]
    if len(names) <= 2:
        return " and ".join(names)
    return f"{names[0]} and {len(names) - 1} other folders"


def still_adding(progress: Progress) -> str:
    return f"Photos are still being added ({progress.done:,} of {progress.total:,})."


class AutoIndex(QObject):
    activity = Signal(str)  # the status line while the app adds photos by itself; "" when it is done

    def __init__(self, page: AlbumPage, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.page = page
        self.indexer = page.indexer
        self.runner = page.ctx.runner
        self.watcher = FolderWatcher(self.runner, self)
        self.watcher.changed.connect(self._changed)
        self.indexer.started.connect(self._started)
        self.indexer.finished.connect(self._ended)
        self.indexer.failed.connect(self._ended)
        self.resuming: list[str] = []
        self._submit(page.queries.unfinished, self._resume)
        self._submit(page.queries.folders, self._watch)
        resume_at_start(page.ctx)  # sidecar renames a closed or cancelled run left (library/name_job.py)

    def _submit(self, fn, on_done) -> None:
        with contextlib.suppress(RuntimeError):  # closing
            self.runner.submit(fn, on_done=on_done, on_error=lambda _message: None)

    def _resume(self, unfinished: list[Unfinished]) -> None:
        folders = [u.folder for u in unfinished]
        if folders:
            self.resuming = folders
            self.activity.emit(f"Finishing adding photos from {folder_names(folders)}…")
            self.indexer.start(folders, automatic=True)

    def _watch(self, folders: tuple[list[str], list[str]]) -> None:
        self.watcher.watch(folders[0])

    def _changed(self, folders: list[str]) -> None:
        self.indexer.start(folders, automatic=True)  # only new or changed files are read

    def _started(self, total: int) -> None:
        if self.indexer.automatic and total and not self.resuming:
            self.activity.emit("Adding new photos…")

    def _ended(self, *_args: object) -> None:
        self.resuming = []
        self.activity.emit("")
        self._submit(self.page.queries.folders, self._watch)  # a folder added by this run is watched too

    def close(self) -> None:
        self.watcher.close()


class CloseQuestion(QObject):
    """Closing the window mid-run asks first; tests answer through `box`."""

    def __init__(self, window: QWidget, page: AlbumPage) -> None:
        super().__init__(window)
        self.window, self.indexer = window, page.indexer
        self.box: QMessageBox | None = None
        self.answered = False
        self.indexer.progressed.connect(self._progressed)
        self.indexer.finished.connect(self._run_ended)

    def allows_close(self) -> bool:
        """True: close now. False: the question is open (the window stays until it is answered)."""
        last = self.indexer.last
        if self.answered or not self.indexer.running or last is None or last.done >= last.total:
            return True
        if self.box is None:
            self.box = self._ask(last)
        self.box.raise_()
        return False

    def _ask(self, progress: Progress) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Question, "Photos are still being added", still_adding(progress))
        box.setParent(self.window, box.windowFlags())
        box.setInformativeText("If you stop now, the app finishes adding them by itself the next time it starts.")
        stop = QPushButton(STOP)
        box.addButton(stop, QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton(KEEP, QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.buttonClicked.connect(lambda button: self._answered(button is stop))
        box.open()
        return box

    def _answered(self, stop: bool) -> None:
        box, self.box = self.box, None
        if box is not None:
            box.deleteLater()
        if stop:
            self.answered = True
            self.window.close()

    def _progressed(self, progress: Progress) -> None:
        if self.box is not None:
            self.box.setText(still_adding(progress))

    def _run_ended(self, *_args: object) -> None:
        if self.box is not None:  # finished while asking: nothing left to lose, so close as asked
            self.box.done(0)
            self._answered(True)
