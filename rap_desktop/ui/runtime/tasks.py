"""The one entry point for background work: worker lanes on QThreadPool, results on the GUI thread.

Lane "store" has exactly one thread: the SQLite connection and the embedding model are used by one
thread at a time, and store calls run in the order they were submitted. Lane "model" has one thread
for the generator (long runs that must not hold up store edits; it never touches the store). Lane
"io" is parallel (thumbnails, photo previews, folder scans). The GUI thread never touches the store.

`submit` returns a typed `Task`: its `on_done` gets the function's result, its `on_error` the
exception object (`message(exc)` is what people are shown). `relay` turns a GUI-thread callback
into one any thread may call (progress). `flow` drives a generator function that hops between
lanes: it yields `(lane, fn)` and is resumed on the GUI thread with fn's result (or its exception).

The GUI thread comes first: worker threads run at a lower CPU priority, and Python hands its GIL
over every 1 ms instead of 5. Measured on 2 cores (benchmarks/ui_stalls.py): without this, a
generator loading on the model lane plus thumbnails on the io lane starved the GUI thread of the
CPU and of the GIL (each call Qt makes into Python, e.g. a model's data(), waited up to 5 ms) and
the event loop stalled for 250-470 ms.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Generator
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from rap_desktop.core.cancel import CancelToken
from rap_desktop.core.errors import RapError

from . import gui_gc

_log = logging.getLogger(__name__)

GIL_SWITCH_S = 0.001  # how long a thread may hold the GIL while another one asks for it
WORKER_NICE = 10  # workers' CPU priority below the GUI thread's (Unix nice levels; 0 = the same)
LANES = ("store", "model", "io")

T = TypeVar("T")
Failed = Callable[[BaseException], None]
Step = tuple[str, Callable[[], Any]]  # what a flow yields: the lane, and the call to make there
Steps = Generator[Step, Any, T]


def message(exc: BaseException) -> str:
    """A RapError is already a message for people; anything else is our bug, said plainly."""
    if isinstance(exc, RapError):
        return str(exc)
    return f"internal error: {type(exc).__name__}: {exc}"


def said(show: Callable[[str], None]) -> Failed:
    """An error callback for views that only show the message."""
    return lambda exc: show(message(exc))


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


class Task(Generic[T]):
    """One submission. `cancel()`: if it has not started it never runs and reports nothing; a running
    function sees it only through the token, when it was handed one (`submit(..., cancel=token)`)."""

    def __init__(self, on_done: Callable[[T], None] | None, on_error: Failed | None, token: CancelToken | None) -> None:
        self.on_done, self.on_error = on_done, on_error
        self.token = token or CancelToken()

    def cancel(self) -> None:
        self.token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled


class _Job(QRunnable):
    def __init__(self, runner: TaskRunner, task: Task, fn: Callable[..., Any], args: tuple) -> None:
        super().__init__()
        self._runner, self._task, self._fn, self._args = runner, task, fn, args

    def run(self) -> None:  # on a worker thread
        _lower_priority()
        if self._task.cancelled:
            self._runner._finished.emit(self._task, None, None)
            return
        try:
            result = self._fn(*self._args)
        except BaseException as exc:  # every failure must reach the GUI, never kill the pool
            if not isinstance(exc, RapError):
                _log.error("internal error in a background task", exc_info=exc)  # the traceback: stderr
            self._runner._finished.emit(self._task, False, exc)
        else:
            self._runner._finished.emit(self._task, True, result)


class TaskRunner(QObject):
    """`submit(fn, *args, on_done=, on_error=, lane=)`; callbacks run on the GUI thread.

    A failure without its own `on_error` is announced through `failed` (the window shows a dialog).
    """

    failed = Signal(str)
    busy_changed = Signal(int)  # number of tasks submitted and not yet reported
    # emitted from worker threads; the runner lives on the GUI thread, so delivery is queued there
    _finished = Signal(object, object, object)  # Task, True/False/None (skipped), result or exception
    _relayed = Signal(object, object)  # a callback and its arguments

    def __init__(self, parent: QObject | None = None, io_threads: int | None = None) -> None:
        super().__init__(parent)
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_S))
        self._lanes: dict[str, QThreadPool] = {}
        for lane in LANES:
            pool = self._lanes[lane] = QThreadPool(self)
            # no expiry: the store lane keeps its one thread, and a thread started mid-paint would cost
            # the GUI thread ~20 ms on 2 cores
            pool.setExpiryTimeout(-1)
            pool.setMaxThreadCount(1 if lane != "io" else io_threads or min(4, os.cpu_count() or 1))
        self._pending: set[Task] = set()
        self._closed = False
        self._finished.connect(self._deliver)
        self._relayed.connect(self._call)
        gui_gc.hold()  # cycles holding Qt objects must be freed here, never on a lane's thread

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        return len(self._pending)

    def submit(
        self,
        fn: Callable[..., T],
        *args: Any,
        on_done: Callable[[T], None] | None = None,
        on_error: Failed | None = None,
        lane: str = "store",
        cancel: CancelToken | None = None,
    ) -> Task[T]:
        if self._closed:
            raise RuntimeError("the task runner is shut down")
        if lane not in self._lanes:
            raise ValueError(f"unknown lane {lane!r}; lanes are {sorted(self._lanes)}")
        task: Task[T] = Task(on_done, on_error, cancel)
        self._pending.add(task)
        self._lanes[lane].start(_Job(self, task, fn, args))
        self.busy_changed.emit(self.pending)
        return task

    def relay(self, callback: Callable[..., None]) -> Callable[..., None]:
        """`callback` made callable from any thread: each call is queued to the GUI thread."""
        return lambda *args: self._relayed.emit(callback, args)

    def flow(
        self, steps: Steps[T], on_done: Callable[[T], None] | None = None, on_error: Failed | None = None
    ) -> Flow[T]:
        """Start a flow now (its code up to the first yield runs here, on the GUI thread)."""
        flow = Flow(self, steps, on_done, on_error)
        flow.resume(lambda: next(steps))
        return flow

    def _call(self, callback: Callable[..., None], args: tuple) -> None:
        if not self._closed:
            callback(*args)

    def _deliver(self, task: Task, ok: bool | None, payload: object) -> None:
        if task not in self._pending or self._closed:
            return
        self._pending.discard(task)
        self.busy_changed.emit(self.pending)
        if ok is None:
            return  # cancelled before it ran
        try:
            if ok:
                if task.on_done is not None:
                    task.on_done(payload)
            elif task.on_error is not None:
                task.on_error(payload)  # type: ignore[arg-type]
            else:
                self.failed.emit(message(payload))  # type: ignore[arg-type]
        except Exception as exc:  # a broken callback must not take the event loop down
            _log.error("internal error in a task's callback", exc_info=exc)
            self.failed.emit(message(exc))

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


class Flow(Generic[T]):
    """A generator function run step by step: each `(lane, fn)` it yields runs on that lane, and the
    generator resumes on the GUI thread with the result, or with the exception raised into it. Its
    return value goes to `on_done`, an exception it lets out to `on_error` (else the runner's
    `failed`). The code between two yields runs on the GUI thread: keep it short."""

    def __init__(self, runner: TaskRunner, steps: Steps[T], on_done, on_error) -> None:
        self.runner, self._steps = runner, steps
        self._on_done: Callable[[T], None] | None = on_done
        self._on_error: Failed | None = on_error
        self.running = True

    def resume(self, step: Callable[[], Step]) -> None:
        if not self.running:
            return
        try:
            lane, fn = step()
        except StopIteration as stop:
            self.running = False
            if self._on_done is not None:
                self._on_done(stop.value)
            return
        except Exception as exc:
            self.running = False
            if self._on_error is None:
                raise  # _deliver announces it
            self._on_error(exc)
            return
        try:
            self.runner.submit(
                fn,
                lane=lane,
                on_done=lambda result: self.resume(lambda: self._steps.send(result)),
                on_error=lambda exc: self.resume(lambda: self._steps.throw(exc)),
            )
        except RuntimeError:  # the runner is shut down: the window is gone, the flow ends quietly
            self.close()

    def close(self) -> None:
        """End the flow where it waits (its `finally` blocks run); nothing more is reported."""
        self.running = False
        self._steps.close()
