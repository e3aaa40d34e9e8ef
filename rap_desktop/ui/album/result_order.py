"""How the album shows search results: by date like the timeline (newest first, under day and month
headings, the scrubber by months) or best matches first (one list, no headings).

By date is the default. A search here already narrows to the photos above the relevance cut, so
what is left is a set of good matches, and a family places a photo by when it was taken ("the
beach, last summer"); the same look as the timeline keeps them oriented. Best matches first stays
one choice away for a broad search whose cut lets many photos in, or after "Show more"."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol, TypeVar

from .timeline_layout import Section, by_day, by_month

BY_DATE = "date"
BEST_FIRST = "best"
ORDERS = (BY_DATE, BEST_FIRST)
# Results spread over more days than half their number ("beach" over ten summers) are shown under month
# headings: a day heading above nearly every photo made such a list several times longer to scroll.
THIN_FROM = 60


class Dated(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def taken(self) -> float | None: ...


P = TypeVar("P", bound=Dated)


def newest_first(photos: Sequence[P]) -> list[P]:
    """Newest first, undated last, a tie by path: the timeline's own order (store.album.timeline)."""
    out = sorted(photos, key=lambda p: p.path)
    out.sort(key=lambda p: -p.taken if p.taken is not None else math.inf)
    return out


def arrange(photos: Sequence[P], order: str) -> tuple[list[P], list[Section] | None]:
    """The results in `order` and their sections (None: one list without headings, as ranked)."""
    if order == BEST_FIRST:
        return list(photos), None
    dated = newest_first(photos)
    taken = [p.taken for p in dated]
    days = by_day(taken)
    if len(dated) >= THIN_FROM and len(days) * 2 > len(dated):  # spread thin: a heading for nearly every photo
        return dated, by_month(taken)
    return dated, days
