"""Behind the unknown-groups dialog: the listing (store lane), the sample crops (io lane) and the
undoable naming and hiding (StoreCommands: their redo and undo are core actions on the store lane;
the album re-matches within them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter

from rap_desktop.core import actions, group_naming
from rap_desktop.core.changes import Changes, Done
from rap_desktop.core.errors import RapError
from rap_desktop.core.images import crop_box, load_image, thumbnail
from rap_desktop.core.session import Session

from ..context import AppContext
from ..photo.undo_commands import LoggedCommand, StoreCommand
from ..runtime.thumbnails import pil_to_qimage

CROP = 72  # px, one sample in the strip


def find_groups(session: Session, threshold: float, min_size: int) -> list[group_naming.Shown]:
    """Store lane: cluster the unmatched regions and say what to show of each group."""
    store = session.store()
    return group_naming.find(store, session.embedder.model_id, threshold, min_size)


def sample_strip(samples: Sequence[group_naming.Sample], slots: int = 6, size: int = CROP, gap: int = 4) -> QImage:
    """io lane: the samples' crops side by side on a transparent strip of `slots` places, so rows line
    up (a photo that cannot be read leaves its place empty: a preview is no reason for an error dialog)."""
    strip = QImage(max(slots, len(samples)) * (size + gap), size, QImage.Format.Format_ARGB32_Premultiplied)
    strip.fill(Qt.GlobalColor.transparent)
    painter = QPainter(strip)
    decoded: dict[str, Any] = {}
    for n, sample in enumerate(samples):
        if not sample.path:
            continue
        try:
            if sample.path not in decoded:
                decoded[sample.path] = load_image(sample.path).image
            crop = pil_to_qimage(thumbnail(crop_box(decoded[sample.path], sample.box), size))
        except (RapError, OSError, ValueError):
            continue
        painter.drawImage(n * (size + gap) + (size - crop.width()) // 2, (size - crop.height()) // 2, crop)
    painter.end()
    return strip


def as_grid(strip: QImage, columns: int = 3, size: int = CROP, gap: int = 4) -> QImage:
    """GUI thread (a few small copies): a strip's places in rows of `columns`, for the naming dialog."""
    places = max(1, strip.width() // (size + gap))
    rows = -(-places // columns)
    grid = QImage(columns * (size + gap), rows * (size + gap), QImage.Format.Format_ARGB32_Premultiplied)
    grid.fill(Qt.GlobalColor.transparent)
    painter = QPainter(grid)
    for n in range(places):
        cell = strip.copy(n * (size + gap), 0, size + gap, size)
        painter.drawImage((n % columns) * (size + gap), (n // columns) * (size + gap), cell)
    painter.end()
    return grid


class NameGroupCommand(StoreCommand):
    """Name a group (a new concept: one exemplar, every member confirmed, then re-match); undo
    removes the concept and re-matches; redo names the very same regions again."""

    def __init__(
        self,
        ctx: AppContext,
        shown: group_naming.Shown,
        name: str,
        info: str,
        category: str,
        listing_changed: Callable[[], None],
    ) -> None:
        super().__init__(ctx, f"Name {shown.group.size} look-alike regions {name}")
        self.model, self.regions = shown.model, shown.group.regions
        self.name, self.info, self.category = name, info, category
        self.listing_changed = listing_changed  # the dialog lists again after each change
        self.named: str | None = None  # set on the store lane by apply, cleared by revert

    def apply(self, session: Session) -> Any:
        self.named = None  # a failed apply leaves nothing for its undo to take back
        done = actions.name_regions(session, self.model, self.regions, self.name, self.info, self.category or None)
        self.named = done.value.concept
        return done

    def revert(self, session: Session) -> Any:
        if self.named is None:
            return None  # the naming itself failed: nothing to take back
        done = actions.unname_group(session, self.named)
        self.named = None
        return done

    def applied(self, done: Done) -> None:
        named = done.value
        self.ctx.status.notify(
            f"Named {named.concept}: {named.confirmed} places in your photos, the album looked again. Undo with Ctrl+Z."
        )
        self.ctx.apply_changes(done.changes, [named.concept])
        self.listing_changed()

    def reverted(self, done: Done | None) -> None:
        if done is not None:
            self.ctx.status.notify(f"Undone: {self.text()}; the group is unknown again.")
        self.ctx.apply_changes(done.changes if done is not None else Changes(concepts=True, matches=True), None)
        self.listing_changed()

    def _apply_failed(self, message: str) -> None:
        super()._apply_failed(message)
        self.listing_changed()


class HideGroupCommand(LoggedCommand):
    """Hide a group for good (strangers: never offered again); undo takes back that correction exactly,
    redo hides the very same regions again."""

    def __init__(self, ctx: AppContext, shown: group_naming.Shown, listing_changed: Callable[[], None]) -> None:
        super().__init__(ctx, f"Hide {shown.group.size} look-alike regions")
        self.group, self.regions = shown.group.id, shown.group.regions
        self.listing_changed = listing_changed

    def act(self, session: Session) -> tuple[Done, int | None]:
        done = actions.hide_regions(session, self.regions, self.group)
        return done, done.value.correction

    def applied(self, done: Done) -> None:
        self.ctx.status.notify(f"Hidden for good: {done.value.regions} regions. Undo with Ctrl+Z.")
        self.ctx.apply_changes(done.changes, None)
        self.listing_changed()

    def reverted(self, done: Done | None) -> None:
        if done is not None:
            self.ctx.status.notify("Undone: the group is shown again.")
        self.ctx.apply_changes(done.changes if done is not None else Changes(groups=True), None)
        self.listing_changed()

    def _apply_failed(self, message: str) -> None:
        super()._apply_failed(message)
        self.listing_changed()
