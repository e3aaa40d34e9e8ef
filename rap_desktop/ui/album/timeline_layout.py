"""Where everything sits in the timeline, as plain arithmetic (no widgets): photos grouped by day
under day and month headings, square tiles in as many columns as fit, sharing the whole width.

The layout is a list of sections (one per day, or one without a heading for search results ordered
best matches first); a photo's place is its section's top plus its line and column, so finding a
photo's rectangle, the photo under a point or the photos in a band of the view costs a binary
search over the sections, whatever the number of photos (50,000 photos: about 3,000 days)."""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

MIN_TILE = 120  # a tile is never narrower: the columns are as many as fit at this size
GAP = 4  # between tiles
MARGIN = 8  # left and right of the tiles
DAY_HEIGHT = 34  # a day's heading
MONTH_HEIGHT = 44  # a month's heading, above the first day shown of that month
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
UNDATED = "No date"


@dataclass(frozen=True)
class Section:
    """Photos `first` .. `first + count - 1` (model rows), under `title` (a day) and, when the section
    opens a month, `month` above it. `month_key` ("2024-06") is the scrubber's; "" when undated."""

    first: int
    count: int
    title: str = ""
    month: str = ""
    month_key: str = ""


def day_title(moment: time.struct_time, year_shown: bool) -> str:
    text = f"{DAYS[moment.tm_wday]} {moment.tm_mday} {MONTHS[moment.tm_mon - 1]}"
    return f"{text} {moment.tm_year}" if year_shown else text


def month_title(moment: time.struct_time) -> str:
    return f"{MONTHS[moment.tm_mon - 1]} {moment.tm_year}"


