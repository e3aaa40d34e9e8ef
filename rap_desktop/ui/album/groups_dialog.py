"""Album ▸ Unknown groups…: look-alike regions that match no concept, offered as new concepts.

Non-modal. The listing is computed on the store lane (a busy bar meanwhile), each group's sample
crops on the io lane as its row scrolls into view. "Name this group…" asks name, description and
category in the register dialog (a name in use or not allowed is refused as you type), then pushes
an undoable NameGroupCommand; "Hide" (strangers, for good) an undoable HideGroupCommand; the list is
made again after each (and after its undo or redo).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QImage, QPalette, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from rap_desktop.core.changes import Changes
from rap_desktop.core.group_naming import Shown

from ..context import AppContext
from ..library.register_dialog import RegisterDialog
from ..runtime.tasks import said
from . import groups_ops

SAMPLES = 6
EMPTY_TEXT = (
    "No unknown groups to suggest.\n\n"
    "Every set of look-alike regions is named already, or smaller than the smallest group asked for.\n"
    "Index more photos, lower the similarity, or accept smaller groups."
)


class GroupsDialog(QDialog):
    listed = Signal(int)  # a listing arrived (its number of groups): tests and the status line wait on it

    def __init__(self, ctx: AppContext, parent: QWidget) -> None:
        """The window wires its `changed` signal to `follow` (AlbumTools passes it on)."""
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Unknown groups")
        self.setModal(False)
        self.groups: list[Shown] = []
        self.name_dialog: RegisterDialog | None = None  # open while a group is being named (tests use it)
        self._listing = 0  # number of the listing on show: answers for an older one are dropped
        self._requested: set[int] = set()  # rows whose sample strip was asked for
        self._busy = False  # listing, or naming (the listing on show is stale until the next one)
        self._naming = False  # a naming is on its way: it lists again itself when it is done
        # a change in the window (a correction, an edit, a removal, their undo, a new concept) moves
        # regions in or out of the groups: list again while shown, once for a burst of changes
        self._relist = QTimer(self, singleShot=True, interval=0)
        self._relist.timeout.connect(self._changed_elsewhere)

        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.5, 0.99)
        self.threshold.setSingleStep(0.01)
        self.threshold.setValue(float(ctx.settings.value("groups/threshold", 0.9)))
        self.threshold.setToolTip("How alike two regions must look to be grouped (cosine similarity)")
        self.min_size = QSpinBox()
        self.min_size.setRange(2, 50)
        self.min_size.setValue(int(ctx.settings.value("groups/min_size", 3)))
        self.min_size.setToolTip("Groups with fewer regions are not shown")
        self.find_button = QPushButton("&Find again")
        self.find_button.clicked.connect(self.reload)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumWidth(160)
        self.busy.hide()
        controls = QHBoxLayout()
        controls.addWidget(QLabel("&Similarity at least:", buddy=self.threshold))
        controls.addWidget(self.threshold)
        controls.addSpacing(12)
        controls.addWidget(QLabel("S&mallest group:", buddy=self.min_size))
        controls.addWidget(self.min_size)
        controls.addWidget(self.find_button)
        controls.addStretch(1)
        controls.addWidget(self.busy)

        hint = QLabel(
            "Regions of your album photos that look alike but match no concept. Name a group and all "
            "its regions become that concept (Edit ▸ Undo takes it back)."
        )
        hint.setWordWrap(True)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        self.list = QListWidget()
        self.list.setIconSize(QSize(SAMPLES * (groups_ops.CROP + 4), groups_ops.CROP))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setUniformItemSizes(True)
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.list.itemDoubleClicked.connect(lambda _item: self.name_selected())
        self.list.verticalScrollBar().valueChanged.connect(lambda _v: self._load_visible())
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.waiting = QLabel("Looking for look-alike regions…")
        self.waiting.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        for widget in (self.waiting, self.list, self.empty):
            self.stack.addWidget(widget)

        self.status = QLabel()
        self.name_button = QPushButton("&Name this group…")
        self.name_button.setDefault(True)
        self.name_button.clicked.connect(self.name_selected)
        self.hide_button = QPushButton("&Hide (strangers)")
        self.hide_button.setToolTip("Never show these regions again, here or in Who's this? (Undo takes it back)")
        self.hide_button.clicked.connect(self.hide_selected)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.hide_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.name_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(buttons)

        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(hint)
        layout.addWidget(self.stack, 1)
        layout.addLayout(bottom)
        self.resize(820, 560)
        self._update_buttons()

    # --- listing -------------------------------------------------------------------------------

    def reload(self) -> None:
        """List the groups again (store lane); the rows already shown stay until the answer."""
        self._listing += 1
        listing = self._listing
        threshold, min_size = round(self.threshold.value(), 2), self.min_size.value()
        self.ctx.settings.setValue("groups/threshold", threshold)
        self.ctx.settings.setValue("groups/min_size", min_size)
        self._set_busy(True)
        self.status.setText("Looking for look-alike regions…")
        self.ctx.runner.submit(
            groups_ops.find_groups,
            self.ctx.session,
            threshold,
            min_size,
            on_done=lambda found: self._listed(listing, found),
            on_error=said(lambda message: self._failed(listing, message)),
        )

    @property
    def loading(self) -> bool:
        return self._busy

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busy.setVisible(busy)
        self.find_button.setEnabled(not busy)
        self._update_buttons()

    def _listed(self, listing: int, found: list[Shown]) -> None:
        if listing != self._listing:
            return
        self._done_loading()
        self.groups = found
        self._requested.clear()
        self.list.clear()
        for shown in found:
            group = shown.group
            what = f" · {shown.label}" if shown.label else ""
            text = f"{group.size} regions in {group.photos} photo{'s' * (group.photos != 1)}{what}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, group.id)
            item.setToolTip(text)
            self.list.addItem(item)
        self.stack.setCurrentWidget(self.list if found else self.empty)
        self.status.setText(f"{len(found)} group{'s' * (len(found) != 1)}" if found else "Nothing to suggest")
        if found:
            self.list.setCurrentRow(0)
        self._update_buttons()
        self._load_visible()
        self.listed.emit(len(found))

    def _failed(self, listing: int, message: str) -> None:
        if listing != self._listing:
            return
        self._done_loading()
        self.status.setText("Could not list the groups")
        self.ctx.status.show_error(message)

    def _done_loading(self) -> None:
        self._set_busy(False)

    def _load_visible(self) -> None:
        """Ask for the sample crops of the rows in view (io lane), each once per listing."""
        area = self.list.viewport().rect()
        for row in range(self.list.count()):
            if row in self._requested or not self.list.visualItemRect(self.list.item(row)).intersects(area):
                continue
            self._requested.add(row)
            listing = self._listing
            self.ctx.runner.submit(
                groups_ops.sample_strip,
                self.groups[row].samples,
                lane="io",
                on_done=lambda image, r=row, n=listing: self._strip(n, r, image),
                on_error=lambda _message: None,  # a preview only
            )

    def _strip(self, listing: int, row: int, image: QImage) -> None:
        if listing == self._listing and row < self.list.count():
            self.list.item(row).setIcon(QIcon(QPixmap.fromImage(image)))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._load_visible()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._load_visible()

    # --- naming --------------------------------------------------------------------------------

    def selected(self) -> Shown | None:
        row = self.list.currentRow()
        items = self.list.selectedItems()
        return self.groups[row] if items and 0 <= row < len(self.groups) else None

    def _update_buttons(self) -> None:
        ready = self.selected() is not None and not self.loading and self.name_dialog is None
        self.name_button.setEnabled(ready)
        self.hide_button.setEnabled(ready)

    def hide_selected(self) -> None:
        """Hide the selected group for good (one undoable step); the list is made again after it."""
        shown = self.selected()
        if shown is None or self.loading or self.name_dialog is not None:
            return
        self._set_busy(True)
        self._naming = True  # a change of ours: it lists again itself when it is done
        self.status.setText("Hiding the group…")
        self.ctx.undo_stack.push(groups_ops.HideGroupCommand(self.ctx, shown, self._listing_changed))

    def name_selected(self) -> None:
        shown = self.selected()
        if shown is None or self.loading or self.name_dialog is not None:
            return
        icon = self.list.currentItem().icon()
        strip = icon.pixmap(self.list.iconSize()).toImage() if not icon.isNull() else None
        preview = QPixmap.fromImage(groups_ops.as_grid(strip)) if strip is not None else None
        group = shown.group
        dialog = RegisterDialog(
            self,
            self.ctx.concepts.name_keys(),
            preview,
            f"{group.size} look-alike regions in {group.photos} photos",
            category=shown.label,
            categories=self.ctx.concepts.categories(),
        )
        dialog.setWindowTitle("Name this group")
        dialog.ok_button.setText("Name group")
        dialog.accepted.connect(lambda: self._name(shown, dialog))
        dialog.finished.connect(lambda _result: self._name_dialog_closed(dialog))
        self.name_dialog = dialog
        self._update_buttons()
        dialog.open()

    def _name_dialog_closed(self, dialog: RegisterDialog) -> None:
        if self.name_dialog is dialog:
            self.name_dialog = None
        dialog.deleteLater()
        self._update_buttons()

    def _name(self, shown: Shown, dialog: RegisterDialog) -> None:
        command = groups_ops.NameGroupCommand(
            self.ctx, shown, dialog.name(), dialog.info(), dialog.category(), self._listing_changed
        )
        # the listing is stale from here: no second naming from it until it is made again
        self._set_busy(True)
        self._naming = True
        self.status.setText("Naming the group…")
        self.ctx.undo_stack.push(command)  # runs its redo: store lane, then the album re-matches

    def follow(self, changes: Changes) -> None:
        if changes.groups or changes.matches or changes.concepts or changes.exemplars:
            self._relist.start()

    def _changed_elsewhere(self) -> None:
        """The listing queues behind the change's own work on the store lane."""
        if self.isVisible() and not self._naming and not self.ctx.runner.closed:  # not while the window closes
            self.reload()

    def _listing_changed(self) -> None:
        self._naming = False
        if self.isVisible():
            self.reload()
        else:
            self._listing += 1  # drop what is in flight; shown again, it lists afresh
            self._set_busy(False)

    def reject(self) -> None:
        if self.name_dialog is not None:
            self.name_dialog.reject()
        super().reject()


def show_groups(dialog: GroupsDialog) -> GroupsDialog:
    """Open (or raise) the dialog; it lists the groups each time it is opened."""
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    if not dialog.loading:
        dialog.reload()
    return dialog
