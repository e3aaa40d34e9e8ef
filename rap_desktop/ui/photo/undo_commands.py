"""Undoable edits: corrections of a region (confirm, reject, reassign), concept edits and removals.

Each command's redo and undo run on the store lane, through the same core actions as the CLI; the
`Changes` each returns goes to the window (`AppContext.apply_changes`), which refreshes every view
from it. The lane runs jobs in order, so an undo queued right after its redo sees what the redo
recorded (the correction id, the removed concepts), even before the GUI heard back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QUndoCommand

from rap_desktop.core import actions, removal
from rap_desktop.core.changes import ANYTHING, Changes, Done
from rap_desktop.core.session import Session

from ..context import AppContext
from ..plain_words import readable
from ..runtime.tasks import said
from . import photo_ops


class StoreCommand(QUndoCommand):
    def __init__(self, ctx: AppContext, text: str) -> None:
        super().__init__(text)
        self.ctx = ctx

    # subclasses: the store-lane work and what the GUI does after it
    def apply(self, session: Session) -> Any: ...
    def revert(self, session: Session) -> Any: ...
    def applied(self, result: Any) -> None: ...
    def reverted(self, result: Any) -> None: ...

    def redo(self) -> None:
        self.ctx.runner.submit(self.apply, self.ctx.session, on_done=self.applied, on_error=said(self._apply_failed))

    def undo(self) -> None:
        self.ctx.runner.submit(self.revert, self.ctx.session, on_done=self.reverted, on_error=said(self._revert_failed))

    def _apply_failed(self, message: str) -> None:
        # nothing was done: take the command off the stack (its undo is then a no-op)
        self._say(message, f"{self.text()}: not done.")
        self.setObsolete(True)
        stack = self.ctx.undo_stack
        if stack.index() > 0 and stack.command(stack.index() - 1) is self:
            stack.undo()
        self._changed()

    def _revert_failed(self, message: str) -> None:
        self._say(message, f"Undo {self.text()}: not done.")
        self._changed()

    def _say(self, message: str, doing: str) -> None:
        """The failure in plain words; the store's own text behind Details."""
        text, details = readable(message, doing)
        if details:
            self.ctx.status.show_error(text, details)
        else:
            self.ctx.status.show_error(text)

    def _changed(self) -> None:
        self.ctx.apply_changes(ANYTHING, None)  # a failure may have done part: every view looks again


class LoggedCommand(StoreCommand):
    """A change the store logs as one correction: undo takes back exactly that entry, redo does it again."""

    def __init__(self, ctx: AppContext, text: str) -> None:
        super().__init__(ctx, text)
        self.correction: int | None = None  # set on the store lane by apply, cleared by revert

    # subclasses: the change (its Done and the id of the correction it logged) and how to take it back
    def act(self, session: Session) -> tuple[Done, int | None]: ...

    def take_back(self, session: Session, correction: int) -> Any:
        return photo_ops.undo_correction(session, correction)

    def apply(self, session: Session) -> Any:
        self.correction = None
        done, self.correction = self.act(session)
        return done

    def revert(self, session: Session) -> Any:
        if self.correction is None:
            return None  # the change itself failed or logged nothing: nothing to take back
        done = self.take_back(session, self.correction)
        self.correction = None
        return done


class CorrectionCommand(LoggedCommand):
    """`match confirm|reject|reassign PHOTO REGION [NAME]`, undone with `match undo`."""

    def __init__(
        self,
        ctx: AppContext,
        action: str,
        photo: str,
        region: str,
        concept: str | None,
        info: str = "",
        category: str | None = None,
    ) -> None:
        super().__init__(ctx, answer_text(action, concept))
        self.action, self.photo, self.region, self.concept = action, photo, region, concept
        self.info, self.category = info, category
        # told on the GUI thread once the store did / took back the correction (the question's note)
        self.on_applied: Callable[[], None] | None = None
        self.on_reverted: Callable[[], None] | None = None

    def act(self, session: Session) -> tuple[Done, int | None]:
        done = actions.correct(session, self.action, self.photo, self.region, self.concept, self.info, self.category)
        return done, done.value.id

    def applied(self, done: Done) -> None:
        self.ctx.status.notify(self.text() + ".")  # the CLI says "r4 is <bo>"; a person needs no region id or brackets
        if self.on_applied is not None:
            self.on_applied()
        self.ctx.apply_changes(done.changes, None)

    def reverted(self, done: Done | None) -> None:
        if self.on_reverted is not None:
            self.on_reverted()
        if done is not None:
            self.ctx.status.notify(f"Undone: {self.text()}.")
            self.ctx.apply_changes(done.changes, None)
        else:  # the correction had failed: the views look again all the same
            photos = self.action in ("confirm", "reassign")
            self.ctx.apply_changes(Changes(concepts=photos, exemplars=photos, matches=True), None)


def answer_text(action: str, concept: str | None) -> str:
    """An answer as the undo stack names it (Edit ▸ Undo …): plain words, no region id or brackets."""
    name = concept or "it"
    return {"confirm": f"Yes, this is {name}", "reject": f"No, this is not {name}"}.get(action, f"This is {name}")


class RemoveConceptsCommand(StoreCommand):
    """Remove concepts; undo puts them back exactly as they were (photos, text, vectors, and the
    corrections and album matches that named them: `core.removal`)."""

    def __init__(self, ctx: AppContext, names: Sequence[str]) -> None:
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        super().__init__(ctx, f"Remove {shown}")
        self.names = list(names)
        self.saved: list[removal.RemovedConcept] | None = None

    def apply(self, session: Session) -> Any:
        done = actions.remove_concepts(session, self.names)
        self.saved = done.value
        return done

    def revert(self, session: Session) -> Any:
        if not self.saved:
            return None
        done = actions.restore_concepts(session, self.saved)  # corrections first, then the album
        self.saved = None
        return done

    def applied(self, done: Done) -> None:
        self.ctx.status.notify(f"Removed {', '.join(c.name for c in done.value)}. Undo with Ctrl+Z.")
        self.ctx.apply_changes(done.changes, [])

    def reverted(self, done: Done | None) -> None:
        if done is None:  # nothing was removed: nothing to put back, the views look again all the same
            self.ctx.apply_changes(Changes(concepts=True, matches=True), [])
            return
        if done.value:
            self.ctx.status.notify(f"Restored {', '.join(done.value)}.")
        self.ctx.apply_changes(done.changes, done.value)


@dataclass(frozen=True)
class ConceptText:
    name: str
    info: str
    category: str


class EditConceptCommand(StoreCommand):
    """Rename / describe / categorise; undo puts the old values back (a rename re-tags the text)."""

    def __init__(self, ctx: AppContext, old: ConceptText, new: ConceptText) -> None:
        super().__init__(ctx, f"Edit {old.name}" + (f" → {new.name}" if new.name != old.name else ""))
        self.old, self.new = old, new

    @staticmethod
    def _set(session: Session, current: str, to: ConceptText) -> Any:
        rename = to.name if to.name != current else None
        return actions.edit_concept(session, current, rename=rename, info=to.info, category=to.category)

    def apply(self, session: Session) -> Any:
        return self._set(session, self.old.name, self.new)

    def revert(self, session: Session) -> Any:
        return self._set(session, self.new.name, self.old)

    def applied(self, done: Done) -> None:
        self.ctx.status.notify(f"Saved {done.value.name}.")
        self.ctx.apply_changes(done.changes, [done.value.name])

    def reverted(self, done: Done) -> None:
        self.ctx.status.notify(f"Undone: {self.text()}.")
        self.ctx.apply_changes(done.changes, [done.value.name])
