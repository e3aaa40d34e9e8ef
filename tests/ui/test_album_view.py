"""The Album tab on a generated album of package photos (tiny real-format models): indexing through
the GUI with progress, cancel then re-index, closing mid-run, unreadable files listed, concept and
text search, opening a photo in the Photo tab, and lazy thumbnails over 10,000 rows."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from rap_desktop.core.album import rematch
from rap_desktop.core.session import Session
from rap_desktop.core.store import album as album_store
from rap_desktop.devtools.synthetic_album import add_bad_files, make_album
from rap_desktop.ui.album.album_model import PhotoRole
from rap_desktop.ui.album.album_ops import AlbumPhoto, Listing
from rap_desktop.ui.album.album_view import AlbumPage
from rap_desktop.ui.main_window import MainWindow
from rap_desktop.ui.photo.undo_commands import CorrectionCommand, RemoveConceptsCommand

from .album_window import WAIT, album_page, index_album, listed_paths
from .album_window import strict_config as _strict_config
from .album_window import win as _win
from .windows import shown_window

strict_config, win = _strict_config, _win  # the fixtures, shared

N = 10  # photos in the test album


@pytest.fixture(scope="module")
def album(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("album-view") / "album"
    make_album(folder, N, seed=4, max_side=160)
    return folder


def _drop_folder(page: AlbumPage, folder: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    centre = page.grid.geometry().center()  # QDragEnterEvent takes a QPoint, QDropEvent a QPointF
    where = QPointF(centre)
    action = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(centre, action, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(page, enter)
    assert enter.isAccepted()
    drop = QDropEvent(where, action, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(page, drop)
    assert drop.isAccepted()


def _visible(page: AlbumPage) -> set[int]:
    """Rows whose tile is inside the timeline's viewport now."""
    area, grid, model = page.grid.viewport().rect(), page.grid, page.model
    return {row for row in range(model.rowCount()) if grid.visualRect(model.index(row)).intersects(area)}


