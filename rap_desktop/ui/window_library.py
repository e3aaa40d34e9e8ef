"""The window's concept library: search box, icon grid and details, and the list's loading and selection."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QItemSelectionModel, QMetaMethod, QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QLabel,
    QLineEdit,
    QListView,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from rap_desktop.core.changes import LISTED, Changes
from rap_desktop.core.store import Concept

from .library import operations as ops
from .library.concept_model import ConceptRole
from .library.details import DetailsPanel
from .runtime.focus_ring import add_focus_ring
from .runtime.tasks import said

LIST_ICON = 96


class ConceptLibrary:
    """Mixed into the main window: the left dock and the concept list's loading and selection."""

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
