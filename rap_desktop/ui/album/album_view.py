"""The Album tab: the timeline of every indexed photo (newest first, by day, lazy thumbnails), a
bar to add folders, re-index and search (by concept, by text, or both), the indexing progress with
its Cancel button, and the viewer a photo opens in (double-click or Enter; Esc comes back to it).

Everything that touches the store runs on the store lane (listing, searching, each indexing
batch); thumbnails come from the disk cache on the io lane. The window places the page, its
actions (Album menu) and wires its signals."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rap_desktop.core.album.indexer import IndexReport, Progress
from rap_desktop.core.changes import Changes
from rap_desktop.core.thumbcache import for_home

from ..context import AppContext
from ..photo.photo_view import local_paths
from ..runtime.focus_ring import add_focus_ring
from .album_index import IndexController, nothing_new, progress_text, report_text
from .album_model import ICON, AlbumModel, PhotoRole, ThumbLoader
from .album_ops import AlbumQueries, Listing
from .search_bar import SearchOptions, count_text
from .timeline_view import Place, TimelineView
from .viewer import PhotoViewer

ALL = "All photos"
REFRESH_S = 2.0  # while indexing, the grid shows the new photos this often


def searching(listing: Listing) -> bool:
    """The listing is search results (a description or concepts), not the whole album."""
    return bool(listing.text or listing.concepts)


def query(listing: Listing) -> tuple:
    """What was asked for: a listing for the same query is a refresh (it keeps its place)."""
    return listing.concepts, listing.how, listing.text, listing.order


class FailuresDialog(QDialog):
    """The files an indexing run could not read, with why (path and reason, copyable)."""

    def __init__(self, failures: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Files that could not be read")
        self.table = QTableWidget(len(failures), 2)
        self.table.setHorizontalHeaderLabels(["File", "Why"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        for row, (path, reason) in enumerate(failures):
            item = QTableWidgetItem(path)
            item.setToolTip(path)
            self.table.setItem(row, 0, item)
            self.table.setItem(row, 1, QTableWidgetItem(reason))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(0, 420)
        note = QLabel(
            f"{len(failures):,} file(s) under the album folders could not be indexed. They are skipped "
            "until they change; fix or replace a file and Re-index (F5)."
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(760, 380)


class AlbumPage(QWidget):
    listed = Signal()  # the grid shows a new listing (tests wait on it)
    open_requested = Signal(str)  # a photo's path: open it in the Photo tab (the viewer's R)
    models_used = Signal()  # indexing loaded the models: the window's model label looks again

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.queries = AlbumQueries(ctx.session)  # used on the store lane only
        self.loader = ThumbLoader(ctx.runner, for_home(ctx.session.home), ICON, self)
        self.model = AlbumModel(self.loader, self)
        self.indexer = IndexController(ctx.runner, ctx.session, self)
        self.failures: list[tuple[str, str]] = []
        self._generation = 0  # bumped per search: late answers to older ones are dropped
        self._timeline_place: tuple[Place, str] | None = None  # the whole album's place and photo while searching
        self._last_refresh = 0.0
        self.failures_dialog: FailuresDialog | None = None
        self.setAcceptDrops(True)
        self._build()
        self.indexer.started.connect(self._index_started)
        self.indexer.progressed.connect(self._index_progressed)
        self.indexer.finished.connect(self._index_finished)
        self.indexer.failed.connect(self._index_failed)
        self.search_now()
        ctx.runner.submit(self.queries.failures, on_done=self.set_failures, on_error=lambda _m: None)

    # --- layout --------------------------------------------------------------------------------

    def _build(self) -> None:
        self.add_folder_action = QAction("&Add folder…", self)
        self.add_folder_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.add_folder_action.setToolTip("Add a folder of photos to the album and index it (Ctrl+Shift+O)")
        self.add_folder_action.triggered.connect(lambda _checked=False: self.add_folder_dialog())
        self.reindex_action = QAction("&Re-index", self)
        self.reindex_action.setToolTip("Look for new, changed and removed photos in the album folders (F5)")
        self.reindex_action.triggered.connect(lambda _checked=False: self.reindex())
        self.menu_actions = [self.add_folder_action, self.reindex_action]  # the window's Album menu
        self.add_button, self.reindex_button = add_button, reindex_button = QToolButton(), QToolButton()
        add_button.setDefaultAction(self.add_folder_action)
        reindex_button.setDefaultAction(self.reindex_action)

        self.concept_box = QComboBox()
        self.concept_box.setEditable(True)  # type to find a concept among many
        self.concept_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.concept_box.completer().setFilterMode(Qt.MatchFlag.MatchContains)
        self.concept_box.completer().setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        # as wide as 10 letters at least (a long name is elided, whole in the list): the bar fits a narrow window
        self.concept_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.concept_box.setMinimumContentsLength(10)
        self.concept_box.setToolTip("Only photos where this person, pet or thing was found (confirmed ones first, ✓)")
        self.concept_box.addItem(ALL, None)
        self.concept_box.currentIndexChanged.connect(lambda _row: self.new_search())
        self.text_edit = QLineEdit()
        self.text_edit.setPlaceholderText("Describe a photo: “a bus in the street”…")
        self.text_edit.setClearButtonEnabled(True)
        self.text_edit.setMinimumWidth(120)
        self.text_edit.setToolTip("Search the album by a description (combines with the concept filter)")
        self._text_timer = QTimer(self)
        self._text_timer.setSingleShot(True)
        self._text_timer.setInterval(350)
        self._text_timer.timeout.connect(self.new_search)
        self.text_edit.textChanged.connect(lambda _text: self._text_timer.start())
        self.text_edit.returnPressed.connect(self.new_search)
        # "and…", "together / only them", "Show N more", "By date / Best matches first"
        self.search_options = SearchOptions(self, self.ctx.settings)
        self.search_options.changed.connect(self.new_search)
        self.search_options.more_requested.connect(self.search_now)
        self.search_options.order_changed.connect(self.search_now)
        self.count_label = QLabel()
        self.count_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        bar = QHBoxLayout()  # the search; the folder buttons sit in the row below, so a narrow window fits
        bar.addWidget(QLabel("Show:"))
        bar.addWidget(self.concept_box)
        bar.addWidget(self.search_options.also_button)
        bar.addWidget(self.search_options.how_box)
        bar.addWidget(self.text_edit, 1)

        self.progress_bar = QProgressBar()  # its text: "120 / 2,000 photos · 14.9 photos/s · about 2 min left"
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the photos being indexed now; Re-index goes on from there")
        self.cancel_button.clicked.connect(self.cancel_index)
        self.progress_row = QWidget()
        row = QHBoxLayout(self.progress_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Indexing:"))
        row.addWidget(self.progress_bar, 1)
        row.addWidget(self.cancel_button)
        self.progress_row.hide()
        self.failures_button = QPushButton()
        self.failures_button.setFlat(True)
        self.failures_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.failures_button.setStyleSheet("QPushButton { color: palette(link); text-decoration: underline; }")
        self.failures_button.clicked.connect(self.show_failures)
        self.failures_button.hide()

        self.grid = TimelineView()  # days under their headings, the tiles sharing the width at any size
        self.grid.setModel(self.model)
        self.grid.activated.connect(self._activated)  # double-click or Enter: the viewer
        self.viewer = PhotoViewer(self.ctx.runner, self.queries, self.model, self.loader.thumbs)
        self.viewer.back_requested.connect(self.close_viewer)
        self.viewer.recognise_requested.connect(self.open_requested)
        self.viewer.moved.connect(self._viewer_moved)
        self.empty_hint = QLabel()
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setWordWrap(True)
        add_focus_ring(self.grid)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.grid)
        self.stack.addWidget(self.empty_hint)
        self.setFocusProxy(self.grid)  # the tab shown: the grid has the keyboard (the search, while empty)

        self.browser = QWidget()  # the search, the buttons and the timeline; the viewer takes its place
        self.pages = QStackedWidget()
        self.pages.addWidget(self.browser)
        self.pages.addWidget(self.viewer)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.pages)
        layout = QVBoxLayout(self.browser)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(bar)
        layout.addWidget(self.progress_row)
        status = QHBoxLayout()  # the folder buttons, the unreadable files' link, and the count of photos shown
        status.addWidget(add_button)
        status.addWidget(reindex_button)
        status.addWidget(self.failures_button)
        status.addStretch(1)
        status.addWidget(self.count_label)
        status.addWidget(self.search_options.more_button)
        status.addWidget(self.search_options.order_box)
        layout.addLayout(status)
        layout.addWidget(self.stack, 1)
        for first, then in (
            (self.concept_box, self.text_edit),
            (self.text_edit, add_button),
            (add_button, reindex_button),
            (reindex_button, self.failures_button),
            (self.failures_button, self.grid),
        ):
            QWidget.setTabOrder(first, then)  # as they are seen: the search row, the buttons, the grid

    # --- listing and search --------------------------------------------------------------------

    def concept(self) -> str | None:
        return self.concept_box.currentData()

    def set_concepts(self, names: list[str]) -> None:
        """The concept filter's choices (after every refresh of the library); keeps the choice."""
        current = self.concept()
        box = self.concept_box
        box.blockSignals(True)
        try:
            box.clear()
            box.addItem(ALL, None)
            for name in sorted(names, key=str.casefold):
                box.addItem(name, name)
            row = box.findData(current) if current else 0
            box.setCurrentIndex(max(row, 0))
        finally:
            box.blockSignals(False)
        self.search_options.set_names(names)
        self.search_options.follow(self.concept())
        if current and box.findData(current) < 0:
            self.search_now()  # the concept is gone: show all photos
        elif self.filtered():
            self.search_now()  # its matches may have changed (the album was re-matched)

    def follow(self, changes: Changes) -> None:
        if changes.concepts or changes.exemplars:  # the list has reloaded: its names are current
            self.set_concepts(self.ctx.names())
        if changes.matches and self.filtered():  # the album re-matched: a filtered grid follows
            self.search_now()

    def filtered(self) -> bool:
        return bool(self.concept() or self.text_edit.text().strip())

    def new_search(self) -> None:
        """The query changed: search again from the relevance cut."""
        self.search_options.follow(self.concept())
        self.search_options.new_search()
        self.search_now()

    def search_now(self) -> None:
        """Show the album (no filter) or the search results, from the store lane."""
        self._text_timer.stop()
        self._generation += 1
        generation = self._generation
        with contextlib.suppress(RuntimeError):  # closing
            self.ctx.runner.submit(
                self.queries.search,
                self.concept(),
                self.text_edit.text(),
                *self.search_options.args(),
                on_done=lambda listing: self._listed(generation, listing),
            )

    def _listed(self, generation: int, listing: Listing) -> None:
        if generation == self._generation:
            self.show_listing(listing)

    def show_listing(self, listing: Listing) -> None:
        old = self.model.listing
        same = query(listing) == query(old)
        place = self.grid.place() if same else Place("", 0, 0)  # a refresh keeps it; a new search: the top
        current = self.grid.currentIndex().data(PhotoRole)
        current_sha = current.sha256 if current is not None else ""
        if searching(listing) and not searching(old):  # the timeline's place, for when the search is cleared
            self._timeline_place = (self.grid.place(), current_sha)
        elif searching(old) and not searching(listing) and self._timeline_place is not None:
            place, current_sha = self._timeline_place  # back where the family was before searching
            self._timeline_place = None
        viewed = self.viewer.photo() if self.viewing() else None
        self.model.set_listing(listing)
        self.grid.doItemsLayout()
        row = self.model.row_of_sha(current_sha) if current_sha else -1
        if row >= 0:
            self.grid.selectionModel().setCurrentIndex(
                self.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
        self.grid.go_to(place)  # after the current photo (setting it scrolls to it)
        if viewed is not None:  # the viewer follows its photo to its new row (or closes when it went)
            row = self.model.row_of_path(viewed.path)
            self.viewer.open_row(row) if row >= 0 else self.close_viewer()
        count = len(listing.photos)
        self.count_label.setText(count_text(listing))
        self.count_label.setToolTip(f"“{listing.text}”" if listing.text else "")
        self.search_options.show_listing(listing)
        for button in (self.add_button, self.reindex_button):  # the row holds the results' count and choices
            button.setVisible(not searching(listing))  # (the Album menu keeps both)
        grid_had_focus = self.grid.hasFocus()
        if count:
            self.stack.setCurrentWidget(self.grid)
        else:
            self.empty_hint.setText(
                "No photos match."
                if self.filtered() or listing.folders
                else "No photos in the album yet.\n\nAdd a folder of photos (Ctrl+Shift+O) or drop one here:\n"
                "every photo is indexed once, and you can find people, pets and things in them."
            )
            self.stack.setCurrentWidget(self.empty_hint)
        if not self.viewing():
            self.setFocusProxy(self.grid if count else self.text_edit)
        if grid_had_focus and not count:  # the grid went: the keyboard stays on the page
            self.text_edit.setFocus()
        self.listed.emit()

    # --- the viewer ----------------------------------------------------------------------------

    def _activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_viewer(index.row())

    def viewing(self) -> bool:
        return self.pages.currentWidget() is self.viewer

    def open_viewer(self, row: int) -> None:
        """The photo large, with next/previous and its info; Esc comes back to it in the timeline."""
        self.pages.setCurrentWidget(self.viewer)
        self.setFocusProxy(self.viewer)
        self.viewer.open_row(row)
        self.viewer.setFocus(Qt.FocusReason.OtherFocusReason)

    def close_viewer(self) -> None:
        """Back to the timeline, at the photo the viewer showed last: selected, in sight, with the keyboard."""
        row = self.viewer.row
        self.pages.setCurrentWidget(self.browser)
        self.setFocusProxy(self.grid if self.model.rowCount() else self.text_edit)
        if 0 <= row < self.model.rowCount():
            index = self.model.index(row)
            self.grid.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.grid.scrollTo(index)
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    def _viewer_moved(self, row: int) -> None:
        index = self.model.index(row)
        self.grid.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    # --- indexing ------------------------------------------------------------------------------

    def add_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to the album", self.ctx.last_folder())
        if folder:
            self.ctx.remember_folder(str(Path(folder) / "x"))
            self.add_folders([folder])

    def add_folders(self, folders: list[str]) -> None:
        if not self.indexer.start(folders):
            self.ctx.status.notify("Indexing is running: the folder is indexed when it ends.")

    def reindex(self) -> None:
        """Every album folder again: new and changed photos only (the rest is skipped unread)."""
        if self.indexer.running:
            return
        with contextlib.suppress(RuntimeError):
            self.ctx.runner.submit(self.queries.folders, on_done=self._reindex_folders)

    def _reindex_folders(self, folders: tuple[list[str], list[str]]) -> None:
        present, missing = folders
        if not present and not missing:
            self.ctx.status.notify("The album has no folders yet: add one (Ctrl+Shift+O).")
            return
        if missing:
            self.ctx.status.notify(f"Not found, skipped: {', '.join(missing)}", warning=True)
        if present:
            self.indexer.start(present)

    def cancel_index(self) -> None:
        self.indexer.cancel()
        self.cancel_button.setEnabled(False)
        self.progress_bar.setFormat(self.progress_bar.format() + " · stopping after this batch…")

    def _index_started(self, total: int) -> None:
        if self.indexer.automatic and not total:
            return  # the app looked by itself and found nothing new: nothing to show
        self.progress_row.show()
        self.cancel_button.setEnabled(True)
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat(f"0 / {total:,} photos · starting…")
        self.reindex_action.setEnabled(False)
        self._last_refresh = 0.0

    def _index_progressed(self, progress: Progress) -> None:
        self.progress_bar.setRange(0, max(progress.total, 1))
        self.progress_bar.setValue(progress.done)
        text = progress_text(progress)
        self.progress_bar.setFormat(text + (" · stopping after this batch…" if self.indexer.cancelled else ""))
        self.progress_bar.setToolTip(progress.path)
        now = time.monotonic()
        if progress.done and not self.filtered() and now - self._last_refresh > REFRESH_S:
            self._last_refresh = now
            self.search_now()  # the new photos appear as they are indexed

    def _index_finished(self, report: IndexReport) -> None:
        self.progress_row.hide()
        self.reindex_action.setEnabled(True)
        if not (self.indexer.automatic and nothing_new(report)):
            self.ctx.status.notify(report_text(report), warning=bool(report.failed))
        self.set_failures(list(report.failed))
        self.search_now()
        self.models_used.emit()  # indexing loaded the models

    def _index_failed(self, message: str) -> None:
        self.progress_row.hide()
        self.reindex_action.setEnabled(True)
        self.ctx.status.show_error(
            f"Indexing stopped: {message}\n\nWhat was indexed before is kept; Re-index (F5) goes on."
        )
        self.search_now()

    def set_failures(self, failures: list[tuple[str, str]]) -> None:
        self.failures = failures
        count = len(failures)
        self.failures_button.setText(f"{count:,} file{'' if count == 1 else 's'} could not be read…")
        self.failures_button.setVisible(bool(count))

    def show_failures(self) -> FailuresDialog:
        if self.failures_dialog is not None:
            self.failures_dialog.close()
        self.failures_dialog = FailuresDialog(self.failures, self)
        self.failures_dialog.show()
        return self.failures_dialog

    def close_index(self) -> None:
        """The window closes: stop indexing before it waits for the lanes (the batch in flight lands)."""
        self.indexer.close()

    # --- drops: a folder dropped on the album is added ------------------------------------------

    def _folders(self, event: QDropEvent | QDragMoveEvent | QDragEnterEvent) -> list[str]:
        return [str(p) for p in local_paths(event.mimeData()) if p.is_dir()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._folders(event):
            event.acceptProposedAction()
        else:
            event.ignore()  # photos: the window's drop (new concepts) still works

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self.dragEnterEvent(event)  # type: ignore[arg-type]

    def dropEvent(self, event: QDropEvent) -> None:
        folders = self._folders(event)
        if not folders:
            event.ignore()
            return
        event.acceptProposedAction()
        self.add_folders(folders)
