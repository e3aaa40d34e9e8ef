"""The timeline's arithmetic: days and months from photo times (newest first), tiles sharing the
whole width, and the lookups the view makes (a row's place, the row at a point, the rows in a band,
the tile above and below, the month under the scrubber)."""

from __future__ import annotations

import calendar
import itertools
import random
from datetime import datetime

import pytest

from rap_desktop.ui.album.result_order import BY_DATE, THIN_FROM, arrange
from rap_desktop.ui.album.timeline_layout import (
    GAP,
    MARGIN,
    MIN_TILE,
    Section,
    TimelineLayout,
    by_day,
    by_month,
    flat,
)


def _at(text: str) -> float:
    return float(calendar.timegm(datetime.strptime(text, "%Y-%m-%d %H:%M").timetuple()))


TIMES = [
    _at("2025-07-19 18:00"),
    _at("2025-07-19 09:00"),
    _at("2025-07-18 23:59"),
    _at("2025-07-01 00:00"),
    _at("2025-06-30 12:00"),
    _at("2024-12-24 10:00"),
    None,
    None,
]


def test_days_newest_first_with_a_month_heading_where_each_month_starts() -> None:
    sections = by_day(TIMES)
    assert [(s.first, s.count) for s in sections] == [(0, 2), (2, 1), (3, 1), (4, 1), (5, 1), (6, 2)]
    assert [s.title for s in sections] == [
        "Saturday 19 July",
        "Friday 18 July",
        "Tuesday 1 July",
        "Monday 30 June",
        "Tuesday 24 December",
        "No date",
    ]
    assert [s.month for s in sections] == ["July 2025", "", "", "June 2025", "December 2024", ""]
    assert [s.month_key for s in sections] == ["2025-07", "2025-07", "2025-07", "2025-06", "2024-12", ""]
    assert by_day([]) == [] and flat(0) == [] and flat(3) == [Section(0, 3)]


def test_months_with_their_counts() -> None:
    sections = by_month(TIMES)
    assert [(s.first, s.count) for s in sections] == [(0, 4), (4, 1), (5, 1), (6, 2)]
    assert [(s.month, s.title) for s in sections] == [
        ("July 2025", "4 photos"),
        ("June 2025", "1 photo"),
        ("December 2024", "1 photo"),
        ("", "No date"),
    ]
    assert [s.month_key for s in sections] == ["2025-07", "2025-06", "2024-12", ""]


class _Hit:
    def __init__(self, n: int, taken: float) -> None:
        self.path, self.taken = f"/album/{n:05d}.jpg", taken


def test_results_spread_thin_are_shown_by_month_close_ones_by_day() -> None:
    day = 86400.0
    start = _at("2016-07-01 12:00")
    thin = [_Hit(n, start + n * 9 * day) for n in range(THIN_FROM)]  # a photo every 9 days: "beach" over years
    photos, sections = arrange(thin, BY_DATE)
    assert sections is not None and sections == by_month([p.taken for p in photos])
    assert len(sections) < len(thin) / 2 and sum(s.count for s in sections) == len(thin)
    close = [_Hit(n, start + (n % 10) * day + n) for n in range(THIN_FROM)]  # six photos a day on ten days
    photos, sections = arrange(close, BY_DATE)
    assert sections == by_day([p.taken for p in photos]) and len(sections) == 10
    few = thin[: THIN_FROM - 1]  # a short list keeps its days, one heading each
    photos, sections = arrange(few, BY_DATE)
    assert sections == by_day([p.taken for p in photos])


@pytest.mark.parametrize("width", [300, 471, 800, 1023, 1377, 2560])
def test_tiles_share_the_whole_width_at_any_size(width: int) -> None:
    grid = TimelineLayout(by_day([TIMES[0]] * 40), width)  # one day: its first line is full
    assert grid.tile >= MIN_TILE or grid.columns == 1
    assert grid.tile < MIN_TILE * 2 + GAP  # one more column would fit otherwise
    rects = [grid.rect(row) for row in range(grid.columns)]
    assert rects[0][0] == MARGIN
    right = rects[-1][0] + rects[-1][2]
    assert width - MARGIN - 1 <= right <= width - MARGIN  # the last column ends at the margin (rounding: 1 px)
    assert all(b[0] - (a[0] + a[2]) in (GAP, GAP + 1) for a, b in itertools.pairwise(rects))


def test_lookups_agree_on_a_big_timeline() -> None:
    rng = random.Random(3)
    day, times = _at("2025-07-19 12:00"), []
    while len(times) < 50_000:  # a day every few days, a few to a few dozen photos each
        times += [day - i * 60.0 for i in range(rng.randint(1, 40))]
        day -= 86_400 * rng.randint(1, 6)
    grid = TimelineLayout(by_day(times[:50_000]), 1200)
    assert grid.count() == 50_000
    for row in rng.sample(range(50_000), 400):
        x, y, w, h = grid.rect(row)
        assert grid.row_at(x + w // 2, y + h // 2) == row
        assert grid.row_at(x + w + GAP // 2, y) == -1 or (x + w + GAP // 2) >= grid.width  # the gap is no tile
        assert row in set(grid.rows_between(y, y + 1))
        below, above = grid.below(row), grid.above(row)
        assert grid.rect(below)[1] > y or below == row == 49_999 or grid.section_of(row) == len(grid.sections) - 1
        assert grid.rect(above)[1] < y or grid.section_of(row) == 0
    top = grid.height // 3
    band = list(grid.rows_between(top, top + 700))
    assert band == sorted(band) and 0 < len(band) < 200  # a screen's worth, not the album
    headings = [grid.row_at(MARGIN + 5, grid.tops[i] + 5) for i in range(10)]
    assert headings == [-1] * 10  # a heading is no photo


def test_scrubber_jumps_to_the_first_day_of_a_month_and_marks_each_year() -> None:
    grid = TimelineLayout(by_day(TIMES), 800)
    # anywhere in July 2025's days: its first (newest) day; in June: June's
    for section in (0, 1, 2):
        assert grid.month_start(grid.tops[section] + 10) == 0
    assert grid.month_start(grid.tops[3] + 10) == 3
    assert grid.month_start(grid.tops[5] + 10) == 5  # undated: its own section
    assert [year for _y, year in grid.years()] == ["2025", "2024"]
    assert grid.years()[1][0] == grid.tops[4]
