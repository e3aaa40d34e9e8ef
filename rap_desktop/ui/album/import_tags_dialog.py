"""Album ▸ Import people tags…: the names other photo apps already wrote in the album's photos
(digiKam, Lightroom, Picasa, Windows), each with a tick box, brought in as the user's own people.

Non-modal. The album's files are read on the io lane (the store lane only lists them and places the
tags), with a bar that counts the photos read and Stop
(closing the window stops it too: at 20,000 photos a first read takes a while, see
benchmarks/people_import.results.md); "Import ticked" pushes an
undoable ImportTagsCommand (store lane: the import, then the album re-matches) and the list is read
again after it, and after its undo or redo.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from rap_desktop.core import people_import
from rap_desktop.core.actions.people_tags import import_people_tags, undo_people_tags
from rap_desktop.core.cancel import CancelToken
from rap_desktop.core.changes import Changes, Done
from rap_desktop.core.session import Session

from ..context import AppContext
from ..photo.undo_commands import LoggedCommand
from ..runtime.tasks import said

HINT = (
    "People and pets that other photo apps (digiKam, Lightroom, Picasa, Windows Photo Gallery) already named "
    "in your album's photos. Tick the ones to bring in: each becomes one of your people, and the places "
    "marked for them in the photos are confirmed. Edit ▸ Undo takes it back."
)
EMPTY_TEXT = (
    "No names from other photo apps were found.\n\n"
    "None of your album's photos, nor the XMP files beside them, name anyone yet."
)


def every(callback: Callable[[int, int], None], seconds: float = 0.1) -> Callable[[int, int], None]:
    """`callback` called at most every `seconds` (and for the last photo): a scan reports each photo."""
    last = [0.0]

    def call(done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - last[0] >= seconds:
            last[0] = now
            callback(done, total)

    return call


def _joined(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def describe(proposal: people_import.Proposal) -> tuple[str, bool]:
    """A row's words (plain: no ids, no scores, no brackets) and whether there is anything to bring in."""
    photos = f"in {proposal.photos} photo{'s' * (proposal.photos != 1)}"
    usable = len(proposal.usable)
    done = sum(1 for t in proposal.tags if t.state == "done")
    if not usable:
        if done:
            return f"{proposal.name} — already brought in ({photos})", False
        return f"{proposal.name} — {photos}, but only as a keyword: no place in the photo is marked", False
    marked = f"marked in {usable} photo{'s' * (usable != 1)}" if usable != proposal.photos else "marked in each"
    if proposal.known:
        return f"{proposal.name} — already one of yours; {photos}, {marked} (they will be confirmed)", True
    return f"{proposal.name} — {photos}, {marked}", True


class ImportTagsCommand(LoggedCommand):
    """Bring in the ticked names; undo takes the whole import back, redo does it again."""

    def __init__(self, ctx: AppContext, names: Sequence[str], listing_changed: Callable[[], None]) -> None:
        super().__init__(ctx, f"Import people tags: {_joined(list(names))}")
        self.names = tuple(names)
        self.listing_changed = listing_changed

    def act(self, session: Session) -> tuple[Done, int | None]:
        done = import_people_tags(session, self.names)  # the album is read again: the tags as they are now
        return done, done.value.correction

    def take_back(self, session: Session, correction: int) -> Any:
        return undo_people_tags(session, correction)

    def applied(self, done: Done) -> None:
        imported = done.value
        if imported.confirmed:
            marked = f"{imported.confirmed} marked place{'s' * (imported.confirmed != 1)} confirmed"
            self.ctx.status.notify(f"Brought in {_joined(list(self.names))}: {marked}. Undo with Ctrl+Z.")
        else:
            self.ctx.status.notify("Nothing new to bring in: those names are already yours everywhere they are marked.")
        self.ctx.apply_changes(done.changes, list(imported.created) or None)
        self.listing_changed()

    def reverted(self, done: Done | None) -> None:
        if done is not None:
            self.ctx.status.notify(f"Undone: {self.text()}.")
        self.ctx.apply_changes(done.changes if done is not None else Changes(concepts=True, matches=True), None)
        self.listing_changed()

    def _apply_failed(self, message: str) -> None:
        super()._apply_failed(message)
        self.listing_changed()


