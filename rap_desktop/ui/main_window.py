"""The main window: concept list (left), details (right), menus, toolbar, status bar, drops.

Every store call goes through the TaskRunner's store lane; the commands themselves (add, edit,
remove, import, export) live in `commands.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QMetaMethod, QSettings, QSize, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from rap_desktop.core.session import Session
from rap_desktop.core.store import Concept

from . import operations as ops
from .commands import Commands
from .concept_model import ConceptFilterModel, ConceptListModel, ConceptRole
from .details import DetailsPanel
from .tasks import TaskRunner
from .thumbnails import ThumbnailCache

LIST_ICON = 112
ORGANISATION = "rap-desktop"
APPLICATION = "RAP Desktop"


class MainWindow(QMainWindow):
    fatal_error = Signal(str)  # the data folder could not be opened at all: the app shows it and exits
    concepts_loaded = Signal()  # after every refresh of the list (tests wait on it)

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
        self.commands = Commands(self)
        self._loaded_once = False
        self._reselect: list[str] = []
        self._error_box: QMessageBox | None = None

        self.setWindowTitle(APPLICATION)
        self.setAcceptDrops(True)
        self._build_central()
        self._build_actions()
        self._build_status_bar()
        self.runner.failed.connect(self.show_error)
        self.runner.busy_changed.connect(self._busy_changed)
        self._restore_geometry()
        self.refresh()

    # --- layout --------------------------------------------------------------------------------

    def _build_central(self) -> None:
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
        self.list_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
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

        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(8, 8, 0, 8)
        column.addWidget(self.search)
        column.addWidget(self.left_stack, 1)
        self.details = DetailsPanel(self.thumbnails)
        self.splitter = QSplitter()
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)

    def _action(self, text: str, slot: Callable[[], Any], shortcut: QKeySequence | str | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _build_actions(self) -> None:
        c = self.commands
        key = QKeySequence.StandardKey
        self.add_action = self._action("&Add concept…", c.add_concept, key.New)
        self.add_photo_action = self._action("Add &photo to concept…", c.add_photo, "Ctrl+Shift+N")
        self.edit_action = self._action("&Edit…", c.edit, "F2")
        self.remove_action = self._action("&Remove", c.remove, key.Delete)
        self.import_rap_action = self._action("Import RAP &database folder…", c.import_rap_folder)
        self.export_action = self._action("&Export backup…", c.export_backup, "Ctrl+E")
        self.import_backup_action = self._action("&Import backup…", c.import_backup)
        self.quit_action = self._action("&Quit", self.close, key.Quit)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))  # StandardKey.Quit is empty on some desktops
        self.find_action = self._action("&Find", self._focus_search, key.Find)
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

        menu = self.menuBar().addMenu("&File")
        menu.addActions([self.import_rap_action, self.import_backup_action, self.export_action])
        menu.addSeparator()
        menu.addAction(self.quit_action)
        menu = self.menuBar().addMenu("&Concepts")
        menu.addActions([self.add_action, self.add_photo_action, self.edit_action, self.remove_action])
        menu.addSeparator()
        menu.addAction(self.find_action)

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")  # saveState() needs a name
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addActions([self.add_action, self.add_photo_action, self.edit_action, self.remove_action])
        self._update_actions()

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.count_label = QLabel()
        self.folder_label = QLabel(f"Data: {self.session.home}")
        self.folder_label.setToolTip(str(self.session.home))
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: "working", not a percentage
        self.busy.setMaximumWidth(120)
        self.busy.setMaximumHeight(14)
        self.busy.setTextVisible(False)
        self.busy.hide()
        for widget in (self.busy, self.count_label, self.folder_label):
            bar.addPermanentWidget(widget)

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    # --- listing and selection -----------------------------------------------------------------

    def refresh(self, select: Sequence[str] | None = None) -> None:
        """Reload the list from the store (store lane); keep or set the selection afterwards."""
        self._reselect = list(select) if select is not None else [c.name for c in self.selected_concepts()]
        self.runner.submit(
            ops.with_store, self.session, ops.list_entries, on_done=self._entries_loaded, on_error=self._load_failed
        )

    def _load_failed(self, message: str) -> None:
        fatal = self.isSignalConnected(QMetaMethod.fromSignal(self.fatal_error))
        if not self._loaded_once and fatal:  # the store itself cannot be opened: nothing here can work
            self.fatal_error.emit(message)
        else:
            self.show_error(message)

    def _entries_loaded(self, entries: list[ops.ConceptEntry]) -> None:
        if not self._loaded_once:
            self.runner.submit(ops.with_store, self.session, ops.warm_up, on_done=lambda r: r[0] and self.notify(*r))
        self._loaded_once = True
        self.model.set_entries(entries)
        self.left_stack.setCurrentWidget(self.list_view if entries else self.empty_hint)
        count = len(entries)
        self.count_label.setText(f"{count} concept" + ("" if count == 1 else "s"))
        self.select_names(self._reselect)
        self._selection_changed()
        self.concepts_loaded.emit()

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

    # --- feedback ------------------------------------------------------------------------------

    def show_error(self, message: str) -> None:
        """Every failure ends here: a plain message in a dialog (non-blocking: work goes on)."""
        box = QMessageBox(QMessageBox.Icon.Warning, APPLICATION, message, QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.PlainText)  # messages quote names as <name>
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
        if _local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _local_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.commands.register_paths(paths)

    # --- window state --------------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        geometry = self.settings.value("main/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1000, 680)
        state = self.settings.value("main/state")
        if state is not None:
            self.restoreState(state)
        splitter = self.settings.value("main/splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        else:
            self.splitter.setSizes([600, 400])

    def closeEvent(self, event: QCloseEvent) -> None:
        self.settings.setValue("main/geometry", self.saveGeometry())
        self.settings.setValue("main/state", self.saveState())
        self.settings.setValue("main/splitter", self.splitter.saveState())
        self.settings.sync()
        self.commands.close_dialogs()
        self.runner.shutdown()  # waits for running store work (an add in flight lands, then we go)
        super().closeEvent(event)


def _local_paths(mime: Any) -> list[Path]:
    if mime is None or not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
