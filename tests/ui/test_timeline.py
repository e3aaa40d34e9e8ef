"""The Album tab as a timeline and its viewer, on a generated album of package photos (tiny
real-format models): day headings newest first, tiles without file names, the date scrubber, the
viewer's next/previous keys and wheel, its info panel, and Back to the same photo in the timeline."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from rap_desktop.core.album import rematch
from rap_desktop.core.session import Session
from rap_desktop.core.store import captions
from rap_desktop.devtools.synthetic_album import make_album
from rap_desktop.ui.album.album_ops import AlbumPhoto, Listing
from rap_desktop.ui.album.album_view import AlbumPage
from rap_desktop.ui.album.timeline_layout import by_day
from rap_desktop.ui.main_window import MainWindow

from .windows import shown_window

WAIT = 60_000
N = 12


@pytest.fixture(scope="module")
def album(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    folder = tmp_path_factory.mktemp("timeline") / "Family photos"
    return folder, make_album(folder, N, seed=8, max_side=640)


@pytest.fixture
def win(qtbot, home: Path, tiny_config: Path, tmp_path: Path) -> Iterator[MainWindow]:
    opened = Session.open(home, tiny_config)
    window = shown_window(qtbot, opened, tmp_path / "ui.ini", timeout=WAIT)
    window.test_session = opened
    yield window
    window.close()
    opened.close()


def _indexed(qtbot, win: MainWindow, folder: Path) -> AlbumPage:
    page = win.album
    win.tabs.show_album()
    with qtbot.waitSignal(page.indexer.finished, timeout=WAIT):
        page.add_folders([str(folder)])
    qtbot.waitUntil(lambda: page.model.rowCount() == N, timeout=WAIT)
    return page


def _day(taken: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(taken))


def test_days_under_headings_newest_first_without_file_names(qtbot, win: MainWindow, album) -> None:
    folder, files = album
    page = _indexed(qtbot, win, folder)
    model, grid = page.model, page.grid
    photos = [model.photo(r) for r in range(N)]
    # newest first, and each heading is the day of the photos under it, in that order
    assert [p.taken for p in photos] == sorted((p.taken for p in photos), reverse=True)
    sections = grid.grid.sections
    assert sum(s.count for s in sections) == N and [s.first for s in sections] == sorted(s.first for s in sections)
    days = []
    for section in sections:
        under = {_day(p.taken) for p in photos[section.first : section.first + section.count]}
        assert len(under) == 1
        day = under.pop()
        moment = time.strptime(day, "%Y-%m-%d")
        assert section.title.endswith(f" {moment.tm_mday} {time.strftime('%B', moment)}")
        days.append(day)
    assert days == sorted(days, reverse=True) and len(set(days)) == len(days)
    months = [s.month for s in sections if s.month]
    assert months[0] == time.strftime("%B %Y", time.strptime(days[0], "%Y-%m-%d"))
    # a heading sits above its first tile, never over it
    for index, section in enumerate(sections):
        tile = grid.visualRect(model.index(section.first))
        assert grid.grid.tops[index] - grid.verticalOffset() < tile.top()
    # no file names on the tiles: no text per tile at all; the name is in the tooltip
    names = {f.name for f in files}
    for row in range(N):
        index = model.index(row)
        assert index.data(Qt.ItemDataRole.DisplayRole) is None
        assert photos[row].path.rsplit("/", 1)[1] in index.data(Qt.ItemDataRole.ToolTipRole)
    assert len(names) == N
    # the tiles use the width: the last column ends at the view's right margin
    width = grid.viewport().width()
    right = max(grid.visualRect(model.index(r)).right() for r in range(sections[0].count))
    assert sections[0].count < grid.grid.columns or right >= width - 10
    win.resize(900, 800)
    qtbot.waitUntil(lambda: grid.viewport().width() != width, timeout=WAIT)
    assert grid.grid.width == grid.viewport().width()


def test_scrubber_jumps_to_a_month_and_says_which(qtbot, win: MainWindow, photos) -> None:
    page = win.album
    win.tabs.show_album()
    start = time.mktime((2025, 7, 19, 12, 0, 0, 0, 0, 0))
    rows, taken = [], start
    for i in range(3000):  # a few photos a day, every other day: about three years
        rows.append(AlbumPhoto(i + 1, f"{i:064x}", str(photos["coffee"]), taken))
        taken -= 86_400 * 2 if i % 5 == 4 else 60
    page.show_listing(Listing(rows, sections=by_day([r.taken for r in rows])))
    grid, scrubber = page.grid, page.grid.scrubber
    assert grid.verticalScrollBar().maximum() > 0
    y = scrubber.height() // 2

    def mouse(kind, buttons) -> None:
        where = QPoint(scrubber.width() // 2, y)
        event = QMouseEvent(
            kind, QPointF(where), QPointF(scrubber.mapToGlobal(where)), Qt.MouseButton.LeftButton, buttons,
            Qt.KeyboardModifier.NoModifier,
        )  # fmt: skip
        QApplication.sendEvent(scrubber, event)

    mouse(QMouseEvent.Type.MouseButtonPress, Qt.MouseButton.LeftButton)
    top = grid.grid.section_at(grid.verticalOffset())
    top_section = grid.grid.sections[top]
    shown = grid.visualRect(page.model.index(top_section.first))
    assert top_section.month  # the top of the view: the first day of a month, under its heading
    assert scrubber.bubble.isVisible() and scrubber.bubble.text() == top_section.month
    assert grid.verticalOffset() == grid.grid.tops[top]
    assert 0 < grid.verticalOffset() < grid.verticalScrollBar().maximum()
    assert grid.viewport().rect().contains(shown)  # its first photos in sight
    y = scrubber.height() - 2  # dragged to the bottom: the oldest month
    mouse(QMouseEvent.Type.MouseMove, Qt.MouseButton.LeftButton)
    assert scrubber.bubble.text() == grid.grid.sections[-1].month or grid.grid.sections[-1].month == ""
    assert scrubber.bubble.text().endswith(time.strftime("%Y", time.gmtime(rows[-1].taken)))
    mouse(QMouseEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton)
    assert not scrubber.bubble.isVisible()


def _key(qtbot, page: AlbumPage, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> int:
    qtbot.keyClick(page.viewer, key, modifier)
    return page.viewer.row


def _wheel(page: AlbumPage, notches: int) -> int:
    viewer = page.viewer
    where = QPointF(viewer.canvas.rect().center())
    event = QWheelEvent(
        where, QPointF(viewer.canvas.mapToGlobal(where.toPoint())), QPoint(0, 0), QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(viewer, event)
    return viewer.row


def test_viewer_next_previous_info_and_back_to_the_same_photo(qtbot, win: MainWindow, album) -> None:
    folder, _files = album
    page = _indexed(qtbot, win, folder)
    session: Session = win.test_session  # type: ignore[attr-defined]
    named = Path(page.model.photo(N // 2 - 2).path)

    def register(session: Session) -> None:
        session.store().add_concept("mia", named, "<mia> is our cat.", "cat")
        rematch.after_change(session)
        photo_id = session.store().conn.execute("SELECT id FROM photos WHERE path = ?", (str(named),)).fetchone()[0]
        captions.save_caption(session.store(), photo_id, "<mia> asleep on the sofa.", "tiny", ["mia"])

    with qtbot.waitSignal(win.concepts_loaded, timeout=WAIT):
        win.runner.submit(register, session, on_done=lambda _r: win.refresh())
    model, grid = page.model, page.grid
    start = model.row_of_path(named)
    grid.setFocus()
    grid.setCurrentIndex(model.index(start))
    with qtbot.waitSignal(page.viewer.loaded, timeout=WAIT):
        qtbot.keyClick(grid, Qt.Key.Key_Return)
    viewer = page.viewer
    assert page.viewing() and viewer.row == start and not grid.isVisible()
    # the photo itself, decoded off the GUI thread: its own size, not the thumbnail's
    with Image.open(named) as image:
        assert (viewer.canvas.pixmap.width(), viewer.canvas.pixmap.height()) == image.size
    # the info panel: name, date, folder, who is in it, the caption (names as written, no brackets)
    qtbot.waitUntil(lambda: viewer.info.caption.text() == "mia asleep on the sofa.", timeout=WAIT)
    assert viewer.info.name.text() == named.name
    assert viewer.info.date.text().startswith(time.strftime("%A %-d %B %Y", time.gmtime(model.photo(start).taken)))
    assert viewer.info.place.text() == f"Family photos ▸ {named.parent.parent.name} ▸ {named.parent.name}"
    assert "mia" in viewer.info.people.text()
    # the neighbours are decoded ahead: the next photo shows at once
    nxt = model.photo(start + 1)
    qtbot.waitUntil(lambda: nxt.sha256 in viewer._photos, timeout=WAIT)
    with qtbot.waitSignal(viewer.loaded, timeout=100):
        assert _key(qtbot, page, Qt.Key.Key_Right) == start + 1
    assert viewer.info.name.text() == Path(nxt.path).name
    # next and previous: Space / Shift+Space, PageDown / PageUp, the arrows, the wheel
    assert _key(qtbot, page, Qt.Key.Key_Space) == start + 2
    assert _key(qtbot, page, Qt.Key.Key_Space, Qt.KeyboardModifier.ShiftModifier) == start + 1
    assert _key(qtbot, page, Qt.Key.Key_PageDown) == start + 2
    assert _key(qtbot, page, Qt.Key.Key_PageUp) == start + 1
    assert _key(qtbot, page, Qt.Key.Key_Left) == start
    assert _wheel(page, -1) == start + 1  # wheel down: next
    assert _wheel(page, 2) == start - 1  # two notches up: two back
    assert _key(qtbot, page, Qt.Key.Key_End) == N - 1
    assert _key(qtbot, page, Qt.Key.Key_Right) == N - 1  # the last stays
    assert viewer.position.text() == f"{N} of {N}"
    assert _key(qtbot, page, Qt.Key.Key_Home) == 0
    for _ in range(start + 3):
        _key(qtbot, page, Qt.Key.Key_Right)
    last = viewer.row
    assert last == start + 3
    # Escape: the timeline again, at the photo viewed last, selected, in sight, with the keyboard
    grid.verticalScrollBar().setValue(0)
    _key(qtbot, page, Qt.Key.Key_Escape)
    assert not page.viewing() and grid.isVisible()
    assert grid.currentIndex().row() == last
    assert [i.row() for i in grid.selectionModel().selectedIndexes()] == [last]
    assert grid.viewport().rect().contains(grid.visualRect(model.index(last)))
    assert QApplication.focusWidget() is grid or not win.isActiveWindow()


def test_fifty_thousand_dated_rows_ask_only_for_visible_thumbnails(qtbot, win: MainWindow, photos) -> None:
    page = win.album
    win.tabs.show_album()
    rows, taken = [], time.mktime((2025, 7, 19, 12, 0, 0, 0, 0, 0))
    for i in range(50_000):
        rows.append(AlbumPhoto(i + 1, f"{i:064x}", str(photos["coffee"]), taken))
        taken -= 86_400 if i % 17 == 16 else 90
    page.show_listing(Listing(rows, sections=by_day([r.taken for r in rows])))
    assert page.count_label.text() == "50,000 photos"
    grid = page.grid

    def visible() -> set[int]:
        top = grid.verticalOffset()
        return set(grid.grid.rows_between(top, top + grid.viewport().height()))

    qtbot.waitUntil(lambda: len(page.loader.asked) > 0, timeout=WAIT)
    qtbot.wait(200)
    shown = visible()
    assert 0 < len(shown) < 200
    asked = {int(sha, 16) for sha in page.loader.asked}
    assert asked <= shown, sorted(asked - shown)[:10]
    bar = grid.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)  # halfway at once: nothing in between is asked for
    qtbot.wait(200)
    middle = visible()
    later = {int(sha, 16) for sha in page.loader.asked} - asked
    assert later <= middle and min(middle) > 20_000
