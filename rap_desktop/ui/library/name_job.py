"""After a rename, a merge or the undo of a merge: the XMP sidecars the app wrote (the files other
photo apps read) are rewritten in the background, with progress and Cancel (a small window that
shows itself only when the job takes a while). The stored captions already changed with the name.

The jobs are those the store says are owed (core/store/sidecar_jobs.py), run one at a time, oldest
first, by the window's `SidecarJobs`; one cancelled, or cut short by closing the window, is finished
at the next start, quietly, the status line saying so (`resume_at_start`).

    store lane: the job's plan (its photos; a restore: what each sidecar says now)
    io lane: which sidecars exist, then a few at a time, the rewrite     store lane: what was done
"""

from __future__ import annotations

import weakref
from functools import partial

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from rap_desktop.core.album import name_jobs, renames
from rap_desktop.core.cancel import CancelToken
from rap_desktop.core.session import Session
from rap_desktop.core.store import sidecar_jobs

from ..context import AppContext
from ..runtime.tasks import Steps, TaskRunner
from ..status_line import activity

CHUNK = name_jobs.CHUNK  # sidecars per io step: Cancel answers within a few files
SHOW_AFTER_MS = 700  # a quick job never flashes a window


def _photo_files(session: Session) -> list[str]:
    return renames.photo_files(session.store())


def _start(session: Session, job: sidecar_jobs.Job) -> name_jobs.Run | None:
    return name_jobs.start(session.store(), job)


def _restore_items(session: Session, run: name_jobs.Run, paths: list[str]) -> list[name_jobs.Restore]:
    return name_jobs.restore_items(session.store(), run, paths)


def _record(session: Session, run: name_jobs.Run, paths: list[str], report: renames.RenameReport) -> bool:
    return name_jobs.record(session.store(), run, paths, report)


def _finish(session: Session, run: name_jobs.Run) -> None:
    name_jobs.finish(session.store(), run)


def _pending(session: Session) -> list[sidecar_jobs.Job]:
    return name_jobs.pending(session.store())


def doing(job: sidecar_jobs.Job) -> str:
    """What a job does, in plain words (the progress window's text)."""
    if job.kind == sidecar_jobs.RESTORE:
        return f"Putting “{job.new}” back in the files other photo apps read…"
    return f"Changing “{job.old}” to “{job.new}” in the files other photo apps read…"


def finishing(job: sidecar_jobs.Job) -> str:
    """The status line while a job left unfinished last time is finished."""
    if job.kind == sidecar_jobs.RESTORE:
        return f"Finishing putting “{job.new}” back for other photo apps…"
    return f"Finishing changing “{job.old}” to “{job.new}” for other photo apps…"


class NameJob(QObject):
    """One sidecar job: `job` from the store (None: rename `old` to `new`, noting nothing in the
    store); `finished(report)` on the GUI thread. Quiet: no window, the status line says it."""

    progressed = Signal(int, int)  # sidecars looked at, of how many
    finished = Signal(object)  # renames.RenameReport

    def __init__(
        self,
        session: Session,
        runner: TaskRunner,
        old: str,
        new: str,
        parent: QWidget | None = None,
        job: sidecar_jobs.Job | None = None,
        quiet: bool = False,
    ) -> None:
        super().__init__(parent)
        self.session, self.runner, self.old, self.new = session, runner, old, new
        self.stored = job is not None  # its progress is noted in the store, and it is closed there
        self.job = job or sidecar_jobs.Job(0, sidecar_jobs.RENAME, None, old, new, None)
        self.quiet = quiet
        self.token = CancelToken()
        self.run: name_jobs.Run | None = None
        self.dialog: QProgressDialog | None = None
        if quiet:
            activity().start(self._status_key, finishing(self.job))
        else:
            self.dialog = self._progress_window(doing(self.job), parent)

    def _progress_window(self, text: str, parent: QWidget | None) -> QProgressDialog:
        dialog = QProgressDialog(text, "Cancel", 0, 1, parent)
        dialog.setWindowTitle("Updating names")
        dialog.setWindowModality(Qt.WindowModality.NonModal)  # the window stays usable
        dialog.setMinimumDuration(SHOW_AFTER_MS)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(self.cancel)
        dialog.setValue(0)
        return dialog

    @property
    def looked(self) -> int:
        return self.run.looked if self.run is not None else 0

    @property
    def total(self) -> int:
        return len(self.run.todo) if self.run is not None else 0

    def start(self) -> None:
        self.runner.flow(self._run(), on_done=lambda _none: self._finish(), on_error=lambda _exc: self._finish())

    def cancel(self) -> None:
        self.token.cancel()

    def _run(self) -> Steps[None]:
        if self.stored:
            run = yield "store", partial(_start, self.session, self.job)
            if run is None:
                return
        else:
            photos = yield "store", partial(_photo_files, self.session)
            run = name_jobs.Run(self.job, self.new, photos=photos)
        self.run = yield "io", partial(name_jobs.find, run)
        if self.dialog is not None:
            self.dialog.setMaximum(max(self.total, 1))
        for paths in run.chunks():
            if self.token.cancelled:
                return
            report = yield from self._chunk(run, paths)
            going = True
            if self.stored:
                going = yield "store", partial(_record, self.session, run, paths, report)
            else:
                run.add(report)
            if self.dialog is not None:
                self.dialog.setValue(self.looked)
            self.progressed.emit(self.looked, self.total)
            if report.cancelled or not going:
                return
        if self.stored:
            yield "store", partial(_finish, self.session, run)

    def _chunk(self, run: name_jobs.Run, paths: list[str]) -> Steps[renames.RenameReport]:
        if run.job.kind == sidecar_jobs.RESTORE:
            items = yield "store", partial(_restore_items, self.session, run, paths)
            return (yield "io", partial(name_jobs.write_restored, run, paths, items, self.token))
        return (yield "io", partial(name_jobs.rename_chunk, run, paths, self.token))

    def report(self) -> renames.RenameReport:
        if self.run is None:
            return renames.RenameReport(self.job.old, self.job.new, 0, (), (), False)
        return self.run.report(self.looked < self.total)

    def _finish(self) -> None:
        if self.dialog is not None:
            self.dialog.reset()
            self.dialog.hide()
        if self.quiet:
            activity().end(self._status_key)
        self.finished.emit(self.report())

    @property
    def _status_key(self) -> str:
        return f"sidecar-names-{id(self)}"