def test_index_a_folder_with_progress_and_unreadable_files(qtbot, win: MainWindow, album: Path, tmp_path) -> None:
    page = album_page(win)
    bad = add_bad_files(tmp_path / "bad")
    messages = []
    win.statusBar().messageChanged.connect(messages.append)
    seen, report = index_album(qtbot, page, [album, tmp_path / "bad"])
    assert not report.cancelled and report.indexed == N and len(report.failed) == len(bad)
    assert seen[0].done == 0 and seen[-1].done == seen[-1].total == N + len(bad)
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    assert page.progress_row.isHidden()
    assert any("10 new photos indexed" in m and "4 could not be read" in m for m in messages), messages
    # the timeline: every photo once, by EXIF date, newest first
    assert page.model.rowCount() == N and page.count_label.text() == f"{N} photos"
    assert sorted(listed_paths(page)) == sorted(str(p) for p in album.rglob("*.jpg"))
    taken = [page.model.photo(row).taken for row in range(N)]
    assert taken == sorted(taken, reverse=True)
    # the unreadable files: a link, and a dialog with path and reason
    assert page.failures_button.isVisible() and page.failures_button.text() == "4 files could not be read…"
    dialog = page.show_failures()
    rows = {dialog.table.item(r, 0).text(): dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    assert set(rows) == {str(p) for p in bad.values()}
    assert rows[str(bad["empty"])] == "empty file (0 bytes)"
    assert all(rows.values())
    dialog.close()
    # thumbnails of the visible rows load from the disk cache
    shown = _visible(page)
    assert shown
    qtbot.waitUntil(lambda: all(page.model.photo(r).sha256 in page.loader._cache for r in shown), timeout=WAIT)


def test_cancel_then_reindex_indexes_every_photo_once(qtbot, win: MainWindow, album: Path) -> None:
    page = album_page(win)
    page.indexer.batch_size = 2
    seen = []

    def cancel_after_first_batch(progress) -> None:
        seen.append(progress)
        if progress.done > 0 and not page.indexer.cancelled:
            page.cancel_button.click()  # stops after the batch in flight

    page.indexer.progressed.connect(cancel_after_first_batch)
    with qtbot.waitSignal(page.indexer.finished, timeout=WAIT) as finished:
        _drop_folder(page, album)  # a folder dropped on the Album tab is added and indexed
    page.indexer.progressed.disconnect(cancel_after_first_batch)
    report = finished.args[0]
    assert report.cancelled and 0 < report.processed < N
    assert page.indexer.steps <= 2  # the batch in flight when Cancel came, no more
    qtbot.waitUntil(lambda: page.model.rowCount() == report.processed, timeout=WAIT)

    page.reindex_action.trigger()  # Re-index: the album's folders, only what is left
    with qtbot.waitSignal(page.indexer.finished, timeout=WAIT) as finished:
        pass
    again = finished.args[0]
    assert not again.cancelled and again.unchanged == report.processed and again.indexed == N - report.processed
    qtbot.waitUntil(lambda: page.model.rowCount() == N, timeout=WAIT)
    assert sorted(listed_paths(page)) == sorted(str(p) for p in album.rglob("*.jpg"))
    store = win.test_session.store()
    assert store.conn.execute("SELECT COUNT(*), COUNT(DISTINCT sha256) FROM photos").fetchone() == (N, N)
    assert store.conn.execute("SELECT COUNT(*) FROM album_files WHERE status = 'indexed'").fetchone()[0] == N


def test_closing_mid_index_stops_cleanly_and_a_rerun_resumes(qtbot, home, strict_config, tmp_path, album) -> None:
    opened = Session.open(home, strict_config)
    window = shown_window(qtbot, opened, tmp_path / "ui.ini", timeout=WAIT)
    page = window.album
    page.indexer.batch_size = 2
    with qtbot.waitSignal(page.indexer.progressed, timeout=WAIT, check_params_cb=lambda p: p.done > 0):
        page.add_folders([str(album)])
    assert not window.close()  # mid-run: the window asks first
    stop = next(b for b in window.close_question.box.buttons() if b.text() == "Stop and finish next time")
    stop.click()  # the batch in flight lands, the run is closed, the lanes are waited for
    assert not window.isVisible()
    assert not [t.name for t in threading.enumerate() if t.name.startswith("album-read")]
    reader = sqlite3.connect(f"file:{opened.store().home / 'store.sqlite3'}?mode=ro", uri=True)  # beside the lanes
    done = reader.execute("SELECT COUNT(*) FROM album_files").fetchone()[0]
    assert 0 < done < N
    try:
        # the next start finishes the run by itself (auto_index): the rest is indexed, nothing twice
        again = shown_window(qtbot, opened, tmp_path / "ui2.ini", timeout=WAIT)
        counts = "SELECT COUNT(*), COUNT(DISTINCT sha256) FROM photos"
        qtbot.waitUntil(
            lambda: reader.execute(counts).fetchone() == (N, N) and not again.album.indexer.running, timeout=WAIT
        )
        indexed = "SELECT COUNT(*) FROM album_files WHERE status = 'indexed'"
        assert reader.execute(indexed).fetchone()[0] == N
        # closed while a run is still scanning (its answer is never delivered): closed all the same. No
        # event is handled between the two calls, so the scan cannot have answered yet.
        again.album.add_folders([str(album)])
        again.close()
        assert not again.isVisible()
        assert not again.album.indexer.running or again.album.indexer.closing
        assert not [t.name for t in threading.enumerate() if t.name.startswith("album-read")]
    finally:
        reader.close()
        opened.close()


def test_search_by_concept_and_text_and_open_a_photo(qtbot, win: MainWindow, album: Path) -> None:
    page = album_page(win)
    index_album(qtbot, page, [album])
    session = win.test_session
    chosen = sorted(album.rglob("*.jpg"))[3]

    def register(session: Session) -> None:  # as the concept commands do: add, then re-match
        session.store().add_concept("mia", chosen, "<mia> is our cat.", "cat")
        rematch.after_change(session)

    with qtbot.waitSignal(win.concepts_loaded, timeout=WAIT):
        win.runner.submit(register, session, on_done=lambda _r: win.refresh())
    row = page.concept_box.findData("mia")
    assert row > 0
    with qtbot.waitSignal(page.listed, timeout=WAIT):
        page.concept_box.setCurrentIndex(row)
    assert listed_paths(page) == [str(chosen)] and page.count_label.text() == "1 photo with mia"
    assert page.model.listing.concept == "mia"

    # a correction through the window's undo stack re-matches, and the filtered grid follows
    hit = page.model.photo(0)
    store = session.store()
    region = store.conn.execute(
        "SELECT r.ordinal FROM matches m JOIN regions r ON r.id = m.region_id WHERE r.photo_id = ? AND m.accepted = 1",
        (hit.photo_id,),
    ).fetchone()[0]

    # a correction through the window's undo stack (as the photo's Confirm button does): the album
    # is re-matched and the filtered grid follows; so do Reject and its undo
    with qtbot.waitSignal(page.listed, timeout=WAIT):
        win.undo_stack.push(CorrectionCommand(win.ctx, "confirm", hit.sha256, f"r{region}", "mia"))
    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and page.model.photo(0).confirmed, timeout=WAIT)
    tooltip = page.model.data(page.model.index(0), Qt.ItemDataRole.ToolTipRole)
    assert "✓ you said this is mia" in tooltip and Path(hit.path).name in tooltip
    win.undo_stack.push(CorrectionCommand(win.ctx, "reject", hit.sha256, f"r{region}", "mia"))
    qtbot.waitUntil(lambda: page.count_label.text() == "0 photos with mia", timeout=WAIT)
    win.undo_stack.undo()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and page.model.photo(0).confirmed, timeout=WAIT)

    # text search, alone and within the concept
    with qtbot.waitSignal(page.listed, timeout=WAIT):
        page.text_edit.setText("a cat on a sofa")
    assert listed_paths(page) == [str(chosen)]  # within <mia>: only its photo
    with qtbot.waitSignal(page.listed, timeout=WAIT):
        page.concept_box.setCurrentIndex(0)  # all photos
    found = page.model.listing.found  # the photos above the relevance cut, not the album re-ordered
    assert 0 < page.model.rowCount() == found < N and page.model.listing.text == "a cat on a sofa"
    scores = [page.model.photo(r).score for r in range(found)]
    assert scores == sorted(scores, reverse=True)
    assert page.count_label.text() == f"{found} photo{'' if found == 1 else 's'} like “a cat on a sofa”"

    # the concept removed while the grid shows it (undoable, through the stack): no error, all photos
    with qtbot.waitSignal(page.listed, timeout=WAIT):
        page.concept_box.setCurrentIndex(page.concept_box.findData("mia"))
    win.undo_stack.push(RemoveConceptsCommand(win.ctx, ["mia"]))
    qtbot.waitUntil(lambda: page.concept_box.findData("mia") < 0 and page.model.listing.concept is None, timeout=WAIT)
    assert win._error_box is None and page.model.rowCount() == found  # the description alone again
    with qtbot.waitSignal(page.listed, timeout=WAIT):
        page.text_edit.clear()

    # double-click opens the photo in the viewer; R there opens it in the Photo tab (retrieval runs
    # and shows its regions)
    index = page.model.index(2)
    target = index.data(PhotoRole).path
    page.grid.scrollTo(index)
    where = page.grid.visualRect(index).center()
    with qtbot.waitSignal(page.viewer.loaded, timeout=WAIT):
        qtbot.mouseClick(page.grid.viewport(), Qt.MouseButton.LeftButton, pos=where)  # a double-click follows a press
        qtbot.mouseDClick(page.grid.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert page.viewing() and page.viewer.photo().path == target
    with qtbot.waitSignal(win.photos.shown, timeout=WAIT):
        qtbot.keyClick(page.viewer, Qt.Key.Key_R)
    assert win.tabs.currentIndex() == 0 and str(win.photos.path) == target
    assert win.photos.current is not None and win.photos.current.result.regions

    # Enter on the selected photo opens it too
    win.tabs.tab_actions[1].trigger()
    qtbot.keyClick(page.viewer, Qt.Key.Key_Escape)
    page.grid.setFocus()
    page.grid.setCurrentIndex(page.model.index(4))
    with qtbot.waitSignal(page.viewer.loaded, timeout=WAIT):
        qtbot.keyClick(page.grid, Qt.Key.Key_Return)
    assert page.viewing() and page.viewer.photo().path == page.model.photo(4).path


def test_shortcuts_switch_tabs_and_f5_follows_the_tab(qtbot, win: MainWindow) -> None:
    tabs = win.tabs
    photo_tab, album_tab = win.tabs.tab_actions
    assert album_tab.shortcut().toString() == "Ctrl+2" and photo_tab.shortcut().toString() == "Ctrl+1"
    album_tab.trigger()
    assert tabs.currentWidget() is win.album
    assert win.album.reindex_action.shortcut().toString() == "F5" and win.photos.rerun_action.shortcut().isEmpty()
    assert win.album.add_folder_action in win.album_menu.actions()
    photo_tab.trigger()
    assert tabs.currentIndex() == 0
    assert win.photos.rerun_action.shortcut().toString() == "F5" and win.album.reindex_action.shortcut().isEmpty()


def test_ten_thousand_rows_only_visible_ones_ask_for_thumbnails(qtbot, win: MainWindow, photos) -> None:
    page = album_page(win)
    source = str(photos["coffee"])  # no disk thumbnail yet: made from the photo when first shown
    rows = [AlbumPhoto(i + 1, f"{i:064x}", source, float(i)) for i in range(10_000)]
    page.show_listing(Listing(rows))
    assert page.count_label.text() == "10,000 photos"
    QApplication.processEvents()

    def visible() -> set[int]:  # rows whose cell is inside the viewport now
        area, grid, model = page.grid.viewport().rect(), page.grid, page.model
        return {row for row in range(len(rows)) if grid.visualRect(model.index(row)).intersects(area)}

    qtbot.waitUntil(lambda: len(page.loader.asked) > 0, timeout=WAIT)
    qtbot.wait(300)  # the first paints are over (the layout may settle once, e.g. for the scroll bar)
    shown = visible()
    top = page.grid.visualRect(page.model.index(0)).top()
    columns = sum(1 for r in shown if page.grid.visualRect(page.model.index(r)).top() == top)
    assert 8 <= len(shown) < 200 and columns >= 2
    first = {int(sha, 16) for sha in page.loader.asked}
    # only the rows on screen (give or take one row of the grid while the layout settled)
    assert max(first) <= max(shown) + columns and len(first) <= len(shown) + columns, sorted(first - shown)
    qtbot.waitUntil(lambda: all(f"{r:064x}" in page.loader._cache for r in shown), timeout=WAIT)

    bar = page.grid.verticalScrollBar()
    bar.setValue(bar.maximum())  # to the end at once: the rows in between are never painted
    qtbot.wait(300)
    at_end = visible()
    assert max(at_end) == len(rows) - 1
    qtbot.waitUntil(lambda: all(f"{r:064x}" in page.loader._cache for r in at_end), timeout=WAIT)
    later = {int(sha, 16) for sha in page.loader.asked} - first
    assert later <= at_end, sorted(later - at_end)[:10]
    assert page.loader.loads == len(first | later) < 3 * len(shown) + columns  # of 10,000 rows
    assert album_store.folders(win.test_session.store()) == []  # type: ignore[attr-defined]  # a model-only listing


def test_signal_emits_never_use_up_true() -> None:
    """PySide6 6.12.0 drops a reference to True per Python emit() and CPython 3.11 aborts after ~1,000
    ("bool_dealloc"); pyproject excludes that release. 20,000 emits (a scroll past 5,000 thumbnails)
    in a child process must leave True, False and None as they were."""
    code = (
        "import sys\n"
        "from PySide6.QtCore import QCoreApplication, QObject, Signal\n"
        "app = QCoreApplication([])\n"
        "class Source(QObject):\n"
        "    ping = Signal()\n"
        "    value = Signal(int)\n"
        "source = Source()\n"
        "source.ping.connect(lambda: None)\n"
        "before = [sys.getrefcount(x) for x in (True, False, None)]\n"
        "for _ in range(20_000):\n"
        "    source.ping.emit()\n"
        "    source.value.emit(1)\n"
        "    app.processEvents()\n"
        "print(max(abs(sys.getrefcount(x) - b) for x, b in zip((True, False, None), before)))\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-500:]
    assert int(out.stdout) < 100  # a few objects holding None, not one per call


def test_other_store_work_runs_between_batches(qtbot, win: MainWindow, album: Path) -> None:
    """A store task submitted during a run (a concept edit, a retrieval) waits for one batch, not
    for the whole run."""
    page = album_page(win)
    page.indexer.batch_size = 2
    session = win.test_session
    seen: list[int] = []

    def count_files(session: Session) -> int:  # store lane
        return session.store().conn.execute("SELECT COUNT(*) FROM album_files").fetchone()[0]

    def first_batch(progress) -> None:
        if progress.done == 2 and not seen:
            win.runner.submit(count_files, session, on_done=seen.append)

    page.indexer.progressed.connect(first_batch)
    with qtbot.waitSignal(page.indexer.finished, timeout=WAIT) as finished:
        page.add_folders([str(album)])
    assert finished.args[0].indexed == N
    assert seen == [2]  # it ran right after the first batch of 2, before the next one
