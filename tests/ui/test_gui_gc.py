"""Cycles are collected on the GUI thread while worker lanes run (a Qt object freed on a worker
thread crashes the process), and Python's own collector is back once the runner shuts down."""

from __future__ import annotations

import gc
import threading

from rap_desktop.ui.runtime import gui_gc
from rap_desktop.ui.runtime.tasks import TaskRunner

_freed_on: list[int] = []


class _Cycle:
    """Refers to itself, so only the cyclic collector frees it; says on which thread."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _freed_on.append(threading.get_ident())


def _garbage_then_allocate() -> list:
    _Cycle()  # unreachable at once, but alive until a collection
    return [[i] for i in range(gc.get_threshold()[0] * 50)]  # kept alive: counts for dozens of collections


def test_worker_garbage_is_collected_on_the_gui_thread(qtbot) -> None:
    _freed_on.clear()
    runner = TaskRunner()
    try:
        assert gui_gc.holding() and not gc.isenabled()
        done: list[list] = []
        runner.submit(_garbage_then_allocate, on_done=done.append, lane="model")
        qtbot.waitUntil(lambda: bool(done), timeout=10_000)
        assert len(done[0]) == gc.get_threshold()[0] * 50
        qtbot.waitUntil(lambda: bool(_freed_on), timeout=5_000)  # the GUI thread's timer got to it
        assert _freed_on == [threading.get_ident()]
    finally:
        runner.shutdown()
    assert not gui_gc.holding() and gc.isenabled()


def test_due_generation_follows_the_thresholds(qtbot) -> None:
    runner = TaskRunner()
    try:
        gc.collect()
        assert gui_gc.collect_due() is None  # nothing allocated since
        kept = [[i] for i in range(gc.get_threshold()[0] + 10)]
        assert gui_gc.collect_due() == 0
        assert gc.get_count()[0] < gc.get_threshold()[0]
        assert len(kept) > 0
    finally:
        runner.shutdown()
