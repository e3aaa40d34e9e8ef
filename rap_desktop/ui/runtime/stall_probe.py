"""Measure event-loop stalls: a fast timer on the GUI thread notes how late each tick comes.

A tick can only run when the loop is free, so the lateness of a tick is the time the GUI thread was
busy with something else (a long callback, a model run on the wrong thread, a lock held by a worker).
Used by the stall test and the benchmark; start it, do the work, stop it, read `max_ms`/`percentile`.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer


class StallProbe(QObject):
    def __init__(self, interval_ms: int = 5, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self.stalls_ms: list[float] = []  # per tick: how much later than due it came (0 = on time)
        self._last: float | None = None
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.stalls_ms.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._tick()  # a stall still going on when stopped counts too
        self._last = None

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.stalls_ms.append(max(0.0, (now - self._last) * 1000 - self.interval_ms))
        self._last = now

    @property
    def ticks(self) -> int:
        return len(self.stalls_ms)

    @property
    def max_ms(self) -> float:
        return max(self.stalls_ms, default=0.0)

    def percentile(self, p: float) -> float:
        if not self.stalls_ms:
            return 0.0
        ordered = sorted(self.stalls_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def summary(self) -> str:
        return f"max {self.max_ms:.1f} ms, p99 {self.percentile(99):.1f} ms over {self.ticks} ticks"
