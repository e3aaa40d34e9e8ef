"""What every part of the window is handed: the session and the lanes that run its work, the
settings, the thumbnails, the concept list, the undo stack, the status line and the one route by
which a change reaches every view. Parts take this, never the window; what they want of the window
(show a photo, select a concept, open a dialog) they say with signals, and the window wires them.

The main window makes the one `AppContext` in its `__init__`; the undo commands use it as well."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QUndoStack

from rap_desktop.core.changes import Changes
from rap_desktop.core.session import Session

from .library.concept_model import ConceptListModel
from .runtime.tasks import TaskRunner
from .runtime.thumbnails import ThumbnailCache

LAST_FOLDER = "paths/last_folder"  # QSettings key: where the file dialogs open


@dataclass(frozen=True)
class Status:
    """The window's feedback: a status-line message, an error box, a yes/no question."""

    notify: Callable[..., None]  # (message, warning=False)
    # (message, details=""): `message` one plain sentence, `details` the technical text behind the box's
    # button; a message given without details is put in plain words there (`plain_words.readable`)
    show_error: Callable[..., None]
    confirm: Callable[[str, str], bool]  # (title, text) -> yes


@dataclass(frozen=True)
class AppContext:
    session: Session
    runner: TaskRunner
    settings: QSettings
    thumbnails: ThumbnailCache
    concepts: ConceptListModel  # the library's list (names, categories, covers) as last loaded
    undo_stack: QUndoStack
    status: Status
    # a core action's record: the list reloads when it must (then selecting these names), and every
    # view refreshes from the window's `changed` signal
    apply_changes: Callable[[Changes, Sequence[str] | None], None]

    def names(self) -> list[str]:
        return [entry.concept.name for entry in self.concepts.entries()]

    def last_folder(self) -> str:
        return str(self.settings.value(LAST_FOLDER, str(Path.home())))

    def remember_folder(self, path: str | Path) -> None:
        """`path` a folder, or a file in the folder to remember."""
        path = Path(path)
        self.settings.setValue(LAST_FOLDER, str(path if path.is_dir() else path.parent))