class SidecarJobs(QObject):
    """The window's sidecar jobs: `kick()` after a change that owes some; they run one at a time,
    oldest first. One cancelled is left for the next start (not run again in this one)."""

    def __init__(self, ctx: AppContext, parent_widget: QWidget | None = None) -> None:
        super().__init__(ctx.runner)
        self.ctx, self.parent_widget = ctx, parent_widget
        self.jobs: list[NameJob] = []  # the one running
        self.skipped: set[int] = set()  # cancelled in this run of the app
        self.looking = False
        self.again = False  # kicked while busy: look again when done
        self.quiet = True  # the jobs found now were owed before this start

    @property
    def busy(self) -> bool:
        return self.looking or bool(self.jobs)

    def kick(self, quiet: bool = False) -> None:
        self.quiet = self.quiet and quiet if self.busy else quiet
        if self.busy:
            self.again = True
            return
        self._look()

    def _look(self) -> None:
        self.looking, self.again = True, False
        try:
            self.ctx.runner.submit(_pending, self.ctx.session, on_done=self._found, on_error=self._failed)
        except RuntimeError:  # the window is closing
            self.looking = False

    def _failed(self, _error: BaseException) -> None:
        self.looking = False

    def _found(self, pending: list[sidecar_jobs.Job]) -> None:
        self.looking = False
        todo = [job for job in pending if job.id not in self.skipped]
        if not todo:
            if self.again:
                self._look()
            return
        job = todo[0]
        runner = NameJob(self.ctx.session, self.ctx.runner, job.old, job.new, self.parent_widget, job, self.quiet)
        self.jobs.append(runner)
        runner.finished.connect(lambda report: self._done(runner, report))
        runner.start()

    def _done(self, runner: NameJob, report: renames.RenameReport) -> None:
        self.jobs.remove(runner)
        runner.deleteLater()
        if report.cancelled:
            self.skipped.add(runner.job.id)
        text = said(report)
        if text:
            self.ctx.status.notify(text, warning=report.cancelled or bool(report.failed))
        self._look()  # the next one owed, if any


_PUMPS: weakref.WeakKeyDictionary[TaskRunner, SidecarJobs] = weakref.WeakKeyDictionary()


def sidecar_jobs_of(ctx: AppContext, parent_widget: QWidget | None = None) -> SidecarJobs:
    """The window's one `SidecarJobs` (made on first use; the library's commands name the parent of
    the progress window)."""
    pump = _PUMPS.get(ctx.runner)
    if pump is None:
        pump = _PUMPS[ctx.runner] = SidecarJobs(ctx, parent_widget)
    elif parent_widget is not None:
        pump.parent_widget = parent_widget
    return pump


def resume_at_start(ctx: AppContext) -> SidecarJobs:
    """At start: the jobs an earlier run left unfinished are finished in the background, quietly."""
    pump = sidecar_jobs_of(ctx)
    pump.kick(quiet=True)
    return pump


def said(report: renames.RenameReport) -> str:
    """The status line after a job, in plain words (no paths, no brackets)."""
    count = len(report.rewritten)
    files = f"{count} photo now says" if count == 1 else f"{count} photos now say"
    if report.cancelled:
        return f"Stopped: {files} “{report.new}”; the others still say “{report.old}” until the app starts again."
    if report.failed:
        return f"{files} “{report.new}”; {len(report.failed)} could not be changed (read-only?)."
    return f"{files} “{report.new}” for other photo apps too." if count else ""
