"""The task runner's typed parts: a flow hopping lanes, errors as exception objects, progress
relayed to the GUI thread, a task cancelled before it starts."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QThread

from rap_desktop.core.errors import RapError
from rap_desktop.ui.runtime.tasks import Steps, TaskRunner, message

WAIT = 10_000


@pytest.fixture
def runner(qtbot):
    runner = TaskRunner()
    yield runner
    runner.shutdown()


def _thread() -> int:
    return threading.get_ident()


def _fail(text: str) -> None:
    raise RapError(text)


def test_a_flow_hops_lanes_and_gets_each_result_or_exception(qtbot, runner: TaskRunner) -> None:
    gui = threading.get_ident()
    seen: dict[str, object] = {}

    def flow() -> Steps[str]:
        seen["store"] = yield "store", _thread
        seen["model"] = yield "model", _thread
        seen["between"] = threading.get_ident()  # the code between yields runs on the GUI thread
        try:
            yield "io", lambda: _fail("no such photo")
        except RapError as exc:
            seen["caught"] = exc
        total = yield "io", lambda: 2 + 3
        return f"total {total}"

    done: list[str] = []
    runner.flow(flow(), on_done=done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=WAIT)
    assert done == ["total 5"]
    assert seen["between"] == gui and gui not in (seen["store"], seen["model"])
    assert seen["store"] != seen["model"]  # each lane its own thread
    assert isinstance(seen["caught"], RapError) and str(seen["caught"]) == "no such photo"


def test_an_escaping_exception_reaches_on_error_as_the_object(qtbot, runner: TaskRunner) -> None:
    def flow() -> Steps[None]:
        yield "store", lambda: {}["missing"]

    errors: list[BaseException] = []
    runner.flow(flow(), on_done=lambda _r: errors.append(AssertionError("finished")), on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=WAIT)
    assert isinstance(errors[0], KeyError)
    assert message(errors[0]) == "internal error: KeyError: 'missing'"


def test_progress_is_relayed_to_the_gui_thread(qtbot, runner: TaskRunner) -> None:
    got: list[tuple[float, bool]] = []
    report = runner.relay(lambda fraction: got.append((fraction, QThread.currentThread() is runner.thread())))

    def work() -> int:
        for step in (0.5, 1.0):
            report(step)
        return 1

    done: list[int] = []
    runner.submit(work, on_done=done.append, lane="model")
    qtbot.waitUntil(lambda: bool(done) and len(got) == 2, timeout=WAIT)
    assert got == [(0.5, True), (1.0, True)]


def test_a_task_cancelled_before_it_starts_never_runs(qtbot, runner: TaskRunner) -> None:
    gate = threading.Event()
    ran: list[str] = []
    runner.submit(gate.wait, 10.0)  # holds the one store thread
    task = runner.submit(ran.append, "ran", on_done=lambda _r: ran.append("reported"))
    task.cancel()
    gate.set()
    qtbot.waitUntil(lambda: runner.pending == 0, timeout=WAIT)
    assert ran == [] and task.cancelled