class ImportTagsDialog(QDialog):
    listed = Signal(int)  # a listing arrived (its number of names): tests wait on it

    def __init__(self, ctx: AppContext, parent: QWidget) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Import people tags")
        self.setModal(False)
        self.proposals: list[people_import.Proposal] = []
        self._listing = 0  # the listing on show: answers for an older one are dropped
        self._busy = False
        self._scan: CancelToken | None = None  # the read under way (Stop, or closing, cancels it)

        hint = QLabel(HINT)
        hint.setWordWrap(True)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.itemChanged.connect(lambda _item: self._update_buttons())
        self.waiting = QLabel("Looking for names other apps wrote in your photos…")
        self.waiting.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.stack = QStackedWidget()
        for widget in (self.waiting, self.list, self.empty):
            self.stack.addWidget(widget)

        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumWidth(160)
        self.stop_button = QPushButton("&Stop")
        self.stop_button.setToolTip("Stop looking through the photos")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.hide()
        self.status = QLabel()
        self.import_button = QPushButton("&Import ticked")
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(self.import_checked)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.import_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.busy)
        bottom.addWidget(self.stop_button)
        bottom.addWidget(buttons)

        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(self.stack, 1)
        layout.addLayout(bottom)
        self.resize(640, 440)
        self._update_buttons()

    @property
    def loading(self) -> bool:
        return self._busy

    def reload(self) -> None:
        """Read the album's tags again (off the GUI thread); the rows shown stay until the answer."""
        self._listing += 1
        listing = self._listing
        self._set_busy(True)
        self.status.setText("Looking…")
        if self._scan is not None:
            self._scan.cancel()
        self._scan = token = CancelToken()
        self.busy.setRange(0, 0)
        self.stop_button.show()
        progress = every(self.ctx.runner.relay(lambda done, total: self._progress(listing, done, total)))
        failed = said(lambda message: self._failed(listing, message))
        session, runner = self.ctx.session, self.ctx.runner

        # the files are read on the io lane: the store lane stays free for the album's other work meanwhile
        def propose(read: list) -> None:
            if not token.cancelled:
                runner.submit(
                    lambda: people_import.propose(session.store(), session.embedder.model_id, read),
                    on_done=lambda found: self._listed(listing, found) if not token.cancelled else None,
                    on_error=failed,
                )

        def read(to_read: tuple) -> None:
            if not token.cancelled:
                runner.submit(people_import.read_tags, *to_read, progress, token, lane="io", on_done=propose,
                              on_error=failed)  # fmt: skip

        runner.submit(lambda: people_import.to_read(session.store()), on_done=read, on_error=failed)

    def _progress(self, listing: int, done: int, total: int) -> None:
        if listing != self._listing or not self._busy:
            return
        self.busy.setRange(0, max(1, total))
        self.busy.setValue(done)
        self.status.setText(f"Looking through photo {done:,} of {total:,}…")

    def stop(self) -> None:
        """Stop reading the album (the names found so far are not shown: they would be a partial list)."""
        if self._scan is None:
            return
        self._scan.cancel()
        self._scan = None
        self._listing += 1
        self._set_busy(False)
        self.stop_button.hide()
        self.status.setText("Stopped. Close this window and open it again to look once more.")

    def done(self, result: int) -> None:  # Close, Esc, the title bar: a read under way stops
        self.stop()
        super().done(result)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busy.setVisible(busy)
        self._update_buttons()

    def _listed(self, listing: int, found: list[people_import.Proposal]) -> None:
        if listing != self._listing:
            return
        self._scan = None
        self.stop_button.hide()
        self._set_busy(False)
        self.proposals = found
        self.list.blockSignals(True)
        self.list.clear()
        for proposal in found:
            text, usable = describe(proposal)
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, proposal.name)
            item.setToolTip(text)
            if usable:
                flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsSelectable
                item.setFlags(flags)
                item.setCheckState(Qt.CheckState.Unchecked)
            else:
                item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.stack.setCurrentWidget(self.list if found else self.empty)
        count = sum(1 for p in found if p.usable)
        self.status.setText(f"{count} name{'s' * (count != 1)} to bring in" if count else "Nothing new to bring in")
        self._update_buttons()
        self.listed.emit(len(found))

    def _failed(self, listing: int, message: str) -> None:
        if listing != self._listing:
            return
        self._scan = None
        self.stop_button.hide()
        self._set_busy(False)
        self.status.setText("Could not read the album's photos")
        self.ctx.status.show_error(message)

    def checked(self) -> list[str]:
        return [
            self.list.item(row).data(Qt.ItemDataRole.UserRole)
            for row in range(self.list.count())
            if self.list.item(row).checkState() == Qt.CheckState.Checked
        ]

    def set_checked(self, names: Sequence[str]) -> None:
        wanted = {n.casefold() for n in names}
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
                key = str(item.data(Qt.ItemDataRole.UserRole)).casefold()
                item.setCheckState(Qt.CheckState.Checked if key in wanted else Qt.CheckState.Unchecked)

    def _update_buttons(self) -> None:
        self.import_button.setEnabled(not self._busy and bool(self.checked()))

    def import_checked(self) -> None:
        names = self.checked()
        if not names or self._busy:
            return
        self._set_busy(True)
        self.busy.setRange(0, 0)
        self.status.setText("Bringing them in…")
        self.ctx.undo_stack.push(ImportTagsCommand(self.ctx, names, self._listing_changed))

    def _listing_changed(self) -> None:
        if self.isVisible():
            self.reload()
        else:
            self._listing += 1
            self._set_busy(False)


def show_import_tags(dialog: ImportTagsDialog) -> ImportTagsDialog:
    """Show (or raise) the dialog; each showing reads the album afresh."""
    if not dialog.proposals:
        dialog.stack.setCurrentWidget(dialog.waiting)
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    if not dialog.loading:
        dialog.reload()
    return dialog
