"""The models dialog: what the settings need, what is missing, sizes, where each was looked for and
where a download goes; download with progress and cancel, or point at a local copy. Non-modal: the
rest of the app keeps working (the concept library needs no generator).

The table speaks a family's words (what each model is for, its size, whether it is here); the model's
id, its source and its files are in each row's tooltip and under Details."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rap_desktop.core.cancel import CancelToken
from rap_desktop.core.session import Session

from ..runtime.tasks import TaskRunner, said
from . import model_files
from .model_files import ModelRow

COLUMNS = ("What it does", "Size", "On this computer?")
STATE = 2  # the column that says whether it is here


def _size(mb: int) -> str:
    return f"{mb / 1000:.1f} GB" if mb >= 1000 else (f"{mb} MB" if mb else "—")


def _the_model(row: ModelRow) -> str:
    """The model in a sentence: "the model that writes captions and answers"."""
    does = row.what_it_does
    return f"the model that {does[0].lower()}{does[1:]}"


class ModelsDialog(QDialog):
    checked = Signal()  # after every (re-)check of the models (tests wait on it)
    fetch_ended = Signal(str)  # "done", "cancelled" or "failed"
    settings_changed = Signal()  # a local copy was set: the settings were re-read
    _progress = Signal(str, int, int)  # emitted on the io thread, delivered queued on the GUI thread

    def __init__(self, session: Session, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = runner
        self.rows: list[ModelRow] = []
        self.message = ""  # the last outcome, in words (tests read it)
        self.raw = ""  # and the library's own words for it, shown only under Details
        self._cancel: CancelToken | None = None
        self.setWindowTitle("Models")
        self.resize(760, 440)
        self._build()
        self._progress.connect(self._show_progress)
        self.recheck()

    def _build(self) -> None:
        intro = self.summary = QLabel(
            "RAP Desktop runs these models on this computer. Missing ones can be downloaded once, or "
            "taken from a folder you already have. Everything that needs no missing model keeps working."
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._show_details)
        # where each was looked for, the download source, raw errors: behind "Details", for whoever asks
        self.details = QLabel()
        self.technical = QLabel()
        for label in (self.details, self.technical):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_button = QToolButton()
        self.details_button.setText("Details")
        self.details_button.setCheckable(True)
        self.details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_button.setArrowType(Qt.ArrowType.RightArrow)
        self.details_box = QWidget()
        box = QVBoxLayout(self.details_box)
        box.setContentsMargins(16, 0, 0, 0)
        box.addWidget(self.details)
        box.addWidget(self.technical)
        self.details_box.hide()
        self.details_button.toggled.connect(self._show_technical)
        self.progress = QProgressBar()
        self.progress.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)

        self.download_button = QPushButton("Download")
        self.download_button.clicked.connect(self.download)
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.clicked.connect(self.cancel)
        self.local_button = QPushButton("Use a folder…")
        self.local_button.clicked.connect(self._choose_local)
        self.recheck_button = QPushButton("Check again")
        self.recheck_button.clicked.connect(self.recheck)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for button in (self.download_button, self.cancel_button, self.local_button, self.recheck_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)

        column = QVBoxLayout(self)
        column.addWidget(intro)
        column.addWidget(self.status)
        column.addWidget(self.progress)
        column.addWidget(self.table, 1)
        column.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignLeft)
        column.addWidget(self.details_box)
        column.addLayout(buttons)
        self._update_buttons()

    # --- checking ------------------------------------------------------------------------------

    def recheck(self) -> None:
        self.recheck_button.setEnabled(False)
        self.runner.submit(
            model_files.needed_models,
            self.session.settings,
            lane="io",
            on_done=self._show_rows,
            on_error=said(self._check_failed),
        )

    def _show_technical(self, shown: bool) -> None:
        self.details_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.details_box.setVisible(shown)

    def _check_failed(self, message: str) -> None:
        self._say("The list of models could not be read.", message)
        self.recheck_button.setEnabled(True)
        self.checked.emit()

    def _show_rows(self, rows: list[ModelRow]) -> None:
        chosen = self.selected()
        self.rows = rows
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            cells = (row.what_it_does, model_files.size_in_words(row.spec.size_mb), row.state)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(row.technical)  # the technical id, for whoever asks
                if c == STATE and not row.found.present:
                    item.setForeground(Qt.GlobalColor.darkRed)
                self.table.setItem(r, c, item)
        missing = [i for i, row in enumerate(rows) if not row.found.present]
        again = next((i for i, row in enumerate(rows) if chosen and row.spec.name == chosen.spec.name), None)
        pick = again if again is not None else (missing[0] if missing else 0)
        if rows:
            self.table.selectRow(pick)
        self.recheck_button.setEnabled(True)
        self.summary.setText(model_files.first_start_text(rows))
        self._show_details()
        self.checked.emit()

    def selected(self) -> ModelRow | None:
        picked = self.table.selectionModel().selectedRows()
        return self.rows[picked[0].row()] if picked and picked[0].row() < len(self.rows) else None

    def _show_details(self) -> None:
        row = self.selected()
        if row is None:
            self.details.setText("")
        elif row.found.present:
            self.details.setText(f"{row.technical}\n{row.spec.description}\nFound at {row.found.path}")
        else:
            looked = "\n".join(f"  • {place}" for place in row.found.looked) or "  (nowhere configured)"
            source = row.spec.download_url or row.spec.hub_repo or "no download source"
            self.details.setText(
                f"{row.technical}\n{row.spec.description}\nLooked in:\n{looked}\n"
                f"Download: {_size(row.spec.size_mb)} from {source}\nIt would go to: {row.destination}"
            )
        self._update_buttons()

    def _update_buttons(self) -> None:
        row, busy = self.selected(), self._cancel is not None
        missing = row is not None and not row.found.present
        self.download_button.setEnabled(missing and not busy and bool(row.spec.download_url or row.spec.hub_repo))
        self.local_button.setEnabled(row is not None and not busy and row.role != "vision tower")
        self.cancel_button.setEnabled(busy)

    # --- download ------------------------------------------------------------------------------

    def download(self) -> None:
        row = self.selected()
        if row is None or self._cancel is not None:
            return
        token = self._cancel = CancelToken()
        self.progress.setRange(0, 0)
        self.progress.show()
        self._say(f"Downloading {_the_model(row)} ({_size(row.spec.size_mb)})…")
        self._update_buttons()
        self.runner.submit(
            model_files.fetch,
            row.spec,
            self._progress_from_worker,
            token,
            lane="io",
            on_done=lambda _path: self._fetch_ended("done", f"Downloaded {_the_model(row)}."),
            on_error=said(
                lambda message: self._fetch_ended(
                    "cancelled" if token.cancelled else "failed",
                    "Download cancelled; nothing half-written was kept."
                    if token.cancelled
                    else model_files.download_trouble(message),
                    message,
                )
            ),
        )

    def _progress_from_worker(self, what: str, done: int, total: int | None) -> None:
        self._progress.emit(what, done, total or 0)

    def _show_progress(self, what: str, done: int, total: int) -> None:
        if self._cancel is None:
            return  # a late report after the end
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(done, total) / total))
        self.status.setText(f"Downloading: {done / 1e6:.1f} MB" + (f" of {total / 1e6:.1f} MB" if total else ""))
        self.status.setToolTip(what)  # the file being fetched

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.cancel()
            self._say("Cancelling…")

    def _fetch_ended(self, outcome: str, message: str, raw: str = "") -> None:
        self._cancel = None
        self.progress.hide()
        self._update_buttons()
        self._say(message, raw if outcome == "failed" else "")
        self.fetch_ended.emit(outcome)
        self.recheck()

    def _say(self, message: str, raw: str = "") -> None:
        """`message`: one plain sentence, on view; `raw`: the library's own words, under Details."""
        self.message, self.raw = message, raw
        self.status.setText("" if message in self.summary.text() else message)  # said once is enough
        self.technical.setText(f"What went wrong, exactly: {raw}" if raw else "")

    # --- local copy ----------------------------------------------------------------------------

    def _choose_local(self) -> None:
        row = self.selected()
        if row is None:
            return
        if row.spec.download_url:  # single-file models are pointed at the file itself
            path, _ = QFileDialog.getOpenFileName(self, f"The file of {_the_model(row)}", str(Path.home()))
        else:
            path = QFileDialog.getExistingDirectory(self, f"Folder holding {_the_model(row)}", str(Path.home()))
        if path:
            self.use_local(Path(path))

    def use_local(self, path: Path) -> None:
        """Point the selected model at `path` (checked, then written to the settings file)."""
        row = self.selected()
        if row is None:
            return
        self.runner.submit(
            model_files.use_local_copy,
            self.session.settings,
            row.spec,
            path,
            lane="io",
            on_done=lambda settings: self._local_set(row, settings),
            on_error=said(lambda raw: self._not_there(row, raw)),
        )

    def _not_there(self, row: ModelRow, raw: str) -> None:
        self._say(f"That folder does not hold {_the_model(row)}: pick {model_files.expected_names(row.spec)}.", raw)

    def _local_set(self, row: ModelRow, settings) -> None:
        self.session.settings = settings
        where = model_files.settings_path(settings)
        later = "" if row.role == "generator" else " Restart RAP Desktop to use it for search."
        self._say(f"{_the_model(row)[0].upper()}{_the_model(row)[1:]} now comes from your folder.{later}")
        self.technical.setText(f"Saved in {where}")
        self.settings_changed.emit()
        self.recheck()

    def done(self, result: int) -> None:  # Close, Escape and the window's close all end here
        self.cancel()
        super().done(result)
