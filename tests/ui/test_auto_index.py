"""Indexing nobody has to think about: closing mid-run asks (stop and finish next time / keep going),
the next start resumes the unfinished folder and says so, and a photo copied into an album folder
appears while the app runs (the file-system watcher, and the periodic rescan where it cannot watch)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rap_desktop.core.session import Session
from rap_desktop.core.store import index_state
from rap_desktop.devtools.synthetic_album import make_album
from rap_desktop.ui.album.auto_index import KEEP, STOP
from rap_desktop.ui.main_window import MainWindow
from rap_desktop.ui.status_line import READY

from .album_window import WAIT, index_album, strict_config  # noqa: F401  (fixture)
from .windows import shown_window

N = 8


@pytest.fixture
def album(tmp_path: Path) -> Path:
    folder = tmp_path / "Pictures"
    make_album(folder, N, seed=6, max_side=140)
    return folder


def _answer(window: MainWindow, text: str) -> None:
    box = window.close_question.box
    assert box is not None and box.isVisible()
    next(b for b in box.buttons() if b.text() == text).click()


def test_closing_mid_index_asks_and_the_next_start_finishes_by_itself(
    qtbot, home: Path, strict_config: Path, tmp_path: Path, album: Path  # noqa: F811
) -> None:
    opened = Session.open(home, strict_config)
    try:
        window = shown_window(qtbot, opened, tmp_path / "ui.ini", timeout=WAIT)
        page = window.album
        page.indexer.batch_size = 1
        with qtbot.waitSignal(page.indexer.progressed, timeout=WAIT, check_params_cb=lambda p: p.done > 0):
            page.add_folders([str(album)])
        assert not window.close()  # the window stays and asks, in plain words
        box = window.close_question.box
        done = page.indexer.last.done
        assert box.text() == f"Photos are still being added ({done} of {N})."
        assert {b.text() for b in box.buttons()} == {STOP, KEEP}
        _answer(window, KEEP)
        assert window.isVisible() and page.indexer.running and window.close_question.box is None

        assert not window.close()  # asked again; this time: stop
        _answer(window, STOP)
        assert not window.isVisible()
        stored = index_state.unfinished(opened.store())
        assert [(u.folder, u.total) for u in stored] == [(str(album.resolve()), N)] and 0 < stored[0].done < N

        again = shown_window(qtbot, opened, tmp_path / "ui2.ini", timeout=WAIT)  # the next start
        assert again.status_line.text() == "Finishing adding photos from Pictures…"
        with qtbot.waitSignal(again.album.indexer.finished, timeout=WAIT) as finished:
            pass
        report = finished.args[0]
        assert report.indexed == N - stored[0].done and report.unchanged == stored[0].done
        assert index_state.unfinished(opened.store()) == []
        qtbot.waitUntil(lambda: again.album.model.rowCount() == N, timeout=WAIT)
        assert again.status_line.text() == READY
        assert again.close()  # nothing running: no question
    finally:
        opened.close()


@pytest.mark.parametrize("watched", [True, False], ids=["watcher", "rescan"])
def test_a_photo_copied_into_an_album_folder_appears(
    qtbot, home: Path, strict_config: Path, tmp_path: Path, album: Path, photos, watched: bool  # noqa: F811
) -> None:
    opened = Session.open(home, strict_config)
    try:
        window = shown_window(qtbot, opened, tmp_path / "ui.ini", timeout=WAIT)
        watcher = window.auto_index.watcher
        watcher.quiet.setInterval(50)  # the test need not wait out a user's copy
        watcher.rescan.setInterval(200)
        if not watched:
            watcher.limit = 0  # more folders than may be watched: the periodic rescan covers them
        page = window.album
        window.tabs.setCurrentWidget(page)
        index_album(qtbot, page, [album])
        assert page.model.rowCount() == N
        if watched:
            qtbot.waitUntil(lambda: str(album.resolve()) in watcher.watched(), timeout=WAIT)
            assert any(d.endswith(tuple(p.name for p in album.iterdir() if p.is_dir())) for d in watcher.watched())
        else:
            qtbot.waitUntil(lambda: watcher.uncovered == [str(album.resolve())], timeout=WAIT)
            assert watcher.watched() == [] and watcher.rescan.isActive()
        subfolder = next(p for p in album.iterdir() if p.is_dir())
        for sub in subfolder.iterdir():
            if sub.is_dir():
                subfolder = sub  # as deep as the album goes: subfolders are watched too
                break
        shutil.copyfile(photos["chelsea"], subfolder / "new-cat.png")
        qtbot.waitUntil(lambda: page.model.rowCount() == N + 1, timeout=WAIT)
        assert str(subfolder / "new-cat.png") in [page.model.photo(r).path for r in range(N + 1)]
        window.close()
    finally:
        opened.close()
