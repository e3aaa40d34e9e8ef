"""What the menu, toolbar and drops do. Each command asks on the GUI thread (file dialogs, the
register dialog, a confirmation) and then hands the change, a core action, to the store lane; its
`Changes` go to the window, which refreshes every view from them."""

from __future__ import annotations

import datetime
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFileDialog, QMessageBox, QPushButton, QWidget

from rap_desktop.core import actions
from rap_desktop.core.actions.merge import Merged
from rap_desktop.core.changes import LISTED, Changes, Done
from rap_desktop.core.images import LoadedImage
from rap_desktop.core.session import Session
from rap_desktop.core.store import AddResult, Concept

from ..context import AppContext
from ..photo import photo_ops
from ..photo.undo_commands import ConceptText, EditConceptCommand, RemoveConceptsCommand, StoreCommand
from ..runtime.tasks import said
from ..runtime.thumbnails import load_photo
from . import name_job
from . import operations as ops
from .register_dialog import PICKER_SIZE, RegisterDialog

if TYPE_CHECKING:
    from PySide6.QtGui import QImage


class Commands(QObject):
    models_used = Signal()  # an add ran the embedder: the window's model label looks again

    def __init__(self, ctx: AppContext, selected: Callable[[], list[Concept]], parent: QWidget) -> None:
        """`selected`: the library's selected concepts; `parent`: the dialogs' parent."""
        super().__init__(parent)
        self.ctx, self.selected, self.parent_widget = ctx, selected, parent
        self.dialog: RegisterDialog | None = None  # the register/edit dialog now open (tests use it)
        # dropped or chosen photos waiting for their dialog, each with the concept it is for (or None: new)
        self._photos: deque[tuple[Path, str | None]] = deque()
        self._loading = False
        self.merge_box: QMessageBox | None = None  # the "Same person or thing?" question now open
        self.sidecars = name_job.sidecar_jobs_of(ctx, parent)  # sidecar rewrites owed (tests wait on them)

    # --- helpers -------------------------------------------------------------------------------

    def _store(self, fn: Callable[..., Any], *args: Any, done: Callable[[Any], None], refresh: bool = True) -> None:
        """Run `fn(store, *args)` on the store lane; the list is refreshed after a failure too
        (a half-done batch, a concept removed meanwhile), after a success by `done`."""
        self.ctx.runner.submit(
            ops.with_store, self.ctx.session, fn, *args, on_done=done, on_error=self._failed(refresh)
        )

    def _act(self, action: Callable[..., Done], *args: Any, done: Callable[[Done], None]) -> None:
        """Run the core action `action(session, *args)` on the store lane (the list is refreshed
        after a failure too, as by `_store`)."""
        self.ctx.runner.submit(action, self.ctx.session, *args, on_done=done, on_error=self._failed(True))

    def _failed(self, refresh: bool) -> Callable[[BaseException], None]:
        def on_error(message: str) -> None:
            self.ctx.status.show_error(message)
            if refresh:
                self.ctx.apply_changes(LISTED, None)  # the list loads again, keeping the selection

        return said(on_error)

    def _single(self) -> str | None:
        chosen = self.selected()
        return chosen[0].name if len(chosen) == 1 else None

    def _added(self, results: Sequence[AddResult], what: str, changes: Changes) -> None:
        self.models_used.emit()
        warnings = sorted({r.warning for r in results if r.warning})
        # a missing model is not an error: the photo is stored and embedded later
        self.ctx.status.notify(f"{what} — {warnings[0]}" if warnings else what, warning=bool(warnings))
        self.ctx.apply_changes(changes, sorted({r.concept.name for r in results}))

    # --- add a concept from photos -------------------------------------------------------------

    def add_concept(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self.parent_widget, "Photos to remember", self.ctx.last_folder(), ops.IMAGE_FILTER
        )
        if paths:
            self.ctx.remember_folder(paths[0])
            self.register_paths([Path(p) for p in paths])

    def register_paths(self, paths: Sequence[Path], to: str | None = None) -> None:
        """One register dialog per photo, one after another; folders give their images (io lane).
        With `to`, the photos are more photos of that concept."""
        self.ctx.runner.submit(ops.expand_paths, list(paths), lane="io", on_done=lambda found: self._queue(found, to))

    def _queue(self, paths: list[Path], to: str | None = None) -> None:
        if not paths:
            self.ctx.status.notify("No photos found there.")
        self._photos.extend((path, to) for path in paths)
        self._next_photo()

    def _next_photo(self) -> None:
        if self.dialog is not None or self._loading or not self._photos:
            return
        path, to = self._photos.popleft()
        self._loading = True

        def failed(message: str) -> None:
            self._loading = False
            self.ctx.status.show_error(message)
            self._next_photo()

        self.ctx.runner.submit(
            load_photo,
            path,
            2 * PICKER_SIZE,
            lane="io",
            on_done=lambda r: self._open_register(path, to, *r),
            on_error=said(failed),
        )

    def _open_register(self, path: Path, to: str | None, loaded: LoadedImage, preview: QImage) -> None:
        self._loading = False
        width, height = loaded.size
        left = f" ({len(self._photos)} more waiting)" if self._photos else ""
        dialog = RegisterDialog(
            self.parent_widget,
            self.ctx.concepts.name_keys(),
            QPixmap.fromImage(preview),
            f"{path.name}\n{width} × {height}, {loaded.format}{left}",
            categories=self.ctx.concepts.categories(),
            photo_size=loaded.size,
            adding_to=to,
            **self._text_of(to),
        )
        dialog.accepted.connect(lambda: self._add_to(dialog, loaded) if to else self._register(dialog, loaded))
        self._show(dialog)
        picker = dialog.picker

        def alive() -> bool:  # the dialog may be gone when the detector answers
            return self.dialog is dialog and picker is not None

        # the detector runs on the store lane (it shares the embedder's thread and weights)
        self.ctx.runner.submit(
            photo_ops.detect_proposals,
            self.ctx.session,
            loaded,
            on_done=lambda found: alive() and picker.set_proposals(found),
            on_error=said(lambda message: alive() and picker.detection_failed(message)),
        )

    def _register(self, dialog: RegisterDialog, loaded: LoadedImage) -> None:
        name, info, category, box = dialog.name(), dialog.info(), dialog.category(), dialog.box()
        self._act(
            actions.add_concept,
            name,
            loaded,
            info,
            category,
            box,
            done=lambda d: self._added([d.value], f"Remembered {name}.", d.changes),
        )

    def _text_of(self, name: str | None) -> dict[str, str]:
        row = self.ctx.concepts.row_of(name) if name else -1
        concept = self.ctx.concepts.entry(row).concept if row >= 0 else None
        return {"info": concept.info, "category": concept.category} if concept else {}

    def _add_to(self, dialog: RegisterDialog, loaded: LoadedImage) -> None:
        name, box = dialog.name(), dialog.box()
        self._act(
            actions.add_exemplar,
            name,
            loaded,
            box,
            done=lambda d: self._added([d.value], f"Added a photo to {name}.", d.changes),
        )

    def _show(self, dialog: RegisterDialog) -> None:
        self.dialog = dialog
        dialog.finished.connect(lambda _result: self._dialog_closed(dialog))
        dialog.open()  # window-modal, not a nested event loop

    def _dialog_closed(self, dialog: RegisterDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()
        self._next_photo()

    # --- change the selected concepts ----------------------------------------------------------

    def add_photo(self) -> None:
        name = self._single()
        if name is None:
            return
        paths, _ = QFileDialog.getOpenFileNames(
            self.parent_widget, f"More photos of {name}", self.ctx.last_folder(), ops.IMAGE_FILTER
        )
        if paths:
            self.ctx.remember_folder(paths[0])
            self.register_paths([Path(p) for p in paths], to=name)

    def edit(self) -> None:
        chosen = self.selected()
        if len(chosen) != 1 or self.dialog is not None:
            return
        concept = chosen[0]
        row = self.ctx.concepts.row_of(concept.name)
        cover = self.ctx.thumbnails.pixmap(self.ctx.concepts.entry(row).cover) if row >= 0 else None
        dialog = RegisterDialog(
            self.parent_widget,
            self.ctx.concepts.name_keys(),
            cover,
            editing=concept.name,
            info=concept.info,
            category=concept.category,
            categories=self.ctx.concepts.categories(),
        )
        old = ConceptText(concept.name, concept.info, concept.category)
        dialog.accepted.connect(lambda: self._save_edit(old, dialog))
        self._show(dialog)

    def _save_edit(self, old: ConceptText, dialog: RegisterDialog) -> None:
        new = ConceptText(dialog.name(), dialog.info(), dialog.category())
        if new != old:
            self.ctx.undo_stack.push(RenameCommand(self, old, new))

    # --- merge two concepts --------------------------------------------------------------------

    def merge(self) -> None:
        """Two selected concepts are one: ask which name stays (plain words), then merge undoably."""
        chosen = self.selected()
        if len(chosen) != 2 or self.merge_box is not None:
            return
        # the one with more photos is offered first (most often the name the family uses)
        first, second = sorted(chosen, key=lambda c: (-c.exemplar_count, c.name.casefold()))
        box = self.merge_box = merge_question(self.parent_widget, first.name, second.name)

        def answered(button: QPushButton) -> None:
            keep = button.property("keep")
            if keep:
                other = second.name if keep == first.name else first.name
                self.ctx.undo_stack.push(MergeCommand(self, keep, other))

        box.buttonClicked.connect(answered)
        box.finished.connect(lambda _result: self._merge_closed(box))
        box.open()

    def _merge_closed(self, box: QMessageBox) -> None:
        if self.merge_box is box:
            self.merge_box = None
        box.deleteLater()

    def rename_sidecars(self) -> None:
        """The sidecar rewrites a rename, a merge or an undo owes run in the background (progress, Cancel)."""
        self.sidecars.kick()

    def remove(self) -> None:
        names = [c.name for c in self.selected()]
        if not names:
            return
        title, question = remove_question(names)
        if self.ctx.status.confirm(title, question):
            self.ctx.undo_stack.push(RemoveConceptsCommand(self.ctx, names))

    # --- import / export -----------------------------------------------------------------------

    def import_rap_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self.parent_widget, "RAP database folder (with database.json)", self.ctx.last_folder()
        )
        if folder:
            self.ctx.remember_folder(folder)
            self._act(actions.import_rap, Path(folder), True, done=self._imported)  # skip names taken

    def import_backup(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.parent_widget, "Backup to import", self.ctx.last_folder(), "Backups (*.zip)"
        )
        if path:
            self.ctx.remember_folder(path)
            self._act(actions.import_backup, Path(path), True, done=self._imported)

    def _imported(self, done: Done) -> None:
        report = done.value
        message = f"Imported {len(report.added)} concept" + ("" if len(report.added) == 1 else "s")
        if report.hidden:  # a backup's hidden strangers
            message += f" and {_hidden(report.hidden)}"
        if report.skipped:
            message += f"; kept the existing {', '.join(report.skipped)}"
        if report.left_out:  # a damaged backup: the sound part is in, the rest is named
            message += f"; left out (damaged): {'; '.join(report.left_out)}"
        self._added(report.added, message + ".", done.changes)

    def export_backup(self) -> None:
        default = Path(self.ctx.last_folder()) / f"rap-backup-{datetime.date.today().isoformat()}.zip"
        path, _ = QFileDialog.getSaveFileName(self.parent_widget, "Export backup", str(default), "Backups (*.zip)")
        if path:
            target = Path(path) if path.lower().endswith(".zip") else Path(path + ".zip")
            self.ctx.remember_folder(target)

            def done(report) -> None:
                count = report.concepts
                message = f"Exported {count} concept{'' if count == 1 else 's'}"
                if report.hidden:
                    message += f" and {_hidden(report.hidden)}"
                message += f" to {target}"
                left = f"; left out (damaged): {'; '.join(report.left_out)}" if report.left_out else ""
                self.ctx.status.notify(message + left + ".", warning=bool(report.left_out))

            self._store(ops.export_backup, target, done=done, refresh=False)

    def close_dialogs(self) -> None:
        self._photos.clear()
        if self.dialog is not None:
            self.dialog.reject()


