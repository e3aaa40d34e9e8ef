"""What a user's change touched: the record every core action returns (as Anki's `OpChanges`).

Front ends read it instead of knowing each action's consequences: the library reloads when
`concepts` or `exemplars` is set, the photo and album views when `matches` is, the unknown-groups
listing when `groups` is. `names` are the concepts the change touched (added, edited under their
old and new names, removed, restored).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from .album.rematch import RematchReport

T = TypeVar("T")


@dataclass(frozen=True)
class Changes:
    concepts: bool = False  # a concept added, edited, removed or restored (names, info, category)
    exemplars: bool = False  # a concept's photos (a cover, a vector) added or removed
    corrections: bool = False  # the correction log (a decision of the user's) changed: undo differs
    matches: bool = False  # match rows may differ, or the names they show: photo and album views
    groups: bool = False  # the unmatched regions, hence the unknown groups, may differ
    captions: bool = False  # stored captions changed
    names: tuple[str, ...] = ()
    rematch: RematchReport | None = None  # the album's re-match that followed (None: nothing stored)

    def __or__(self, other: Changes) -> Changes:
        """Both changes at once (flags or'ed, names joined in order, the later re-match kept)."""
        flags = {f: getattr(self, f) or getattr(other, f) for f in FLAGS}
        names = tuple(dict.fromkeys(self.names + other.names))
        return replace(self, **flags, names=names, rematch=other.rematch or self.rematch)

    @property
    def decisions_changed(self) -> int:
        """Accepted (region, concept) pairs the re-match made appear or go."""
        return self.rematch.changed if self.rematch is not None else 0


FLAGS = ("concepts", "exemplars", "corrections", "matches", "groups", "captions")
LISTED = Changes(concepts=True)  # the library's list was (re)loaded: its names may differ
ANYTHING = Changes(**dict.fromkeys(FLAGS, True))  # a change failed half-way: look at everything again


@dataclass(frozen=True)
class Done(Generic[T]):
    """An action's own result (the correction, the added concept, the import report) and its changes."""

    value: T
    changes: Changes
