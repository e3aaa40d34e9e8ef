"""After a rename or a merge: the XMP sidecars the app wrote (the files other photo apps read) are
rewritten to say the new name, in the background, with progress and Cancel (a small window that
shows itself only when the job takes a while). The stored captions already changed with the name.

    store lane: the photo files the store knows     io lane: which have sidecars, then a few at a
    time, `renames.rewrite_sidecars`
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from rap_desktop.core.album import renames
from rap_desktop.core.cancel import CancelToken
from rap_desktop.core.session import Session

from ..runtime.tasks import Steps, TaskRunner

CHUNK = 25  # sidecars per io step: Cancel answers within a few files
SHOW_AFTER_MS = 700  # a quick job never flashes a window


def _photo_files(session: Session) -> list[str]:
    return renames.photo_files(session.store())


class NameJob(QObject):
    """Rewrite `old` to `new` in the app's sidecars; `finished(report)` on the GUI thread."""

    progressed = Signal(int, int)  # sidecars looked at, of how many
    finished = Signal(object)  # renames.RenameReport

    def __init__(self, session: Session, runner: TaskRunner, old: str, new: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.runner, self.old, self.new = session, runner, old, new
        self.token = CancelToken()
        self.rewritten: list[str] = []
        self.failed: list[tuple[str, str]] = []
        self.looked = 0
        self.total = 0
        self.dialog = QProgressDialog(
            f"Changing “{old}” to “{new}” in the files other photo apps read…", "Cancel", 0, 1, parent
        )
        self.dialog.setWindowTitle("Updating names")
        self.dialog.setWindowModality(Qt.WindowModality.NonModal)  # the window stays usable
        self.dialog.setMinimumDuration(SHOW_AFTER_MS)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.canceled.connect(self.cancel)
        self.dialog.setValue(0)

    def start(self) -> None:
        self.runner.flow(self._run(), on_done=lambda _none: self._finish(), on_error=lambda _exc: self._finish())

    def cancel(self) -> None:
        self.token.cancel()

    def _run(self) -> Steps[None]:
        photos = yield "store", partial(_photo_files, self.session)
        found = yield "io", partial(renames.sidecars, photos)
        self.total = len(found)
        self.dialog.setMaximum(max(self.total, 1))
        for start in range(0, len(found), CHUNK):
            if self.token.cancelled:
                return
            part = found[start : start + CHUNK]
            report = yield "io", partial(renames.rewrite_sidecars, part, self.old, self.new, None, self.token)
            self.looked += report.looked
            self.rewritten.extend(report.rewritten)
            self.failed.extend(report.failed)
            self.dialog.setValue(self.looked)
            self.progressed.emit(self.looked, self.total)

    def report(self) -> renames.RenameReport:
        cancelled = self.looked < self.total
        return renames.RenameReport(
            self.old, self.new, self.looked, tuple(self.rewritten), tuple(self.failed), cancelled
        )

    def _finish(self) -> None:
        self.dialog.reset()
        self.dialog.hide()
        self.finished.emit(self.report())


def said(report: renames.RenameReport) -> str:
    """The status line after a job, in plain words (no paths, no brackets)."""
    count = len(report.rewritten)
    files = f"{count} photo now says" if count == 1 else f"{count} photos now say"
    if report.cancelled:
        return f"Stopped: {files} “{report.new}”; the others still say “{report.old}”."
    if report.failed:
        return f"{files} “{report.new}”; {len(report.failed)} could not be changed (read-only?)."
    return f"{files} “{report.new}” for other photo apps too." if count else ""