def by_day(taken: Sequence[float | None]) -> list[Section]:
    """Sections of consecutive photos taken the same day (times are wall clock read as UTC), newest
    first as given; undated photos together under "No date". A month heading opens each new month."""
    sections: list[Section] = []
    start, key, last_month = 0, None, None
    for row, when in enumerate([*taken, ...]):  # the sentinel closes the last section
        day = None if when is None or when is ... else int(when // 86400)
        if row and (when is ... or day != key):
            sections.append(_section(start, row - start, key, last_month))
            if key is not None:
                last_month = _month_key(key)
            start = row
        key = day
    return sections


def _month_key(day: int) -> str:
    moment = time.gmtime(day * 86400)
    return f"{moment.tm_year:04d}-{moment.tm_mon:02d}"


def _section(first: int, count: int, day: int | None, last_month: str | None) -> Section:
    if day is None:
        return Section(first, count, UNDATED)
    moment = time.gmtime(day * 86400)
    key = _month_key(day)
    return Section(first, count, day_title(moment, False), month_title(moment) if key != last_month else "", key)


def by_month(taken: Sequence[float | None]) -> list[Section]:
    """Sections of consecutive photos taken the same month, each under its month heading with the
    month's count below it ("July 2024" / "3 photos"); undated photos together under "No date"."""
    sections: list[Section] = []
    start, key = 0, None
    for row, when in enumerate([*taken, ...]):
        month = None if when is None or when is ... else _month_key(int(when // 86400))
        if row and (when is ... or month != key):
            count = row - start
            if key is None:
                sections.append(Section(start, count, UNDATED))
            else:
                year, number = key.split("-")
                words = f"{count} photo{'' if count == 1 else 's'}"
                sections.append(Section(start, count, words, f"{MONTHS[int(number) - 1]} {year}", key))
            start = row
        key = month
    return sections


def flat(count: int) -> list[Section]:
    """One section without a heading: search results best matches first, in their own order."""
    return [Section(0, count)] if count else []


class TimelineLayout:
    """The tiles' and headings' places for one width, in content pixels (y grows down the timeline)."""

    def __init__(self, sections: Sequence[Section], width: int, min_tile: int = MIN_TILE) -> None:
        self.sections = list(sections)
        self.width = max(width, 1)
        usable = max(self.width - 2 * MARGIN, 1)
        self.columns = max(1, (usable + GAP) // (min_tile + GAP))
        self._pitch = (usable + GAP) / self.columns  # a column's width with its gap: the width is all used
        self.tile = int(self._pitch - GAP)
        self.line = self.tile + GAP
        self.firsts = [s.first for s in self.sections]
        self.tops: list[int] = []  # each section's heading top
        self.grids: list[int] = []  # each section's first line of tiles
        y = 0
        for section in self.sections:
            self.tops.append(y)
            y += self.heading_height(section)
            self.grids.append(y)
            y += self.lines(section) * self.line + (GAP * 2 if section.title else 0)
        self.height = y + MARGIN
        self._years: list[tuple[int, str]] | None = None

    @staticmethod
    def heading_height(section: Section) -> int:
        return (MONTH_HEIGHT if section.month else 0) + (DAY_HEIGHT if section.title else GAP)

    def lines(self, section: Section) -> int:
        return -(-section.count // self.columns)

    def count(self) -> int:
        last = self.sections[-1] if self.sections else None
        return last.first + last.count if last else 0

    # --- from a row ------------------------------------------------------------------------------

    def section_of(self, row: int) -> int:
        return max(0, bisect.bisect_right(self.firsts, row) - 1)

    def place(self, row: int) -> tuple[int, int]:
        """(line within its section, column) of a row."""
        at = row - self.sections[self.section_of(row)].first
        return divmod(at, self.columns)

    def rect(self, row: int) -> tuple[int, int, int, int]:
        """(x, y, width, height) of a row's tile."""
        index = self.section_of(row)
        line, column = divmod(row - self.sections[index].first, self.columns)
        x = MARGIN + round(column * self._pitch)
        return x, self.grids[index] + line * self.line, self.tile, self.tile

    # --- from a place ----------------------------------------------------------------------------

    def section_at(self, y: int) -> int:
        return max(0, bisect.bisect_right(self.tops, y) - 1)

    def row_at(self, x: int, y: int) -> int:
        """The row whose tile holds the point, else -1 (a heading, a gap, beyond the end)."""
        if not self.sections:
            return -1
        index = self.section_at(y)
        section = self.sections[index]
        inside = y - self.grids[index]
        if inside < 0 or inside % self.line >= self.tile:
            return -1
        column = int((x - MARGIN) // self._pitch)
        if column < 0 or column >= self.columns or (x - MARGIN) - round(column * self._pitch) >= self.tile:
            return -1
        at = inside // self.line * self.columns + column
        return section.first + at if at < section.count else -1

    def sections_between(self, top: int, bottom: int) -> range:
        if not self.sections:
            return range(0)
        return range(self.section_at(top), min(len(self.sections), self.section_at(bottom) + 1))

    def rows_between(self, top: int, bottom: int) -> Iterator[int]:
        """Every row whose tile reaches into the band [top, bottom), in order."""
        for index in self.sections_between(top, bottom):
            section, grid = self.sections[index], self.grids[index]
            first_line = max(0, (top - grid) // self.line)
            last_line = min(self.lines(section) - 1, (bottom - grid) // self.line)
            start = section.first + first_line * self.columns
            end = min(section.first + section.count, section.first + (last_line + 1) * self.columns)
            yield from range(start, end)

    # --- the keyboard ----------------------------------------------------------------------------

    def below(self, row: int) -> int:
        """The tile under this one: the next line, in the next day when this one ends (the nearest
        column there)."""
        index = self.section_of(row)
        section = self.sections[index]
        line, column = divmod(row - section.first, self.columns)
        if line + 1 < self.lines(section):
            return min(section.first + (line + 1) * self.columns + column, section.first + section.count - 1)
        if index + 1 < len(self.sections):
            nxt = self.sections[index + 1]
            return nxt.first + min(column, nxt.count - 1)
        return row

    def above(self, row: int) -> int:
        index = self.section_of(row)
        section = self.sections[index]
        line, column = divmod(row - section.first, self.columns)
        if line > 0:
            return section.first + (line - 1) * self.columns + column
        if index > 0:
            before = self.sections[index - 1]
            last_line = self.lines(before) - 1
            return min(before.first + last_line * self.columns + column, before.first + before.count - 1)
        return row

    # --- the scrubber ----------------------------------------------------------------------------

    def month_start(self, y: int) -> int:
        """The first section of the month shown at content height `y` (the scrubber jumps there)."""
        if not self.sections:
            return 0
        index = self.section_at(y)
        key = self.sections[index].month_key
        while index > 0 and self.sections[index - 1].month_key == key and not self.sections[index].month:
            index -= 1
        return index

    def years(self) -> list[tuple[int, str]]:
        """(content y, "2024") where each year's first section starts: the scrubber's marks (made once)."""
        if self._years is None:
            self._years = []
            for section, top in zip(self.sections, self.tops, strict=True):
                year = section.month_key[:4]
                if year and (not self._years or self._years[-1][1] != year):
                    self._years.append((top, year))
        return self._years
