"""Album ▸ Who's this?… on an album of package photos indexed with the core Indexer (tiny real-format
models): one question at a time with big crops, every answer by keyboard, each undone and redone
through the window's undo stack."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from rap_desktop.core import review
from rap_desktop.core.album import rematch
from rap_desktop.core.album.indexer import Indexer
from rap_desktop.core.session import Session
from rap_desktop.core.store import hidden as hidden_table
from rap_desktop.core.thumbcache import for_home
from rap_desktop.devtools.synthetic_album import make_album
from rap_desktop.ui.album.review_dialog import ReviewDialog
from rap_desktop.ui.album.review_ops import TILE
from rap_desktop.ui.library.concept_picker import ConceptPicker
from rap_desktop.ui.library.register_dialog import RegisterDialog
from rap_desktop.ui.main_window import MainWindow

from .windows import shown_window

WAIT = 30_000
LOOSE = {"groups/threshold": 0.5, "groups/min_size": 2}  # random tiny weights: all crops look alike


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, tiny_config: Path, photos) -> Path:
    """A data folder with an indexed album of 8 photos and one concept <bo>, made once."""
    root = tmp_path_factory.mktemp("review")
    make_album(root / "album", 8, seed=2, max_side=160)
    opened = Session.open(root / "home", tiny_config)
    try:
        Indexer(opened.retriever(), for_home(opened.home)).index([root / "album"])
        opened.store().add_concept("bo", photos["chelsea"], "<bo> is our cat.", "cat")
        rematch.after_change(opened)
    finally:
        opened.close()
    return root / "home"


@pytest.fixture
def album_window(qtbot, indexed: Path, tiny_config: Path, tmp_path: Path) -> Iterator[MainWindow]:
    opened = Session.open(shutil.copytree(indexed, tmp_path / "home"), tiny_config)
    win = shown_window(qtbot, opened, tmp_path / "ui.ini", LOOSE, timeout=WAIT)
    win.test_session = opened  # type: ignore[attr-defined]
    yield win
    win.close()
    opened.close()


def _open(qtbot, win: MainWindow) -> ReviewDialog:
    assert win.album_tools.review_action in win.album_menu.actions()
    win.album_tools.review_action.trigger()  # it asks on opening (store lane)
    dialog = win.album_tools.review_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: not dialog.loading and dialog.current is not None, timeout=WAIT)
    return dialog


def _settled(qtbot, win: MainWindow, dialog: ReviewDialog) -> None:
    qtbot.waitUntil(lambda: win.runner.pending == 0 and not dialog.loading, timeout=WAIT)


def _key(qtbot, dialog: ReviewDialog, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """A key pressed while the window is the active one (as after a click on it)."""
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=WAIT)
    qtbot.keyClick(dialog, key, modifier)


def _statuses(session: Session, regions) -> set[tuple[str, str]]:
    marks = ",".join("?" * len(regions))
    return set(
        session.store().conn.execute(
            f"SELECT DISTINCT c.name, m.status FROM matches m JOIN concepts c ON c.id = m.concept_id "
            f"WHERE m.region_id IN ({marks}) AND m.status != 'auto'",
            list(regions),
        )
    )


def _hidden(session: Session) -> int:
    return session.store().conn.execute("SELECT COUNT(*) FROM hidden_regions").fetchone()[0]


def test_one_question_with_big_tiles_answered_by_keyboard_and_undone(qtbot, album_window: MainWindow) -> None:
    win = album_window
    session = win.test_session  # type: ignore[attr-defined]
    threshold, _ = session.retrieval_settings()
    expected = review.queue(session.store(), session.embedder.model_id, review.Settings(threshold, 0.5, 2))
    dialog = _open(qtbot, win)
    asked = dialog.current.question
    assert asked.kind == "group" and asked.regions == expected[0].regions  # the largest unknown group first
    assert dialog.question_label.text() == asked.text
    assert asked.text in ("Who is this?", f"Is this {asked.suggested}?")
    assert f"Seen {len(asked.regions)} times" in dialog.detail.text()
    for button, key in ((dialog.yes_button, "Y"), (dialog.no_button, "N"), (dialog.name_button, "I")):
        assert f"({key})" in button.text() and dialog.keys[key].shortcut().toString() == key
    assert "(S)" in dialog.skip_button.text() and "(H)" in dialog.hide_button.text()

    # big tiles: several examples, the longer side TILE (>= 128 px), each crop's own aspect kept
    qtbot.waitUntil(lambda: len(dialog.tile_images()) == len(asked.samples), timeout=WAIT)
    images = dialog.tile_images()
    assert TILE >= 128 and len(images) >= 2
    for image, sample in zip(images, asked.samples, strict=True):
        x1, y1, x2, y2 = sample.box
        assert max(image.width(), image.height()) == TILE
        assert abs(image.width() / image.height() - (x2 - x1) / (y2 - y1)) < 0.1

    # H: hidden for good (the next question is another one); Ctrl+Z: shown again, asked again
    with qtbot.waitSignal(dialog.asked, timeout=WAIT):
        _key(qtbot, dialog, Qt.Key.Key_H)
    _settled(qtbot, win, dialog)
    assert _hidden(session) == len(asked.regions) and win.undo_stack.undoText() == "Hide a stranger"
    assert dialog.current is None or not set(asked.regions) & set(dialog.current.question.regions)
    with qtbot.waitSignal(dialog.asked, timeout=WAIT):
        _key(qtbot, dialog, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    _settled(qtbot, win, dialog)
    assert _hidden(session) == 0 and dialog.current.question.regions == asked.regions
    assert dialog.current.question.id == asked.id  # the group keeps its id through the hide and its undo

    # S: skipped (another question); Ctrl+Z asks it again
    with qtbot.waitSignal(dialog.asked, timeout=WAIT):
        _key(qtbot, dialog, Qt.Key.Key_S)
    _settled(qtbot, win, dialog)
    assert dialog.current is None or dialog.current.question.id != asked.id
    with qtbot.waitSignal(dialog.asked, timeout=WAIT):
        _key(qtbot, dialog, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    _settled(qtbot, win, dialog)
    assert dialog.current.question.id == asked.id

    # I: the picker, "New name…": a new concept, every region of the group confirmed as it
    _key(qtbot, dialog, Qt.Key.Key_I)
    picker = dialog.chooser
    assert isinstance(picker, ConceptPicker) and not dialog.yes_button.isEnabled()
    picker.search.setText("gang")
    new = next(b for b in picker.findChildren(type(dialog.yes_button)) if "New name" in b.text())
    new.click()
    ask = dialog.chooser
    assert isinstance(ask, RegisterDialog) and ask.name() == "gang" and ask.category() == asked.label
    with qtbot.waitSignal(dialog.asked, timeout=WAIT):
        ask.accept()
    _settled(qtbot, win, dialog)
    assert _statuses(session, asked.regions) == {("gang", "confirmed")}
    assert win.undo_stack.undoText() == "This is gang"
    with qtbot.waitSignal(dialog.asked, timeout=WAIT):
        _key(qtbot, dialog, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    _settled(qtbot, win, dialog)
    assert session.store().find_concept("gang") is None and _statuses(session, asked.regions) == set()

    # redo (Ctrl+Shift+Z) names the very same regions again
    with qtbot.waitSignal(dialog.asked, timeout=WAIT):
        _key(qtbot, dialog, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    _settled(qtbot, win, dialog)
    assert _statuses(session, asked.regions) == {("gang", "confirmed")}


def test_yes_and_no_about_a_suggested_name(qtbot, album_window: MainWindow) -> None:
    win = album_window
    session = win.test_session  # type: ignore[attr-defined]
    dialog = _open(qtbot, win)
    # find a question with a suggestion (random tiny weights: <bo> comes near most groups)
    for _ in range(10):
        if dialog.current is None or dialog.current.question.suggested:
            break
        with qtbot.waitSignal(dialog.asked, timeout=WAIT):
            _key(qtbot, dialog, Qt.Key.Key_S)
        _settled(qtbot, win, dialog)
    assert dialog.current is not None and dialog.current.question.suggested == "bo"
    asked = dialog.current.question
    assert dialog.question_label.text() == "Is this bo?" and dialog.yes_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.cover.pixmap().isNull(), timeout=WAIT)  # bo's own photo beside

    with qtbot.waitSignal(dialog.asked, timeout=WAIT):
        _key(qtbot, dialog, Qt.Key.Key_N)
    _settled(qtbot, win, dialog)
    assert _statuses(session, asked.regions) == {("bo", "rejected")}
    assert win.undo_stack.undoText() == "No, this is not bo"
    with qtbot.waitSignal(dialog.asked, timeout=WAIT):
        _key(qtbot, dialog, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    _settled(qtbot, win, dialog)
    assert _statuses(session, asked.regions) == set() and dialog.current.question.regions == asked.regions

    exemplars = session.store().get_concept("bo").exemplar_count
    with qtbot.waitSignal(dialog.asked, timeout=WAIT):
        _key(qtbot, dialog, Qt.Key.Key_Y)
    _settled(qtbot, win, dialog)
    assert _statuses(session, asked.regions) == {("bo", "confirmed")}
    assert session.store().get_concept("bo").exemplar_count == exemplars + 1
    assert win.undo_stack.undoText() == "Yes, this is bo"
    win.undo_action.trigger()  # the window's own Edit ▸ Undo takes it back the same way
    _settled(qtbot, win, dialog)
    assert _statuses(session, asked.regions) == set()
    assert session.store().get_concept("bo").exemplar_count == exemplars


def test_nothing_to_ask_says_so(qtbot, album_window: MainWindow) -> None:
    win = album_window
    store = win.test_session.store()  # type: ignore[attr-defined]
    with store.transaction():  # every region hidden (as from the command line): nothing left to ask
        hidden_table.hide(store, [r for (r,) in store.conn.execute("SELECT id FROM regions")], None)
    win.album_tools.review_action.trigger()
    dialog = win.album_tools.review_dialog
    qtbot.waitUntil(lambda: not dialog.loading, timeout=WAIT)
    assert dialog.current is None and dialog.empty.isVisible() and not dialog.hide_button.isEnabled()
    assert dialog.question_label.text() == "All done" and not dialog.tile_images()
