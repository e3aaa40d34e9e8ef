"""Album ▸ Unknown groups… on an album of package photos indexed with the core Indexer (tiny
real-format models): the listing with sample crops, inline name validation, naming a group (a new
concept with its exemplar and confirmed matches), undo and redo through the window's stack."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rap_desktop.core import groups
from rap_desktop.core.album import rematch
from rap_desktop.core.album.indexer import Indexer
from rap_desktop.core.session import Session
from rap_desktop.core.thumbcache import for_home
from rap_desktop.devtools.synthetic_album import make_album
from rap_desktop.ui.album.groups_dialog import EMPTY_TEXT, GroupsDialog
from rap_desktop.ui.main_window import MainWindow

from .windows import shown_window

WAIT = 30_000


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, tiny_config: Path, photos) -> Path:
    """A data folder with an indexed album of 8 photos and one concept <bo>, made once (indexing
    loads the models: seconds); each test works on a copy of it."""
    root = tmp_path_factory.mktemp("groups")
    make_album(root / "album", 8, seed=2, max_side=160)
    opened = Session.open(root / "home", tiny_config)
    try:
        Indexer(opened.retriever(), for_home(opened.home)).index([root / "album"])
        opened.store().add_concept("bo", photos["chelsea"], "<bo> is our cat.", "cat")
        rematch.after_change(opened)  # as the CLI does after a concept change
    finally:
        opened.close()
    return root / "home"


@pytest.fixture
def album_window(qtbot, indexed: Path, tiny_config: Path, tmp_path: Path) -> Iterator[MainWindow]:
    """The window on a copy of the indexed album (loose grouping: with random tiny weights all
    crops look alike, so the similarity is set low)."""
    opened = Session.open(shutil.copytree(indexed, tmp_path / "home"), tiny_config)
    values = {"groups/threshold": 0.5, "groups/min_size": 2}
    win = shown_window(qtbot, opened, tmp_path / "ui.ini", values, timeout=WAIT)
    win.test_session = opened  # type: ignore[attr-defined]
    yield win
    win.close()
    opened.close()


@pytest.fixture
def session(album_window: MainWindow):
    """The session the window works on (shadows the empty one of tests/conftest.py)."""
    return album_window.test_session  # type: ignore[attr-defined]


def _open(qtbot, win: MainWindow) -> GroupsDialog:
    assert win.album_tools.groups_action in win.album_menu.actions()
    win.album_tools.groups_action.trigger()  # the dialog lists on opening (store lane)
    dialog = win.album_tools.groups_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: not dialog.loading, timeout=WAIT)
    return dialog


def _state(session, name: str) -> tuple[int, set[int], int]:
    """(exemplars, regions confirmed as `name`, photos where `name` is accepted)."""
    store = session.store()
    concept = store.find_concept(name)
    if concept is None:
        return 0, set(), 0
    confirmed = store.conn.execute(
        "SELECT region_id FROM matches WHERE concept_id = ? AND status = 'confirmed'", (concept.id,)
    )
    photos = store.conn.execute(
        "SELECT COUNT(DISTINCT r.photo_id) FROM matches m JOIN regions r ON r.id = m.region_id "
        "WHERE m.concept_id = ? AND m.accepted = 1",
        (concept.id,),
    ).fetchone()[0]
    return concept.exemplar_count, {r for (r,) in confirmed}, photos


def test_groups_listed_named_undone_and_redone(qtbot, album_window: MainWindow, session) -> None:
    win = album_window
    dialog = _open(qtbot, win)
    expected = groups.find_groups(session.store(), session.embedder.model_id, 0.5, 2)
    assert expected and dialog.list.count() == len(expected)
    assert [s.group.regions for s in dialog.groups] == [g.regions for g in expected]
    first = dialog.groups[0]
    assert f"{first.group.size} regions in {first.group.photos} photo" in dialog.list.item(0).text()
    assert 1 <= len(first.samples) <= 6 and all(s.path for s in first.samples)
    # the sample crops arrive from the io lane: drawn pixels, not an empty strip
    qtbot.waitUntil(lambda: not dialog.list.item(0).icon().isNull(), timeout=WAIT)
    strip = dialog.list.item(0).icon().pixmap(dialog.list.iconSize()).toImage()
    assert any(strip.pixelColor(x, strip.height() // 2).alpha() > 0 for x in range(0, strip.width(), 4))

    # the name is checked as it is typed: an existing concept (any case) and an illegal name are refused
    dialog.list.setCurrentRow(0)
    dialog.name_button.click()
    ask = dialog.name_dialog
    assert ask is not None and ask.category() == first.label
    ask.name_edit.setText("Bo")
    assert not ask.ok_button.isEnabled() and "already exists" in ask.error_label.text()
    ask.name_edit.setText("a<b")
    assert not ask.ok_button.isEnabled() and ask.error_label.text()
    ask.name_edit.setText("gang")
    ask.info_edit.setPlainText("<gang> are the usual crowd.")
    ask.category_edit.setText("person")
    assert ask.ok_button.isEnabled()
    ask.accept()
    qtbot.waitUntil(lambda: win.model.row_of("gang") >= 0 and not dialog.loading, timeout=WAIT)
    qtbot.waitUntil(lambda: win.runner.pending == 0, timeout=WAIT)

    # one exemplar, every member confirmed; accepted once per photo (one slot per concept), as the CLI does
    exemplars, confirmed, accepted_in = _state(session, "gang")
    assert exemplars == 1 and confirmed == set(first.group.regions) and accepted_in >= first.group.photos
    concept = session.store().get_concept("gang")
    assert (concept.info, concept.category) == ("<gang> are the usual crowd.", "person")
    assert [c.name for c in win.selected_concepts()] == ["gang"]  # the library shows the new concept
    listed = {r for s in dialog.groups for r in s.group.regions}
    assert not listed & set(first.group.regions)  # the named group is no longer offered
    assert win.undo_stack.undoText() == f"Name {first.group.size} look-alike regions gang"

    win.undo_action.trigger()
    qtbot.waitUntil(lambda: win.model.row_of("gang") < 0 and not dialog.loading, timeout=WAIT)
    qtbot.waitUntil(lambda: win.runner.pending == 0, timeout=WAIT)
    assert _state(session, "gang") == (0, set(), 0)
    assert session.store().conn.execute("SELECT COUNT(*) FROM matches WHERE status = 'confirmed'").fetchone() == (0,)
    assert first.group.regions in [s.group.regions for s in dialog.groups]  # offered again
    open_log = "SELECT action FROM corrections WHERE undone = 0"
    assert session.store().conn.execute(open_log).fetchall() == []  # `match undo` has nothing left to take back

    win.redo_action.trigger()
    qtbot.waitUntil(lambda: win.model.row_of("gang") >= 0 and not dialog.loading, timeout=WAIT)
    qtbot.waitUntil(lambda: win.runner.pending == 0, timeout=WAIT)
    assert _state(session, "gang")[:2] == (1, set(first.group.regions))
    assert session.store().conn.execute(open_log).fetchall() == [("name_group",)]


def test_the_open_listing_follows_changes_made_in_the_window(qtbot, album_window: MainWindow, session) -> None:
    win = album_window
    dialog = _open(qtbot, win)
    first = dialog.groups[0]
    dialog.list.setCurrentRow(0)
    dialog.name_selected()
    dialog.name_dialog.name_edit.setText("gang")
    dialog.name_dialog.accept()
    qtbot.waitUntil(lambda: win.model.row_of("gang") >= 0 and not dialog.loading, timeout=WAIT)
    qtbot.waitUntil(lambda: win.runner.pending == 0, timeout=WAIT)
    assert first.group.regions not in [s.group.regions for s in dialog.groups]

    # <gang> removed from the library (not an undo of the naming): the open dialog lists again by itself
    win.confirm = lambda title, text: True  # type: ignore[method-assign]
    win.select_names(["gang"])
    with qtbot.waitSignal(dialog.listed, timeout=WAIT):
        win.remove_action.trigger()
    qtbot.waitUntil(lambda: win.runner.pending == 0 and not dialog.loading, timeout=WAIT)
    assert session.store().find_concept("gang") is None
    assert first.group.regions in [s.group.regions for s in dialog.groups]  # offered again

    # a concept added elsewhere (the CLI here) shows in the library on refresh, and the dialog follows
    session.store().add_concept("rex", session.store().image_path(session.store().exemplars("bo")[0].image))
    with qtbot.waitSignal(dialog.listed, timeout=WAIT):
        win.refresh()


def test_a_name_taken_meanwhile_is_refused_and_nothing_changes(qtbot, album_window: MainWindow, session) -> None:
    win = album_window
    dialog = _open(qtbot, win)
    shown = dialog.groups[0]
    qtbot.waitUntil(lambda: win.runner.pending == 0, timeout=WAIT)
    errors: list[str] = []
    win.show_error = errors.append  # type: ignore[method-assign]
    dialog.name_selected()
    ask = dialog.name_dialog
    ask.name_edit.setText("rex")
    # another program (the CLI) adds <rex> before the naming reaches the store
    session.store().add_concept("rex", session.store().image_path(session.store().exemplars("bo")[0].image))
    ask.accept()
    qtbot.waitUntil(lambda: bool(errors) and not dialog.loading, timeout=WAIT)
    qtbot.waitUntil(lambda: win.runner.pending == 0, timeout=WAIT)
    assert "already exists" in errors[0]
    assert win.undo_stack.count() == 0 or not win.undo_stack.canUndo()
    assert _state(session, "rex")[:2] == (1, set())
    assert shown.group.regions in [s.group.regions for s in dialog.groups]


def test_nothing_to_suggest_says_so(qtbot, album_window: MainWindow) -> None:
    win = album_window
    win.settings.setValue("groups/min_size", 50)  # no group that large in 8 photos
    dialog = _open(qtbot, win)
    assert dialog.list.count() == 0 and dialog.stack.currentWidget() is dialog.empty
    assert dialog.empty.text() == EMPTY_TEXT and not dialog.name_button.isEnabled()


def test_hide_a_group_for_good_then_undo_and_redo(qtbot, album_window: MainWindow, session) -> None:
    win = album_window
    dialog = _open(qtbot, win)
    stranger = dialog.groups[0]
    hidden = "SELECT COUNT(*) FROM hidden_regions"
    dialog.list.setCurrentRow(0)
    assert dialog.hide_button.isEnabled()
    with qtbot.waitSignal(dialog.listed, timeout=WAIT):
        dialog.hide_button.click()
    qtbot.waitUntil(lambda: win.runner.pending == 0 and not dialog.loading, timeout=WAIT)
    assert session.store().conn.execute(hidden).fetchone() == (stranger.group.size,)
    offered = {r for s in dialog.groups for r in s.group.regions}
    assert not offered & set(stranger.group.regions)  # never offered again
    assert session.store().conn.execute("SELECT COUNT(*) FROM concepts").fetchone() == (1,)  # nothing named

    with qtbot.waitSignal(dialog.listed, timeout=WAIT):
        win.undo_action.trigger()
    qtbot.waitUntil(lambda: win.runner.pending == 0 and not dialog.loading, timeout=WAIT)
    assert session.store().conn.execute(hidden).fetchone() == (0,)
    assert stranger.group.regions in [s.group.regions for s in dialog.groups]
    assert stranger.group.id in [s.group.id for s in dialog.groups]  # back under the same id

    with qtbot.waitSignal(dialog.listed, timeout=WAIT):
        win.redo_action.trigger()
    qtbot.waitUntil(lambda: win.runner.pending == 0 and not dialog.loading, timeout=WAIT)
    assert session.store().conn.execute(hidden).fetchone() == (stranger.group.size,)
