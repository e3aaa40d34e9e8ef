"""The album's search row finds: a description lists the photos above the relevance cut with a true
count, "Show N more" adds the next ones, and several concepts search "all together" or "only them".
Package photos, tiny real-format models, a real window."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from rap_desktop.core import corrections
from rap_desktop.core.album import rematch
from rap_desktop.core.album import search as album_search
from rap_desktop.core.session import Session
from rap_desktop.devtools.synthetic_album import make_album, source_photos
from rap_desktop.ui.album.album_model import PhotoRole
from rap_desktop.ui.album.album_ops import Listing
from rap_desktop.ui.album.album_view import AlbumPage
from rap_desktop.ui.album.result_order import BEST_FIRST, BY_DATE
from rap_desktop.ui.album.search_bar import count_text
from rap_desktop.ui.main_window import MainWindow

from .album_window import WAIT, album_page, index_album, listed_paths
from .album_window import strict_config as _strict_config
from .album_window import win as _win

strict_config, win = _strict_config, _win  # the fixtures, shared


@pytest.fixture(scope="module")
def package_album(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("album-search") / "album"
    folder.mkdir()
    for photo in source_photos():
        shutil.copyfile(photo, folder / photo.name)
    make_album(folder / "more", 30, seed=5, max_side=160)
    return folder


def _day(taken: float | None) -> str:
    return "No date" if taken is None else time.strftime("%Y-%m-%d", time.gmtime(taken))


def _assert_by_date(page: AlbumPage) -> None:
    """The grid shows its photos as the timeline does: newest first, each day once under its heading
    (the heading names that day), a month heading where a month starts."""
    photos = [page.model.photo(r) for r in range(page.model.rowCount())]
    dated = [p.taken for p in photos if p.taken is not None]
    assert dated == sorted(dated, reverse=True) and all(p.taken is None for p in photos[len(dated) :])
    sections = page.grid.grid.sections
    assert sum(s.count for s in sections) == len(photos)
    days = []
    for section in sections:
        under = {_day(p.taken) for p in photos[section.first : section.first + section.count]}
        assert len(under) == 1, under
        day = under.pop()
        if day != "No date":
            moment = time.strptime(day, "%Y-%m-%d")
            assert section.title.endswith(f" {moment.tm_mday} {time.strftime('%B', moment)}")
        days.append(day)
    assert len(days) == len(set(days))  # each day once
    assert sections[0].month or sections[0].title == "No date"  # the newest month's heading on top


def test_a_description_narrows_counts_true_and_shows_more(qtbot, win: MainWindow, package_album: Path) -> None:
    page = album_page(win)
    index_album(qtbot, page, [package_album])
    total = page.model.rowCount()
    assert page.count_label.text() == f"{total} photos" and not page.search_options.more_button.isVisible()

    with qtbot.waitSignal(page.listed, timeout=WAIT):
        page.text_edit.setText("a bus in the street")
    session = win.test_session
    expected = album_search.TextSearch(session.store(), session.embedder).search("a bus in the street")
    found = page.model.rowCount()
    assert 0 < found == expected.found < total  # narrowed to the photos above the cut
    assert sorted(listed_paths(page)) == sorted(h.path for h in expected.hits)
    _assert_by_date(page)  # by date, as the timeline
    assert page.count_label.text() == f"{found} photo{'' if found == 1 else 's'} like “a bus in the street”"
    left = total - found
    button = page.search_options.more_button
    assert button.isVisible() and button.text() == f"Show {min(album_search.MORE, left)} more"

    with qtbot.waitSignal(page.listed, timeout=WAIT):
        button.click()
    shown = found + min(album_search.MORE, left)
    assert page.model.rowCount() == shown and page.count_label.text() == f"{shown} photos like “a bus in the street”"
    ranked = album_search.TextSearch(session.store(), session.embedder).search("a bus in the street", more=shown)
    assert sorted(listed_paths(page)) == sorted(h.path for h in ranked.hits[:shown])  # the next ones below the cut
    _assert_by_date(page)  # among their days
    while button.isVisible():
        with qtbot.waitSignal(page.listed, timeout=WAIT):
            button.click()
    assert page.model.rowCount() == total and page.count_label.text() == f"{total} photos like “a bus in the street”"

    with qtbot.waitSignal(page.listed, timeout=WAIT):  # a new description starts again at the cut
        page.text_edit.setText("an astronaut")
    again = album_search.TextSearch(session.store(), session.embedder).search("an astronaut")
    assert page.model.rowCount() == again.found < total and button.isVisible() == (again.more > 0)


def test_several_concepts_together_or_only_them(qtbot, win: MainWindow, package_album: Path) -> None:
    page = album_page(win)
    index_album(qtbot, page, [package_album])
    session = win.test_session
    files = [package_album / n for n in ("chelsea.png", "bus.jpg", "rocket.jpg")]

    def register(session: Session) -> None:  # a strict threshold: each concept matches its own photo only
        store = session.store()
        for name, file in zip(("mimi", "bus", "rocket"), files, strict=True):
            store.add_concept(name, file, "", "thing")
        rematch.after_change(session)
        hits = {n: album_search.by_concept(store, n)[0] for n in ("mimi", "bus", "rocket")}
        rows = store.conn.execute("SELECT id FROM photos WHERE sha256 = ?", (hits["rocket"].sha256,)).fetchone()
        free = [
            f"r{o}"
            for (o,) in store.conn.execute("SELECT ordinal FROM regions WHERE photo_id = ? ORDER BY ordinal", rows)
            if f"r{o}" != hits["rocket"].region
        ]
        corrections.reassign(store, hits["mimi"].sha256, "r1" if hits["mimi"].region != "r1" else "r2", "bus")
        corrections.reassign(store, hits["rocket"].sha256, free[0], "mimi")
        corrections.reassign(store, hits["rocket"].sha256, free[1], "bus")

    with qtbot.waitSignal(win.concepts_loaded, timeout=WAIT):
        win.runner.submit(register, session, on_done=lambda _r: win.refresh())
    options = page.search_options
    assert not options.also_button.isVisible()  # "and…" once a first concept is chosen
    with qtbot.waitSignal(page.listed, timeout=WAIT):
        page.concept_box.setCurrentIndex(page.concept_box.findData("mimi"))
    assert options.also_button.isVisible() and options.action_for("mimi") is None  # not twice
    assert sorted(listed_paths(page)) == sorted(map(str, (files[0], files[2])))

    with qtbot.waitSignal(page.listed, timeout=WAIT):
        options.action_for("bus").trigger()  # and bus: together
    assert options.also_button.text() == "and bus ▾"
    assert sorted(listed_paths(page)) == sorted(map(str, (files[0], files[2])))
    assert page.count_label.text() == "2 photos with mimi and bus"

    with qtbot.waitSignal(page.listed, timeout=WAIT):
        options.how_box.setCurrentIndex(options.how_box.findData(album_search.ONLY))
    assert listed_paths(page) == [str(files[0])]  # the rocket photo has a third concept
    assert page.count_label.text() == "1 photo with only mimi and bus"

    with qtbot.waitSignal(page.listed, timeout=WAIT):
        options.action_for("rocket").trigger()
    assert listed_paths(page) == [str(files[2])] and page.count_label.text() == "1 photo with only mimi, bus and rocket"
    with qtbot.waitSignal(page.listed, timeout=WAIT):
        page.concept_box.setCurrentIndex(0)  # all photos: the extra choices no longer apply
    assert page.model.rowCount() > 3 and not options.also_button.isVisible()
    with qtbot.waitSignal(page.listed, timeout=WAIT):
        page.concept_box.setCurrentIndex(page.concept_box.findData("bus"))
    count = len(listed_paths(page))  # bus's own photo and the two it was put in
    assert options.extra == [] and options.how() == album_search.TOGETHER
    assert count == 3 and page.count_label.text() == "3 photos with bus"
    _assert_by_date(page)  # a concept's photos under their days too


def test_results_by_date_or_best_matches_first(qtbot, win: MainWindow, package_album: Path) -> None:
    page = album_page(win)
    index_album(qtbot, page, [package_album])
    options = page.search_options
    assert not options.order_box.isVisible()  # the whole album is always by date
    with qtbot.waitSignal(page.listed, timeout=WAIT):
        page.text_edit.setText("an astronaut")
    session = win.test_session
    expected = album_search.TextSearch(session.store(), session.embedder).search("an astronaut")
    assert options.order_box.isVisible() and options.order() == BY_DATE  # by date unless chosen otherwise
    assert not page.add_button.isVisible()  # the row holds the results' count and choices
    count = page.model.rowCount()
    assert count == expected.found and sorted(listed_paths(page)) == sorted(h.path for h in expected.hits)
    assert page.count_label.text() == f"{count} photo{'' if count == 1 else 's'} like “an astronaut”"
    _assert_by_date(page)
    assert all(s.title for s in page.grid.grid.sections)  # every photo under a day's heading

    with qtbot.waitSignal(page.listed, timeout=WAIT):
        options.order_action(BEST_FIRST).trigger()
    assert listed_paths(page) == [h.path for h in expected.hits]  # the best match first, as ranked
    assert [(s.first, s.count, s.title) for s in page.grid.grid.sections] == [(0, count, "")]
    assert page.count_label.text().startswith(f"{count} photo")  # the same photos, the same count
    assert win.ctx.settings.value("album/search_order") == BEST_FIRST  # remembered for the next search
    assert options.order_box.text() == "Best matches first ▾"

    with qtbot.waitSignal(page.listed, timeout=WAIT):
        options.order_action(BY_DATE).trigger()
    assert sorted(listed_paths(page)) == sorted(h.path for h in expected.hits)
    _assert_by_date(page)
    with qtbot.waitSignal(page.listed, timeout=WAIT):
        page.text_edit.clear()
    assert page.model.rowCount() > count and not options.order_box.isVisible() and page.add_button.isVisible()
    _assert_by_date(page)


def test_clearing_the_search_returns_to_the_same_place(qtbot, win: MainWindow, package_album: Path) -> None:
    page = album_page(win)
    index_album(qtbot, page, [package_album])
    grid, bar = page.grid, page.grid.verticalScrollBar()
    total = page.model.rowCount()
    assert bar.maximum() > 0
    bar.setValue(bar.maximum() * 2 // 3)  # somewhere down the timeline, a photo there chosen
    top, height = grid.verticalOffset(), grid.viewport().height()
    inside = [r for r in grid.grid.rows_between(top, top + height) if grid.viewport().rect().contains(
        grid.visualRect(page.model.index(r)))]  # fmt: skip
    chosen = inside[len(inside) // 2]
    grid.setCurrentIndex(page.model.index(chosen))
    offset, place, photo = bar.value(), grid.place(), page.model.photo(chosen)
    assert offset > 0 and place.sha256

    with qtbot.waitSignal(page.listed, timeout=WAIT):
        page.text_edit.setText("a bus in the street")
    assert 0 < page.model.rowCount() < total and page.model.listing.text
    assert bar.value() == 0  # a new search starts at its top
    with qtbot.waitSignal(page.listed, timeout=WAIT):
        page.text_edit.clear()
    assert not page.model.listing.text
    assert bar.value() == offset and grid.place() == place  # the same photos at the same height
    assert grid.currentIndex().data(PhotoRole) == photo  # and the same photo chosen


def test_a_long_description_is_shortened_in_the_count() -> None:
    long = "grandma and grandpa on the beach at sunset with the dog"
    text = count_text(Listing([], text=long))
    assert text.startswith("0 photos like “grandma and grandpa on the beach") and text.endswith("…”")
    assert len(text) < len(long) and count_text(Listing([], text="a cat")) == "0 photos like “a cat”"
