"""Python's cyclic garbage collector runs in whichever thread allocates when a threshold is crossed.
With worker lanes that is usually a worker (loading a model, reading rows). When the garbage it
finds holds a Qt object made on the GUI thread (a closed window's wrapper, its timers and models),
Qt destroys that object on the wrong thread and the process dies: CI crashed with "Segmentation
fault ... Garbage-collecting" inside YOLO's torch.load on the model lane.

So while a TaskRunner is alive, automatic collection is off and a timer on the GUI thread collects
by the same generation thresholds Python would use. Objects that exist when the first runner starts
(the imported libraries: ~470,000 with torch and transformers) are frozen out of collection, so a
full collection costs milliseconds rather than the ~400 ms it takes over everything.
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QCoreApplication, QObject, QTimer

TICK_MS = 100  # how often the GUI thread checks the allocation counts (a check costs ~1 us)
FULL_EVERY_S = 10.0  # at most one full (generation 2) collection this often

_collector: _Collector | None = None
_holders = 0


class _Collector(QObject):
    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.was_enabled = gc.isenabled()
        self.last_full = time.monotonic()
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)

    def tick(self) -> None:
        collect_due()


def collect_due() -> int | None:
    """Collect the oldest generation whose count passed its threshold (GUI thread); which one, if any."""
    counts, limits = gc.get_count(), gc.get_threshold()
    generation = None
    for gen in range(3):
        if counts[gen] > limits[gen]:
            generation = gen
    if generation == 2 and _collector is not None:
        if time.monotonic() - _collector.last_full < FULL_EVERY_S:
            generation = 1
        else:
            _collector.last_full = time.monotonic()
    if generation is not None:
        gc.collect(generation)
    return generation


def hold() -> None:
    """A runner starts: from now on only the GUI thread collects cycles (call it on the GUI thread)."""
    global _collector, _holders
    _holders += 1
    if _holders > 1:
        return
    app = QCoreApplication.instance()
    if app is None:  # no event loop to collect on: leave Python's own collector as it is
        return
    if _collector is None:
        _collector = _Collector(app)
        gc.collect()  # once, at start: what is garbage now must not be frozen with the rest
        gc.freeze()  # the libraries' objects are long-lived: later full collections skip them
    _collector.was_enabled = gc.isenabled()
    gc.disable()
    _collector.timer.start()


def release() -> None:
    """A runner shut down: the last one gives collection back to Python after one collection here."""
    global _holders
    if _holders == 0:
        return
    _holders -= 1
    if _holders or _collector is None or not _collector.timer.isActive():
        return
    _collector.timer.stop()
    gc.collect()  # the windows and runners just closed, on the thread that made them
    if _collector.was_enabled:
        gc.enable()


def holding() -> bool:
    return _collector is not None and _collector.timer.isActive()
