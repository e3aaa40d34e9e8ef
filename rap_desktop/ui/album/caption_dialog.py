"""Album ▸ Caption and tag photos…: personalised captions for an indexed folder, optionally written
with the names and regions to XMP sidecars other photo apps read.

Non-modal. Options, then a run (`caption_ops.CaptionRun`) with a progress bar (count, photos/s,
ETA), the photo being captioned, Cancel, and a summary with every failure listed. Closing the
dialog cancels the run; what was captioned stays.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..context import AppContext
from ..runtime.tasks import said
from . import caption_ops
from .caption_ops import CaptionRun, Folder, Job, Result

if TYPE_CHECKING:
    from rap_desktop.core.album.indexer import Progress

STYLES = (("ext", "photo.jpg.xmp (digiKam, Immich)"), ("stem", "photo.xmp (Lightroom, darktable)"))


def _seconds(value: float | None) -> str:
    if value is None:
        return "?"
    value = round(value)
    return f"{value // 60} min {value % 60:02d} s" if value >= 60 else f"{value} s"


class CaptionDialog(QDialog):
    finished_run = Signal(object)  # Result (tests wait on it)
    models_requested = Signal()  # the generator's weights are missing: the models dialog says where to get them
    generator_loaded = Signal(object)  # Loaded: the run loaded the generator (the chat can use and unload it)

    def __init__(self, ctx: AppContext, parent: QWidget) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Caption and tag photos")
        self.setModal(False)
        self.run: CaptionRun | None = None
        self.last: Result | None = None
        self.options = caption_ops.CAPTION_OPTIONS  # tests shorten the captions
        settings = ctx.settings

        self.folder = QComboBox()
        self.folder.setMinimumContentsLength(40)
        self.folder.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.browse = QPushButton("&Other folder…")
        self.browse.setToolTip("A folder inside the album (only its indexed photos are captioned)")
        self.browse.clicked.connect(self._choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.browse)
        self.write_xmp = QCheckBox("&Write XMP sidecars (caption, names as keywords, regions)")
        self.write_xmp.setChecked(settings.value("caption/write_xmp", False, type=bool))
        self.style = QComboBox()
        for key, text in STYLES:
            self.style.addItem(text, key)
        self.style.setCurrentIndex(max(0, self.style.findData(settings.value("caption/style", "ext"))))
        self.write_xmp.toggled.connect(self.style.setEnabled)
        self.style.setEnabled(self.write_xmp.isChecked())
        self.force = QCheckBox("Caption &again photos that already have a caption")
        note = QLabel("The photos themselves are never changed. Existing sidecars are merged, not replaced.")
        note.setWordWrap(True)
        note.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        folder_label = QLabel("&Folder:")
        folder_label.setBuddy(self.folder)
        form.addRow(folder_label, folder_row)
        form.addRow("", self.write_xmp)
        form.addRow("Sidecar &name:", self.style)
        form.addRow("", self.force)
        form.addRow("", note)

        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat("%v / %m photos")
        self.rate = QLabel(" ")
        self.now = QLabel(" ")
        self.now.setTextFormat(Qt.TextFormat.PlainText)
        self.now.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.summary.setPlaceholderText("The result and any photos that could not be captioned show here.")

        self.start_button = QPushButton("&Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("&Cancel run")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.bar)
        layout.addWidget(self.rate)
        layout.addWidget(self.now)
        layout.addWidget(self.summary, 1)
        layout.addWidget(buttons)
        self.resize(720, 520)
        self._update_buttons()

    # --- folders -------------------------------------------------------------------------------

    def load_folders(self) -> None:
        """The album's folders with their counts (store lane)."""
        self.folder.setEnabled(False)
        self.ctx.runner.submit(
            caption_ops.indexed_folders,
            self.ctx.session,
            on_done=self._folders,
            on_error=said(self.ctx.status.show_error),
        )

    def _folders(self, folders: list[Folder]) -> None:
        keep = self.chosen_folder()
        self.folder.clear()
        for f in folders:
            self.folder.addItem(f"{f.path}  ({f.photos} photos, {f.captioned} captioned)", f.path)
        if not folders:
            self.folder.addItem("No album folders yet: index a folder first, or choose one", "")
        index = self.folder.findData(keep) if keep else -1
        if keep and index < 0:
            self.folder.addItem(keep, keep)
            index = self.folder.count() - 1
        self.folder.setCurrentIndex(max(0, index))
        self.folder.setEnabled(True)
        self._update_buttons()

    def chosen_folder(self) -> str:
        return str(self.folder.currentData() or "")

    def set_folder(self, path: str) -> None:
        """Choose `path` (added to the list when it is a folder inside the album)."""
        index = self.folder.findData(path)
        if index < 0:
            self.folder.addItem(path, path)
            index = self.folder.count() - 1
        self.folder.setCurrentIndex(index)
        self._update_buttons()

    def _choose_folder(self) -> None:
        start = self.chosen_folder() or str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Folder to caption", start)
        if path:
            self.set_folder(str(Path(path).resolve()))

    # --- the run -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.run is not None and self.run.running

    def job(self) -> Job:
        return Job(
            self.chosen_folder(),
            write_xmp=self.write_xmp.isChecked(),
            style=str(self.style.currentData()),
            force=self.force.isChecked(),
            options=self.options,
        )

    def start(self) -> None:
        if self.running or not self.chosen_folder():
            return
        job = self.job()
        self.ctx.settings.setValue("caption/write_xmp", job.write_xmp)
        self.ctx.settings.setValue("caption/style", job.style)
        run = self.run = CaptionRun(self.ctx.session, self.ctx.runner, job, self)
        run.progress.connect(self._progress)
        run.current.connect(lambda path: self.now.setText(f"Captioning {Path(path).name}"))
        run.loading.connect(self._loading)
        run.loaded.connect(self._generator_loaded)
        run.missing.connect(lambda _message: self.models_requested.emit())
        run.finished.connect(self._finished)
        self.bar.setRange(0, 0)  # until the plan says how many
        self.rate.setText("Reading the album…")
        self.now.setText(" ")
        self.summary.clear()
        run.start()
        self._update_buttons()

    def cancel(self, because: str = "") -> None:
        if self.running and self.run is not None:
            self.run.cancel(because)
            self.rate.setText("Cancelling after the current step…")
            self.cancel_button.setEnabled(False)

    def _loading(self, message: str, fraction: float) -> None:
        self.bar.setRange(0, 0 if fraction < 0 else 100)
        self.bar.setFormat("%p%" if fraction >= 0 else "")
        if fraction >= 0:
            self.bar.setValue(int(100 * fraction))
        self.rate.setText(f"Caption model: {message}… (once per session)")

    def _generator_loaded(self, loaded) -> None:
        self.rate.setText("Caption model ready")
        self.generator_loaded.emit(loaded)

    def _progress(self, progress: Progress) -> None:
        self.bar.setFormat("%v / %m photos")
        self.bar.setRange(0, progress.total)
        self.bar.setValue(progress.done)
        failed = f" · {progress.failed} failed" if progress.failed else ""
        self.rate.setText(
            f"{progress.done} of {progress.total} photos · {progress.photos_per_s:.2f} photos/s · "
            f"about {_seconds(progress.eta_s)} left{failed}"
        )

    def _finished(self, result: Result) -> None:
        self.last = result
        if result.photos:
            self.bar.setRange(0, result.photos)
            self.bar.setFormat("%v / %m photos")
            self.bar.setValue(result.captioned + result.skipped + len(result.failed))
        else:
            self.bar.setRange(0, 1)
            self.bar.setValue(0)
        self.now.setText(" ")
        self.rate.setText("Cancelled" if result.cancelled else "Failed" if result.error else "Done")
        lines = [result.summary()]
        if result.failed:
            lines += ["", "Not captioned:"] + [f"  {path}: {why}" for path, why in result.failed]
        self.summary.setPlainText("\n".join(lines))
        self.ctx.status.notify(
            f"Captions for {Path(result.folder).name or result.folder}: {result.summary().splitlines()[0]}"
        )
        self._update_buttons()
        self.load_folders()  # the counts changed
        self.finished_run.emit(result)

    def _update_buttons(self) -> None:
        running = self.running
        self.start_button.setEnabled(not running and bool(self.chosen_folder()))
        self.cancel_button.setEnabled(running and not (self.run is not None and self.run.cancelled))
        for widget in (self.folder, self.browse, self.write_xmp, self.force):
            widget.setEnabled(not running)
        self.style.setEnabled(not running and self.write_xmp.isChecked())

    def reject(self) -> None:
        self.cancel()  # closing stops the run; what was captioned stays
        super().reject()


def show_caption(dialog: CaptionDialog) -> CaptionDialog:
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    if not dialog.running:
        dialog.load_folders()
    return dialog
