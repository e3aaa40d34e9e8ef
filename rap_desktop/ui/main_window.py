"""The main window: makes the parts, places their widgets and wires their signals.

The concept library (a left dock: search, list, details), the photo view (centre), the retrieval panel
(a right dock). Its other jobs live beside it: the library's listing and selection (window_library.py),
menus and toolbar (window_menus.py), status bar and dialogs (window_feedback.py), drops
(window_drops.py), size and layout (window_state.py), closing (window_close.py).

Every store call goes through the TaskRunner's store lane; the concept commands (add, edit,
remove, import, export) live in `library/library_actions.py`, the photo and its corrections in
`photo/photo_controller.py`, the album in `album/`, the chat in `assistant/`. The window makes one
`AppContext` (context.py) and hands it to each part; it places the parts' widgets and actions and
wires their signals here, so no part knows the window. Another panel is one call:
`add_dock(widget, title, name)`.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QWidget

from rap_desktop.core.changes import Changes
from rap_desktop.core.session import Session

from .album.album_view import AlbumPage
from .album.auto_index import AutoIndex, CloseQuestion
from .album.tools_menu import AlbumTools
from .assistant.assistant_dock import Assistant
from .centre_tabs import CentreTabs
from .context import AppContext, Status
from .library.concept_model import ConceptFilterModel, ConceptListModel
from .library.library_actions import Commands
from .photo.photo_controller import PhotoController
from .runtime.app_icon import app_icon
from .runtime.tasks import TaskRunner
from .runtime.thumbnails import ThumbnailCache
from .window_close import CloseHandling
from .window_drops import FileDrops
from .window_feedback import WindowFeedback
from .window_library import ConceptLibrary
from .window_menus import WindowMenus
from .window_state import APPLICATION, ORGANISATION, WindowState

__all__ = ["APPLICATION", "ORGANISATION", "MainWindow"]


class MainWindow(ConceptLibrary, WindowMenus, WindowFeedback, FileDrops, WindowState, CloseHandling, QMainWindow):
    """The window that holds every part; its other jobs are the mixins' (window_*.py)."""

    fatal_error = Signal(str)  # the data folder could not be opened at all: the app shows it and exits
    concepts_loaded = Signal()  # after every refresh of the list (tests wait on it)
    # what a change touched (core.changes.Changes): every view refreshes from this one signal; a change
    # to the concepts goes out after the list has reloaded, so views read the new names from the
    # context's concept list (`AppContext.names`)
    changed = Signal(object)

    def __init__(
        self,
        session: Session,
        runner: TaskRunner | None = None,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = runner or TaskRunner(self)
        self.settings = settings or QSettings(ORGANISATION, APPLICATION)
        self.thumbnails = ThumbnailCache(self.runner, parent=self)
        self.model = ConceptListModel(self.thumbnails, self)
        self.proxy = ConceptFilterModel(self)
        self.proxy.setSourceModel(self.model)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(100)  # removed concepts are kept in memory for their undo
        self.ctx = AppContext(
            session,
            self.runner,
            self.settings,
            self.thumbnails,
            self.model,
            self.undo_stack,
            # late-bound, so a replaced show_error or confirm (tests) is the one used
            Status(
                notify=lambda message, warning=False: self.notify(message, warning),
                show_error=self._show_error_late,
                confirm=lambda title, text: self.confirm(title, text),
            ),
            apply_changes=lambda changes, select: self.apply_changes(changes, select),
        )
        self.commands = Commands(self.ctx, self.selected_concepts, self)
        self._announce: deque[Changes] = deque()  # one per list refresh in flight (the lane keeps order)
        self._loaded_once = False
        self._reselect: list[str] = []
        self._error_box: QMessageBox | None = None
        self._shown_once = False

        self.setWindowTitle(APPLICATION)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        # the parts: each takes the context, none reads another
        self.photos = PhotoController(self.ctx, self)
        self.assistant = Assistant(self.ctx, self)  # chat, captions, models dialog, generator status
        self.album = AlbumPage(self.ctx)  # the Album tab: Album ▸ Add folder…, Re-index
        self.album_tools = AlbumTools(self.ctx, self)  # Album ▸ Unknown groups…, Caption and tag photos…
        self.auto_index = AutoIndex(self.album, self)  # resume unfinished folders, watch for new photos
        self.close_question = CloseQuestion(self, self.album)  # closing mid-index asks first
        self._build_library()
        self._build_centre()
        self._build_actions()
        self._build_status_bar()
        self._wire()
        self.tabifyDockWidget(self.retrieval_dock, self.assistant_dock)  # until the user arranges them
        self.retrieval_dock.raise_()
        self._restore_geometry()
        self.refresh()

    def _wire(self) -> None:
        """What each part asks for, and what it follows."""
        self.runner.failed.connect(self.show_error)
        self.runner.busy_changed.connect(self._busy_changed)
        self.changed.connect(self._follow)
        self.changed.connect(self.assistant.follow)
        self.changed.connect(self.album.follow)
        self.changed.connect(self.album_tools.follow)
        for part in (self.commands, self.photos, self.album):
            part.models_used.connect(self.update_model_state)
        chat, photos = self.assistant.panel, self.photos
        photos.photo_opened.connect(lambda path: self.show_photo(path.name))
        photos.photo_opened.connect(chat.set_photo)  # chat about the photo on view
        photos.photo_retrieved.connect(chat.set_context)  # its decode and retrieval go with a question
        photos.photo_opened.connect(lambda _path: self.tabs.show_photo())  # File ▸ Open from the album too
        chat.box_found.connect(photos.show_answer_box)  # grounding, about the photo it was asked of
        chat.asked.connect(photos.ask)  # the one question box: names it mentions are starred on the photo
        self.assistant.ask_action.triggered.connect(self._ask_assistant)
        photos.panel.show_ask(self.assistant.ask_action)
        chat.concept_clicked.connect(lambda name: self.select_names([name]))
        self.album.open_requested.connect(self._open_from_album)
        tools, worker = self.album_tools, self.assistant.worker
        tools.models_requested.connect(self.assistant.show_models)
        tools.generator_loaded.connect(worker.adopt)  # the chat uses (and can unload) the run's generator
        worker.unloading.connect(tools.generator_unloading)

    def _ask_assistant(self) -> None:
        self.assistant_dock.show()
        self.assistant_dock.raise_()
        self.assistant.panel.focus_question()

    def _open_from_album(self, path: str) -> None:
        self.tabs.show_photo()
        self.photos.open_path(Path(path))

    # --- layout --------------------------------------------------------------------------------

    def _build_centre(self) -> None:
        self.photo_view = self.photos.view
        self.photo_view.set_hint(
            "Open a photo (Ctrl+O) or drop one here\nto see who and what is in it.\n\n"
            "Drop photos on the concept list to remember someone or something new."
        )
        self.tabs = CentreTabs(self.photo_view, self.album, self.photos.rerun_action, self.album.reindex_action)
        self.setCentralWidget(self.tabs)
        self.retrieval_dock = self.add_dock(self.photos.panel, "Regions", "retrieval-dock")
        self.assistant_dock = self.add_dock(self.assistant.panel, "Assistant", "assistant-dock")

    def add_dock(
        self, widget: QWidget, title: str, name: str, area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea
    ) -> QDockWidget:
        """A panel at the side, movable and closable, remembered by `name` across runs."""
        dock = QDockWidget(title, self)
        dock.setObjectName(name)  # saveState() needs a name
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        return dock

    def show_photo(self, name: str) -> None:
        self.setWindowTitle(f"{name} — {APPLICATION}")
        self.retrieval_dock.show()
        self.retrieval_dock.raise_()

    def _follow(self, changes: Changes) -> None:
        """The photo on view shows matches: it is retrieved again when they may differ."""
        if changes.matches or changes.corrections:
            self.photos.retrieve()
