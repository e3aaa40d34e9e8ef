"""Indexing from the window: the core's IndexRun driven one batch per store-lane task (a flow:
`IndexController._index`).

Each step is its own task, and the next one is submitted only when the previous one has reported
back, so whatever the user does meanwhile (a concept edit, a retrieval) runs between two batches
instead of after the whole run. Cancel stops after the batch in flight (every committed batch
stays; the next run resumes). Closing the window cancels and closes the run before the lanes are
waited for, so no reader thread outlives it."""

from __future__ import annotations

import contextlib
from functools import partial

from PySide6.QtCore import QObject, Signal

from rap_desktop.core.album.indexer import IndexReport, IndexRun, Progress
from rap_desktop.core.session import Session

from ..runtime.tasks import Steps, TaskRunner, message
from . import album_ops


def progress_text(progress: Progress) -> str:
    """ "120 / 2,000 photos · 14.9 photos/s · about 2 min left" """
    text = f"{progress.done:,} / {progress.total:,} photos"
    if progress.done:
        text += f" · {progress.photos_per_s:.1f} photos/s"
    if progress.eta_s is not None and progress.done < progress.total:
        text += f" · about {duration(progress.eta_s)} left"
    if progress.failed:
        text += f" · {progress.failed:,} unreadable"
    return text


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def report_text(report: IndexReport) -> str:
    parts = [f"{report.indexed:,} new photo" + ("" if report.indexed == 1 else "s") + " indexed"]
    if report.recorded:
        parts.append(f"{report.recorded:,} moved or duplicate")
    if report.unchanged:
        parts.append(f"{report.unchanged:,} unchanged")
    if report.removed:
        parts.append(f"{report.removed:,} gone")
    if report.failed:
        parts.append(f"{len(report.failed):,} could not be read")
    head = "Indexing cancelled: " if report.cancelled else "Album indexed: "
    tail = " (Re-index goes on where it stopped)" if report.cancelled else ""
    return head + ", ".join(parts) + f" in {duration(report.seconds)}" + tail


def nothing_new(report: IndexReport) -> bool:
    return not (report.indexed or report.recorded or report.removed or report.cancelled)


class IndexController(QObject):
    started = Signal(int)  # photos to index this run
    progressed = Signal(object)  # Progress after each batch
    finished = Signal(object)  # IndexReport
    failed = Signal(str)  # the run could not start or a batch failed (committed batches stay)

    def __init__(self, runner: TaskRunner, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner, self.session = runner, session
        self.batch_size = 8
        self.run: IndexRun | None = None
        self.running = False  # from start() until finished/failed
        self.cancelled = False
        self.closing = False
        self.last: Progress | None = None
        self.steps = 0
        self._queued: list[str] = []  # folders added while a run was going
        self.automatic = False  # the app started this run by itself (resume, new files): quiet when it finds nothing
        self._live: IndexRun | None = None  # the run the store lane made last (set there, closed there)

    def start(self, folders: list[str], automatic: bool = False) -> bool:
        """Index `folders`; while a run is going they wait for it. False if nothing was started."""
        if self.closing:
            return False
        if self.running:
            self._queued += [f for f in folders if f not in self._queued]
            self.automatic = self.automatic and automatic  # a folder the user added is said when done
            return False
        self.running, self.cancelled, self.run, self.last, self.steps = True, False, None, None, 0
        self.automatic = automatic
        self.runner.flow(self._index(list(folders)), on_done=self._finished, on_error=self._error)
        return True

    def _index(self, folders: list[str]) -> Steps[IndexReport | None]:
        """Open, one batch per step, finish; None when the window closed meanwhile."""
        try:
            run = yield "store", partial(self._open_run, folders)
            if self.closing:
                return None  # close() has the store lane close it
            self.run = run
            self.last = run.progress()
            self.started.emit(run.total)
            self.progressed.emit(self.last)
            while not (run.done or self.cancelled):
                self.last = yield "store", partial(album_ops.step_index, run)
                self.steps += 1
                self.progressed.emit(self.last)
                if self.run is None:
                    return None  # closed
            if self.cancelled:
                run.cancel()  # between steps: the store lane is not in this run now
            return (yield "store", partial(album_ops.finish_index, run))
        finally:
            self.running = False  # also when the runner shut down under it (the window is gone)

    def _open_run(self, folders: list[str]) -> IndexRun:  # store lane
        self._live = album_ops.start_index(self.session, folders, self.batch_size)
        return self._live

    def _close_live(self) -> None:  # store lane, after whatever was in flight
        run, self._live = self._live, None
        if run is not None:
            run.close()

    def cancel(self) -> None:
        """Stop after the batch in flight."""
        if self.running:
            self.cancelled = True
            self._queued.clear()

    def close(self) -> None:
        """The window closes: no further step; the run is closed on the store lane (after the batch
        in flight, or after the scan if the run is just starting: its answer would never be
        delivered) before the runner waits for its lanes."""
        self.cancel()
        self.closing = True
        self.run = None
        if self.running:
            with contextlib.suppress(RuntimeError):
                self.runner.submit(self._close_live, on_error=lambda _error: None)

    def _finished(self, report: IndexReport | None) -> None:
        self.run = None
        if report is None:
            return
        self.finished.emit(report)
        if self._queued and not self.closing:
            folders, self._queued = self._queued, []
            self.start(folders, self.automatic)

    def _error(self, error: BaseException) -> None:
        run, self.run = self.run, None
        if run is not None and not self.closing:
            with contextlib.suppress(RuntimeError):
                self.runner.submit(run.close, on_error=lambda _error: None)
        self._queued.clear()
        self.failed.emit(message(error))
