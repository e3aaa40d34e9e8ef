"""The status bar's one plain line: "Ready", or what the app is doing now in a person's words
("Recognising people and things…", "Writing a caption…"). The technical state (which model is
loaded, on which device) stays in its tooltip, for whoever asks."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

READY = "Ready"
RECOGNISING = "Recognising people and things…"
WRITING_CAPTION = "Writing a caption…"
WRITING_ANSWER = "Writing an answer…"


class StatusLine(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(READY, parent)
        self._doing: dict[str, str] = {}  # what is under way, by who started it (the latest is shown)
        self._details: dict[str, str] = {}  # technical lines for the tooltip, by topic

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
