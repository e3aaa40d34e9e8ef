"""Behind the "Who's this?" window: the next question (store lane), its big crops (io lane) and the
undoable answers (each a core action on the store lane; its undo takes back its correction-log entry).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QUndoCommand

from rap_desktop.core import review
from rap_desktop.core.actions import review as review_actions
from rap_desktop.core.changes import Changes, Done
from rap_desktop.core.errors import RapError
from rap_desktop.core.group_naming import Sample
from rap_desktop.core.images import crop_box, load_image
from rap_desktop.core.session import Session

from ..context import AppContext
from ..photo.undo_commands import LoggedCommand
from ..runtime.thumbnails import pil_to_qimage

TILE = 176  # px, the longer side of one crop (at least 128: a face must be recognisable)
QUEUE = 50  # questions looked at ahead (the "left" count says "50 or more" beyond)


@dataclass(frozen=True)
class Asked:
    question: review.Question
    cover: str | None  # a photo of the suggested concept, to compare with
    left: int  # questions in the queue now, this one included


def next_question(
    session: Session, group_threshold: float, min_size: int, skipped: frozenset[str], prefer: str | None = None
) -> Asked | None:
    """Store lane: the question to ask now (`prefer`, one just undone, while it still stands)."""
    store, model = session.store(), session.embedder.model_id
    settings = review_actions.settings(session, group_threshold, min_size)
    first, left = review.ahead(store, model, settings, skipped, limit=QUEUE)  # one question built, the rest counted
    asked = None
    if prefer is not None:
        try:
            asked = review.question(store, model, settings, prefer)
        except RapError:
            asked = None
    asked = asked or first
    if asked is None:
        return None
    return Asked(asked, _cover(session, asked.suggested), max(left, 1))


def _cover(session: Session, name: str | None) -> str | None:
    if not name:
        return None
    store = session.store()
    exemplars = store.exemplars(name) if store.find_concept(name) else []
    return str(store.image_path(exemplars[0].image)) if exemplars else None


def fit(image: Image.Image, size: int = TILE) -> Image.Image:
    """The image scaled (up or down) so its longer side is `size`, aspect kept."""
    scale = size / max(image.size)
    width, height = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    return image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)


def crops(
    samples: Sequence[Sample], cover: str | None, context: bool = False, size: int = TILE
) -> tuple[list[QImage | None], QImage | None, QImage | None]:
    """io lane: each sample's crop at `size` (None where its photo cannot be read: a tile stays empty,
    no error box for a preview), the cover photo likewise, and with `context` the first sample's whole
    photo with its box drawn (where in the photo it is)."""
    decoded: dict[str, Any] = {}
    out: list[QImage | None] = []
    for sample in samples:
        try:
            if not sample.path:
                raise RapError("the photo has moved")
            if sample.path not in decoded:
                decoded[sample.path] = load_image(sample.path).image
            out.append(pil_to_qimage(fit(crop_box(decoded[sample.path], sample.box), size)))
        except (RapError, OSError, ValueError):
            out.append(None)
    try:
        shown = pil_to_qimage(fit(load_image(cover).image, size)) if cover else None
    except (RapError, OSError, ValueError):
        shown = None
    first = samples[0] if samples else None
    where = _in_photo(decoded[first.path], first.box, size) if context and first and first.path in decoded else None
    return out, shown, where


def _in_photo(photo: Image.Image, box: tuple[float, float, float, float], size: int) -> QImage:
    """The whole photo at `size` with the box outlined."""
    image = pil_to_qimage(fit(photo, size))
    scale = image.width() / photo.width
    painter = QPainter(image)
    pen = QPen(QColor(255, 196, 0))
    pen.setWidth(3)
    painter.setPen(pen)
    x1, y1, x2, y2 = (v * scale for v in box)
    painter.drawRect(QRectF(x1, y1, x2 - x1, y2 - y1))
    painter.end()
    return image


def answer_words(asked: review.Question, word: str, name: str | None) -> str:
    """An answer as the undo stack names it (Edit ▸ Undo …): plain words."""
    who = name or asked.suggested or "it"
    return {
        "yes": f"Yes, this is {who}",
        "no": f"No, this is not {who}",
        "hide": "Hide a stranger",
        "skip": "Skip a question",
    }.get(word, f"This is {who}")


class AnswerCommand(LoggedCommand):
    """One answer to a question (yes, no, a name, hide); undo takes back its correction exactly, redo
    answers the very same regions again."""

    def __init__(
        self,
        ctx: AppContext,
        asked: review.Question,
        word: str,
        info: str = "",
        category: str | None = None,
        after: Callable[[str | None], None] | None = None,
    ) -> None:
        super().__init__(ctx, answer_words(asked, word, None if word in review.WORDS else word))
        self.asked, self.word, self.info, self.category = asked, word, info, category
        self.after = after  # the window asks the next question (None) or this one again (its id)

    def act(self, session: Session) -> tuple[Done, int | None]:
        done = review_actions.answer(session, self.asked, self.word, self.info, self.category)
        return done, done.value.correction

    def applied(self, done: Done) -> None:
        self.ctx.status.notify(f"{self.text()}. Undo with Ctrl+Z.")
        self.ctx.apply_changes(done.changes, [done.value.concept] if done.value.concept else None)
        if self.after is not None:
            self.after(None)

    def reverted(self, done: Done | None) -> None:
        if done is not None:
            self.ctx.status.notify(f"Undone: {self.text()}.")
        changes = done.changes if done is not None else Changes(concepts=True, matches=True, groups=True)
        self.ctx.apply_changes(changes, None)
        if self.after is not None:
            self.after(self.asked.id)

    def _apply_failed(self, message: str) -> None:
        super()._apply_failed(message)
        if self.after is not None:
            self.after(None)


class SkipCommand(QUndoCommand):
    """Skip: the question is not asked again while the window is open; undo asks it again."""

    def __init__(self, skipped: set[str], question: str, after: Callable[[str | None], None]) -> None:
        super().__init__("Skip a question")
        self.skipped, self.question, self.after = skipped, question, after

    def redo(self) -> None:
        self.skipped.add(self.question)
        self.after(None)

    def undo(self) -> None:
        self.skipped.discard(self.question)
        self.after(self.question)
