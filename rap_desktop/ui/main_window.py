"""The main window: the concept library (a left dock: search, list, details), the photo view
(centre), the retrieval panel (a right dock), menus, toolbar, status bar, drops, window state.

Every store call goes through the TaskRunner's store lane; the concept commands (add, edit,
remove, import, export) live in `library/library_actions.py`, the photo and its corrections in
`photo/photo_controller.py`, the album in `album/`, the chat in `assistant/`. The window makes one
`AppContext` (context.py) and hands it to each part; it places the parts' widgets and actions and
wires their signals here, so no part knows the window. Another panel is one call:
`add_dock(widget, title, name)`.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QMetaMethod, QRect, QSettings, QSize, Qt, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeySequence,
    QShowEvent,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QFrame,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from rap_desktop.core.changes import LISTED, Changes
from rap_desktop.core.session import Session
from rap_desktop.core.store import Concept

from .about import show_about
from .album.album_view import AlbumPage
from .album.auto_index import AutoIndex, CloseQuestion
from .album.tools_menu import AlbumTools
from .assistant.assistant_dock import Assistant
from .centre_tabs import CentreTabs
from .context import AppContext, Status
from .library import operations as ops
from .library.concept_model import ConceptFilterModel, ConceptListModel, ConceptRole
from .library.details import DetailsPanel
from .library.library_actions import Commands
from .photo import photo_ops
from .photo.photo_controller import PhotoController
from .photo.photo_view import local_paths
from .plain_words import readable
from .runtime.actions import make_action
from .runtime.app_icon import app_icon
from .runtime.focus_ring import add_focus_ring
from .runtime.tasks import TaskRunner, said
from .runtime.thumbnails import ThumbnailCache
from .status_line import RECOGNISING, WRITING_ANSWER, WRITING_CAPTION, StatusLine

LIST_ICON = 96
FIRST_SIZE = QSize(1280, 800)  # on first start, or less: what the screen has free
ORGANISATION = "rap-desktop"
APPLICATION = "RAP Desktop"


class MainWindow(QMainWindow):
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

    def _build_library(self) -> None:
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search names, categories, descriptions…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.set_query)
        self.list_view = QListView()
        self.list_view.setModel(self.proxy)
        self.list_view.setViewMode(QListView.ViewMode.IconMode)
        self.list_view.setMovement(QListView.Movement.Static)  # a grid, not a desktop of draggable icons
        self.list_view.setResizeMode(QListView.ResizeMode.Adjust)
        self.list_view.setWrapping(True)
        self.list_view.setIconSize(QSize(LIST_ICON, LIST_ICON))
        self.list_view.setGridSize(QSize(LIST_ICON + 36, LIST_ICON + 40))
        self.list_view.setWordWrap(True)
        self.list_view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list_view.setSpacing(4)
        add_focus_ring(self.list_view)
        # never narrower than one column of names (the dock shrinks to this in a small window)
        bar = self.list_view.verticalScrollBar().sizeHint().width()
        self.list_view.setMinimumWidth(LIST_ICON + 36 + bar + 2 * self.list_view.frameWidth() + 8)
        self.list_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        # a concept can be dragged onto a box on the photo (the model gives its name as mime data)
        self.list_view.setDragEnabled(True)
        self.list_view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.list_view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.list_view.doubleClicked.connect(lambda _index: self.commands.edit())

        self.empty_hint = QLabel(
            "Nothing remembered yet.\n\nDrop a photo of a person, pet or thing here,\n"
            "or use Concepts ▸ Add concept… (Ctrl+N)."
        )
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setWordWrap(True)
        self.left_stack = QStackedWidget()
        self.left_stack.addWidget(self.list_view)
        self.left_stack.addWidget(self.empty_hint)

        top = QWidget()
        column = QVBoxLayout(top)
        column.setContentsMargins(6, 6, 6, 0)
        column.addWidget(self.search)
        column.addWidget(self.left_stack, 1)
        self.details = DetailsPanel(self.thumbnails)
        self.details_scroll = QScrollArea()  # a short window: the details scroll instead of being cut off
        self.details_scroll.setWidget(self.details)
        self.details_scroll.setWidgetResizable(True)
        self.details_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.details_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.details_scroll)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        self.library_dock = self.add_dock(
            self.splitter, "Concepts", "library-dock", Qt.DockWidgetArea.LeftDockWidgetArea
        )

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

    def _build_actions(self) -> None:
        c, p = self.commands, self.photos
        key = QKeySequence.StandardKey
        self.add_action = make_action(self, "&Add concept…", c.add_concept, key.New)
        self.add_photo_action = make_action(self, "Add &photo to concept…", c.add_photo, "Ctrl+Shift+N")
        self.edit_action = make_action(self, "&Edit…", c.edit, "F2")
        self.remove_action = make_action(self, "&Remove", c.remove, key.Delete)
        self.merge_action = make_action(self, "&Same person or thing…", c.merge)
        self.merge_action.setToolTip("Two selected concepts are one person or thing: make them one")
        self.import_rap_action = make_action(self, "Import RAP &database folder…", c.import_rap_folder)
        self.export_action = make_action(self, "&Export backup…", c.export_backup, "Ctrl+E")
        self.import_backup_action = make_action(self, "&Import backup…", c.import_backup)
        self.quit_action = make_action(self, "&Quit", self.close, key.Quit)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))  # StandardKey.Quit is empty on some desktops
        self.find_action = make_action(self, "&Find", self._focus_search, key.Find)
        self.undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts([QKeySequence("Ctrl+Z")])
        self.redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        # the toolbar says just Undo / Redo; the menu and the tooltip say what ("Undo Reassign r6 as <chelsea>")
        self.undo_action.setIconText("Undo")
        self.redo_action.setIconText("Redo")
        for action, tip in (
            (self.add_action, "Remember someone or something new from a photo"),
            (self.add_photo_action, "Add another photo of the selected concept"),
            (self.edit_action, "Change the name, description or category"),
            (self.remove_action, "Forget the selected concepts and their photos"),
        ):
            action.setToolTip(f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")
        # Delete must not fire while typing in the search box
        self.remove_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.list_view.addAction(self.remove_action)

        bar = self.menuBar()
        menu = bar.addMenu("&File")
        menu.addAction(p.open_action)
        menu.addSeparator()
        menu.addActions([self.import_rap_action, self.import_backup_action, self.export_action])
        menu.addSeparator()
        menu.addAction(self.quit_action)
        menu = bar.addMenu("&Edit")
        menu.addActions([self.undo_action, self.redo_action])
        menu = bar.addMenu("&Concepts")
        menu.addActions([self.add_action, self.add_photo_action, self.edit_action, self.remove_action])
        menu.addAction(self.merge_action)
        menu.addSeparator()
        menu.addAction(self.find_action)
        menu = bar.addMenu("&Photo")
        menu.addActions([p.open_action, p.rerun_action, p.draw_action])
        menu.addSeparator()
        menu.addActions(p.region_actions)
        self.album_menu = menu = bar.addMenu("&Album")
        menu.addActions(self.album.menu_actions)
        menu.addSeparator()
        menu.addActions(self.album_tools.menu_actions)
        self.addActions([*self.tabs.tab_actions, *self.album.menu_actions])  # shortcuts on either tab
        menu = bar.addMenu("&View")
        menu.addActions(self.tabs.tab_actions)
        menu.addSeparator()
        menu.addActions([p.fit_action, p.zoom_in_action, p.zoom_out_action])
        menu.addSeparator()
        menu.addActions([self.library_dock.toggleViewAction(), self.retrieval_dock.toggleViewAction()])
        a = self.assistant
        menu = bar.addMenu("&Assistant")
        menu.addActions([a.ask_action, a.caption_action, self.assistant_dock.toggleViewAction(), a.models_action])
        menu.addAction(a.unload_action)
        menu = bar.addMenu("&Help")
        self.about_action = make_action(self, "&About RAP Desktop", lambda: show_about(self))
        menu.addAction(self.about_action)

        toolbar = self.main_toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")  # saveState() needs a name
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addAction(p.open_action)
        toolbar.addSeparator()
        toolbar.addActions([self.add_action, self.add_photo_action, self.edit_action, self.remove_action])
        toolbar.addSeparator()
        toolbar.addActions([self.undo_action, self.redo_action])
        toolbar.addSeparator()
        toolbar.addActions([p.fit_action, p.draw_action])
        self._update_actions()

    def _build_status_bar(self) -> None:
        """One plain line ("Ready", "Recognising people and things…", "Writing a caption…"); which
        model is loaded where stays in its tooltip, and the data folder in the folder label's."""
        bar = self.statusBar()
        self.count_label = QLabel()
        self.status_line = StatusLine()
        # the technical lines live in the tooltip only
        self.status_line.set_detail("models", "Models: not loaded")
        self.status_line.set_detail("generator", self.assistant.status_text)
        self.assistant.worker.state_changed.connect(lambda _s, text: self.status_line.set_detail("generator", text))
        self.folder_label = QLabel(f"Data: {self.session.home}")
        self.folder_label.setToolTip(str(self.session.home))
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: "working", not a percentage
        self.busy.setMaximumWidth(120)
        self.busy.setMaximumHeight(14)
        self.busy.setTextVisible(False)
        self.busy.hide()
        for widget in (self.busy, self.count_label, self.status_line, self.folder_label):
            bar.addPermanentWidget(widget)
        self._follow_activity()

    def _follow_activity(self) -> None:
        line, worker = self.status_line, self.assistant.worker
        self.photos.photo_opened.connect(lambda _path: line.start("photo", RECOGNISING))
        self.photos.shown.connect(lambda: line.end("photo"))
        self.runner.failed.connect(lambda _message: line.end("photo"))  # nothing claims work that stopped

        def writing(busy: bool) -> None:
            if busy:
                line.start("chat", WRITING_CAPTION if worker.captioning else WRITING_ANSWER)
            else:
                line.end("chat")

        worker.busy_changed.connect(writing)
        self.auto_index.activity.connect(lambda text: line.start("album", text) if text else line.end("album"))

    def _model_state(self, text: str) -> None:
        self.status_line.set_detail("models", text)

    def update_model_state(self) -> None:
        """Ask (store lane: the models live there) which models are loaded, where, and GPU memory."""
        with contextlib.suppress(RuntimeError):  # closing: nothing to report to
            self.runner.submit(
                photo_ops.model_state, self.session, on_done=self._model_state, on_error=lambda _m: None
            )

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    # --- listing and selection -----------------------------------------------------------------

    def apply_changes(self, changes: Changes, select: Sequence[str] | None = None) -> None:
        """After a core action: the list reloads first when concepts or their photos changed (then
        selecting `select`, or keeping the selection), then `changed` tells every view."""
        if changes.concepts or changes.exemplars:
            self.refresh(select, changes)
        else:
            self.changed.emit(changes)

    def refresh(self, select: Sequence[str] | None = None, changes: Changes = LISTED) -> None:
        """Reload the list from the store (store lane); keep or set the selection afterwards, and
        announce `changes` once it is loaded."""
        self._reselect = list(select) if select is not None else [c.name for c in self.selected_concepts()]
        self._announce.append(changes)
        self.runner.submit(
            ops.with_store,
            self.session,
            ops.list_entries,
            on_done=self._entries_loaded,
            on_error=said(self._load_failed),
        )

    def _load_failed(self, message: str) -> None:
        changes = self._announce.popleft() if self._announce else LISTED
        fatal = self.isSignalConnected(QMetaMethod.fromSignal(self.fatal_error))
        if not self._loaded_once and fatal:  # the store itself cannot be opened: nothing here can work
            self.fatal_error.emit(message)
        else:
            self.show_error(message)
            if changes is not LISTED:  # the change itself was made: the other views still follow it
                self.changed.emit(changes)

    def _entries_loaded(self, entries: list[ops.ConceptEntry]) -> None:
        if not self._loaded_once:
            self.runner.submit(ops.with_store, self.session, ops.warm_up, on_done=self._warmed_up)
        self._loaded_once = True
        self.model.set_entries(entries)
        self.left_stack.setCurrentWidget(self.list_view if entries else self.empty_hint)
        count = len(entries)
        self.count_label.setText(f"{count} concept" + ("" if count == 1 else "s"))
        self.select_names(self._reselect)
        self._selection_changed()
        self.changed.emit(self._announce.popleft() if self._announce else LISTED)
        self.concepts_loaded.emit()

    def _warmed_up(self, report: tuple[str, bool]) -> None:
        if report[0]:
            self.notify(*report)
        self.update_model_state()

    def select_names(self, names: Sequence[str]) -> None:
        selection = self.list_view.selectionModel()
        selection.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select
        for name in names:
            row = self.model.row_of(name)
            if row >= 0:
                index = self.proxy.mapFromSource(self.model.index(row))
                if index.isValid():
                    selection.select(index, flags)
                    selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
                    self.list_view.scrollTo(index)

    def selected_concepts(self) -> list[Concept]:
        rows = self.list_view.selectionModel().selectedIndexes()
        return [index.data(ConceptRole) for index in sorted(rows, key=lambda i: i.row())]

    def _selection_changed(self, *_args: object) -> None:
        chosen = self.selected_concepts()
        self._update_actions()
        if len(chosen) != 1:
            self.details.show_nothing(len(chosen))
            return
        concept = chosen[0]
        self.details.show_concept(concept)
        self.runner.submit(
            ops.with_store,
            self.session,
            ops.exemplar_entries,
            concept.name,
            on_done=lambda entries, n=concept.name: self.details.show_exemplars(n, entries),
            on_error=lambda _message: None,  # removed meanwhile: the refresh that follows says so
        )

    def _update_actions(self) -> None:
        count = len(self.selected_concepts())
        self.add_photo_action.setEnabled(count == 1)
        self.edit_action.setEnabled(count == 1)
        self.remove_action.setEnabled(count >= 1)
        self.merge_action.setEnabled(count == 2)

    # --- feedback ------------------------------------------------------------------------------

    def _show_error_late(self, message: str, details: str = "") -> None:
        # one argument when there are no details: tests replace show_error with a one-argument callable
        if details:
            self.show_error(message, details)
        else:
            self.show_error(message)

    def show_error(self, message: str, details: str = "") -> None:
        """Every failure ends here: a plain message in a dialog (non-blocking: work goes on); technical
        `details` only behind the box's "Show Details…" button. A message with no details is put in
        plain words here: a technical one (a library's text, a command line) goes behind Details."""
        if not details:
            message, details = readable(message)
        box = QMessageBox(QMessageBox.Icon.Warning, APPLICATION, message, QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.PlainText)  # messages quote names as <name>
        if details:
            box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._error_box = box
        box.open()

    def confirm(self, title: str, text: str) -> bool:
        """Ask before something that cannot be undone. Tests replace this on the instance."""
        box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        return box.exec() == QMessageBox.StandardButton.Yes

    def notify(self, message: str, warning: bool = False) -> None:
        self.statusBar().showMessage(message, 20000 if warning else 6000)

    def _busy_changed(self, pending: int) -> None:
        self.busy.setVisible(pending > 0)
        self.busy.setToolTip(f"{pending} task(s) running")

    # --- drag and drop -------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self._accept_files(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self._accept_files(event)

    def _accept_files(self, event: QDragMoveEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = local_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        # dropped on a concept in the library: more photos of it; anywhere else: new concepts
        where = self.list_view.viewport().mapFrom(self, event.position().toPoint())
        index = self.list_view.indexAt(where) if self.list_view.viewport().rect().contains(where) else None
        concept = index.data(ConceptRole) if index is not None and index.isValid() else None
        self.commands.register_paths(paths, to=concept.name if concept else None)

    # --- window state --------------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        geometry = self.settings.value("main/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(FIRST_SIZE)
        state = self.settings.value("main/state")
        if state is not None:
            self.restoreState(state)
        splitter = self.settings.value("main/splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        else:
            self.splitter.setSizes([460, 260])
        self.fit_screen(self.screen().availableGeometry())
        if state is None:
            self._first_dock_widths()

    def _first_dock_widths(self) -> None:
        """The side panels take a share of the window, so a small screen still leaves the photo room."""
        width = self.width()
        library = min(max(width * 20 // 100, 200), 330)  # one column of names; more as the user widens it
        right = min(max(width * 30 // 100, 280), 380)
        self.resizeDocks([self.library_dock, self.retrieval_dock], [library, right], Qt.Orientation.Horizontal)

    def fit_screen(self, available: QRect) -> None:
        """Never larger than the screen's free area, frame included (a 1024x700 laptop, or a size
        remembered from a bigger screen), and placed inside it."""
        frame = self.frameGeometry().size() - self.geometry().size()  # the title bar and borders (0 until shown)
        width = min(self.width(), available.width() - frame.width())
        height = min(self.height(), available.height() - frame.height())
        if (width, height) != (self.width(), self.height()):
            self.resize(width, height)
        place = self.frameGeometry()
        x = min(max(place.x(), available.left()), available.right() + 1 - place.width())
        y = min(max(place.y(), available.top()), available.bottom() + 1 - place.height())
        if (x, y) != (place.x(), place.y()):
            self.move(max(x, available.left()), max(y, available.top()))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shown_once:  # the frame is known now: fit it as well
            self._shown_once = True
            self.fit_screen(self.screen().availableGeometry())

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.close_question.allows_close():  # indexing: "Stop and finish next time" or "Keep going"
            event.ignore()
            return
        self.auto_index.close()
        # before the lanes are waited for: a caption run stops at its next step, indexing after its
        # batch, the chat after one generation step, a download at once
        self.album_tools.close()
        self.album.close_index()
        self.assistant.close()
        self.settings.setValue("main/geometry", self.saveGeometry())
        self.settings.setValue("main/state", self.saveState())
        self.settings.setValue("main/splitter", self.splitter.saveState())
        self.settings.sync()
        self.commands.close_dialogs()
        self.photos.close_dialogs()
        self.runner.shutdown()  # waits for running store work (an add in flight lands, then we go)
        super().closeEvent(event)