def remove_question(names: list[str]) -> tuple[str, str]:
    """The Remove confirmation's title and text: plain names, and the truth (it can be undone)."""
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    whose = "their" if len(names) > 1 else f"{names[0]}'s"
    title = f"Remove {len(names)} people and things" if len(names) > 1 else f"Remove {names[0]}"
    text = (
        f"Remove {shown} from your library?\n\nThe app will no longer recognise them in photos. "
        f"Changed your mind? Edit ▸ Undo (Ctrl+Z) brings back {whose} photos, description and "
        "corrections, as long as the app stays open."
    )
    return title, text


def merge_question(parent: QWidget, first: str, second: str) -> QMessageBox:
    """ "Same person or thing?": which name stays, in plain words; `keep` on each Keep button."""
    box = QMessageBox(QMessageBox.Icon.Question, "Same person or thing?", "", parent=parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(f"Are “{first}” and “{second}” the same person or thing?")
    box.setInformativeText(
        "Their photos, the places the app found them in your album, your corrections and the captions "
        "become one, under the name you keep. The other name goes.\n\n"
        "Changed your mind? Edit ▸ Undo (Ctrl+Z) separates them again."
    )
    for name in (first, second):
        button = box.addButton(f"Keep “{name}”", QMessageBox.ButtonRole.AcceptRole)
        button.setProperty("keep", name)
    box.setDefaultButton(box.buttons()[0])
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    return box


class MergeCommand(StoreCommand):
    """`concept merge KEEP OTHER`; undo separates them again exactly (`actions.unmerge`)."""

    def __init__(self, commands: Commands, keep: str, other: str) -> None:
        super().__init__(commands.ctx, f"Same person or thing: {other} is {keep}")
        self.commands, self.keep, self.other = commands, keep, other
        self.merged: Merged | None = None  # set on the store lane by apply, cleared by revert

    def apply(self, session: Session) -> Any:
        done = actions.merge_concepts(session, self.keep, self.other)
        self.merged = done.value
        return done

    def revert(self, session: Session) -> Any:
        if self.merged is None:
            return None
        done = actions.unmerge(session, self.merged)
        self.merged = None
        return done

    def applied(self, done: Done) -> None:
        merged = done.value
        self.ctx.status.notify(f"“{merged.other}” is now part of “{merged.keep}”. Undo with Ctrl+Z.")
        self.ctx.apply_changes(done.changes, [merged.keep])
        self.commands.rename_sidecars()

    def reverted(self, done: Done | None) -> None:
        if done is None:
            self.ctx.apply_changes(Changes(concepts=True, matches=True), [])
            return
        self.ctx.status.notify(f"Undone: “{done.value.other}” and “{done.value.keep}” are separate again.")
        self.ctx.apply_changes(done.changes, [done.value.keep, done.value.other])
        self.commands.rename_sidecars()  # the sidecars the merge changed say OTHER again


class RenameCommand(EditConceptCommand):
    """An edit whose rename also goes to the app's sidecars (a background job after it, and after its undo)."""

    def __init__(self, commands: Commands, old: ConceptText, new: ConceptText) -> None:
        super().__init__(commands.ctx, old, new)
        self.commands = commands

    def applied(self, done: Done) -> None:
        super().applied(done)
        self.commands.rename_sidecars()

    def reverted(self, done: Done) -> None:
        super().reverted(done)
        self.commands.rename_sidecars()


def _hidden(count: int) -> str:
    return f"{count} box{'' if count == 1 else 'es'} you hid (strangers)"
