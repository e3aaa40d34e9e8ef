"""The status bar's one plain line: "Ready", or what the app is doing now in a person's words
("Recognising people and things…", "Writing a caption…", "Writing captions… 3 of 40"). The
technical state (which model is loaded, on which device) stays in its tooltip, for whoever asks.

The window starts and ends what it sees itself (a photo, the chat). Work that runs where the window
does not look (an album caption run, made by its dialog) says so through `activity()`, which every
status line follows."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel, QWidget

READY = "Ready"
RECOGNISING = "Recognising people and things…"
WRITING_CAPTION = "Writing a caption…"
WRITING_ANSWER = "Writing an answer…"


def writing_captions(done: int, total: int) -> str:
    """An album caption run: "Writing captions… 3 of 40" (no count before the first photo is done)."""
    return f"Writing captions… {done} of {total}" if total else "Writing captions…"


class Activity(QObject):
    """What is under way, said by work the window does not watch: `start(key, text)` (again to
    update the text), then `end(key)`. GUI thread only."""

    started = Signal(str, str)
    ended = Signal(str)

    def start(self, key: str, text: str) -> None:
        self.started.emit(key, text)

    def end(self, key: str) -> None:
        self.ended.emit(key)


_activity: Activity | None = None


def activity() -> Activity:
    global _activity
    if _activity is None:
        _activity = Activity()
    return _activity


class StatusLine(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(READY, parent)
        self._doing: dict[str, str] = {}  # what is under way, by who started it (the latest is shown)
        self._details: dict[str, str] = {}  # technical lines for the tooltip, by topic
        activity().started.connect(self.start)  # disconnected by Qt when this line is destroyed
        activity().ended.connect(self.end)

    def start(self, key: str, text: str) -> None:
        self._doing.pop(key, None)
        self._doing[key] = text
        self._show()

    def end(self, key: str) -> None:
        self._doing.pop(key, None)
        self._show()

    def set_detail(self, topic: str, text: str) -> None:
        self._details[topic] = text
        self.setToolTip("\n".join(line for line in self._details.values() if line))

    def detail(self, topic: str) -> str:
        return self._details.get(topic, "")

    def _show(self) -> None:
        self.setText(next(reversed(self._doing.values())) if self._doing else READY)
