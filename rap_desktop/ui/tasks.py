"""The one entry point for background work: worker lanes on QThreadPool, results on the GUI thread.

Lane "store" has exactly one thread: the SQLite connection and the embedding model are used by one
thread at a time, and store calls run in the order they were submitted. Lane "model" has one thread
for the generator (long runs that must not hold up store edits; it never touches the store). Lane
"io" is parallel (thumbnails, photo previews, folder scans). The GUI thread never touches the store.

The GUI thread comes first (`gui_first`, on by default): worker threads run at a lower CPU priority,
and Python hands its GIL over every 1 ms instead of 5. Measured on 2 cores (benchmarks/ui_stalls.py):
without this, a generator loading on the model lane plus thumbnails on the io lane starved the GUI
thread of the CPU and of the GIL (each call Qt makes into Python, e.g. a model's data(), waited up
to 5 ms) and the event loop stalled for 250-470 ms.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from rap_desktop.core.errors import RapError

from . import gui_gc

_log = logging.getLogger(__name__)

GIL_SWITCH_S = 0.001  # how long a thread may hold the GIL while another one asks for it
WORKER_NICE = 10  # workers' CPU priority below the GUI thread's (Unix nice levels; 0 = the same)

Done = Callable[[Any], None]
Failed = Callable[[str], None]


def describe_error(exc: BaseException) -> str:
    """A RapError is already a message for people; anything else is our bug, said plainly."""
    if isinstance(exc, RapError):
        return str(exc)
    _log.error("internal error in a background task", exc_info=exc)  # the traceback goes to stderr
    return f"internal error: {type(exc).__name__}: {exc}"


@dataclass
class _Callbacks:
    on_done: Done | None
    on_error: Failed | None


_lowered: set[int] = set()  # native ids of worker threads already made nicer


def _lower_priority() -> None:
    """Make the calling worker thread yield the CPU to the GUI thread (Linux: a thread's own nice
    level; elsewhere Qt's thread priority)."""
    tid = threading.get_native_id()
    if tid in _lowered:
        return
    _lowered.add(tid)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):  # not allowed (some sandboxes): the work runs, less politely
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + WORKER_NICE))
    else:
        from PySide6.QtCore import QThread

        QThread.currentThread().setPriority(QThread.Priority.LowPriority)


class _Job(QRunnable):
    def __init__(
        self, runner: TaskRunner, task_id: int, fn: Callable[..., Any], args: tuple, lower: bool = True
    ) -> None:
        super().__init__()
        self._runner, self._id, self._fn, self._args, self._lower = runner, task_id, fn, args, lower

    def run(self) -> None:  # on a worker thread
        if self._lower:
            _lower_priority()
        try:
            result = self._fn(*self._args)
        except BaseException as exc:  # every failure must reach the GUI, never kill the pool
            self._runner._finished.emit(self._id, False, describe_error(exc))
        else:
            self._runner._finished.emit(self._id, True, result)


class TaskRunner(QObject):
    """`submit(fn, *args, on_done=, on_error=, lane=)`; callbacks run on the GUI thread.

    A failure without its own `on_error` is announced through `failed` (the window shows a dialog).
    """

    failed = Signal(str)
    busy_changed = Signal(int)  # number of tasks submitted and not yet reported
    # emitted from worker threads; the runner lives on the GUI thread, so delivery is queued there
    _finished = Signal(int, bool, object)

    def __init__(self, parent: QObject | None = None, io_threads: int | None = None, gui_first: bool = True) -> None:
        super().__init__(parent)
        self.gui_first = gui_first  # False only to measure the difference (benchmarks/ui_stalls.py)
        if gui_first:
            sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_S))
        self._lanes: dict[str, QThreadPool] = {}
        store = self._lanes["store"] = QThreadPool(self)
        store.setMaxThreadCount(1)
        store.setExpiryTimeout(-1)  # keep the one store thread alive: no churn, same thread throughout
        model = self._lanes["model"] = QThreadPool(self)
        model.setMaxThreadCount(1)
        model.setExpiryTimeout(-1)
        io = self._lanes["io"] = QThreadPool(self)
        io.setMaxThreadCount(io_threads or min(4, os.cpu_count() or 1))
        if gui_first:
            io.setExpiryTimeout(-1)  # a thread started mid-paint costs the GUI thread ~20 ms on 2 cores
        self._ids = itertools.count(1)
        self._pending: dict[int, _Callbacks] = {}
        self._closed = False
        self._finished.connect(self._deliver)
        gui_gc.hold()  # cycles holding Qt objects must be freed here, never on a lane's thread

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        return len(self._pending)

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Done | None = None,
        on_error: Failed | None = None,
        lane: str = "store",
    ) -> int:
        if self._closed:
            raise RuntimeError("the task runner is shut down")
        if lane not in self._lanes:
            raise ValueError(f"unknown lane {lane!r}; lanes are {sorted(self._lanes)}")
        task_id = next(self._ids)
        self._pending[task_id] = _Callbacks(on_done, on_error)
        self._lanes[lane].start(_Job(self, task_id, fn, args, self.gui_first))
        self.busy_changed.emit(self.pending)
        return task_id

    def _deliver(self, task_id: int, ok: bool, payload: object) -> None:
        callbacks = self._pending.pop(task_id, None)
        if callbacks is None or self._closed:
            return
        self.busy_changed.emit(self.pending)
        try:
            if ok:
                if callbacks.on_done is not None:
                    callbacks.on_done(payload)
            elif callbacks.on_error is not None:
                callbacks.on_error(str(payload))
            else:
                self.failed.emit(str(payload))
        except Exception as exc:  # a broken callback must not take the event loop down
            self.failed.emit(describe_error(exc))

    def wait(self, msecs: int = -1) -> bool:
        """Block until every lane is idle (tests, shutdown). Results are still delivered later."""
        return all(pool.waitForDone(msecs) for pool in self._lanes.values())

    def shutdown(self) -> None:
        """Stop accepting work and wait for what runs (used at close).

        Queued io jobs (thumbnails) are dropped; queued store jobs still run: they are the user's edits.
        """
        if self._closed:
            return
        self._closed = True
        self._lanes["io"].clear()
        self.wait()
        self._pending.clear()
        gui_gc.release()
