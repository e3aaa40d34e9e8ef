"""Questions instead of controls: a selected box asks "Is this coach?"; Yes / No / Someone else /
New person or thing answer it (buttons or Y / N / S / M on the photo), and the panel says what each
answer did, every other box it changed included, with an Undo that takes it back."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from rap_desktop.core import retrieval as rv
from rap_desktop.ui.main_window import MainWindow

from .photo_helpers import WAIT, after, idle, open_corrections, open_photo, statuses


@pytest.fixture
def asked(qtbot, window: MainWindow, session, photos) -> MainWindow:
    """Two concepts, the coach's photo open in the quiet view, its recognised box selected, the photo focused."""
    store = session.store()
    store.add_concept("coach", photos["zidane"], "<coach> shouts.", "person", box=(750, 40, 1150, 710))
    store.add_concept("cat", photos["chelsea"], "<cat> is ours.", "cat")
    window.refresh()
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=WAIT)
    open_photo(qtbot, window, photos["zidane"])
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=WAIT)
    window.photo_view.setFocus()
    qtbot.waitUntil(window.photo_view.hasFocus, timeout=WAIT)
    window.photo_view.select_region(_known(window).id)
    return window


def _known(win: MainWindow) -> rv.RegionResult:
    return next(r for r in win.photos.current.result.regions if r.accepted)


def _names(win: MainWindow) -> dict[str, str | None]:
    return {r.id: r.accepted.concept if r.accepted else None for r in win.photos.current.result.regions}


def _key(qtbot, win: MainWindow, key: Qt.Key) -> None:
    with qtbot.waitSignal(win.photos.shown, timeout=WAIT):
        QTest.keyClick(win.photo_view, key)
    idle(qtbot, win)


def _also(win: MainWindow, before: dict[str, str | None], answered: str) -> None:
    """The note names one more sentence for every other box whose name changed."""
    after_ = _names(win)
    changed = [r for r in after_ if r != answered and r in before and before[r] != after_[r]]
    assert win.photos.panel.note.text().count("Also:") == len(changed)
    for region_id in changed:
        assert (before[region_id] or after_[region_id]) in win.photos.panel.note.text()


def test_yes_says_what_it_did_and_undo_takes_it_back(qtbot, asked: MainWindow, session) -> None:
    win, store, panel = asked, session.store(), asked.photos.panel
    region = _known(win)
    name = region.accepted.concept
    assert panel.ask.text() == f"Is this {name}?" and panel.ask.isVisible()
    photos_before = len(store.exemplars(name))
    before = _names(win)
    _key(qtbot, win, Qt.Key.Key_Y)
    assert statuses(store, win, region.id) == {name: "confirmed"}
    assert len(store.exemplars(name)) == photos_before + 1
    assert f"Added to {name}'s photos" in panel.note.text() and ">Undo<" in panel.note.text()
    assert panel.note.isVisible()
    _also(win, before, region.id)

    after(qtbot, win, lambda: panel.note.linkActivated.emit("undo"))  # the note's own Undo
    assert statuses(store, win, region.id) == {}
    assert len(store.exemplars(name)) == photos_before
    assert panel.note.text() == f"Undone: Added to {name}'s photos"
    assert open_corrections(store) == [("confirm", 1)]


def test_no_says_so_and_names_every_box_it_changed(qtbot, asked: MainWindow, session, photos) -> None:
    """A "No" can hand the name to another box, or take a look-alike's: the note says so for each."""
    win, store, panel = asked, session.store(), asked.photos.panel
    store.add_concept("bus", photos["bus"], "<bus>.", "thing")
    win.refresh()
    qtbot.waitUntil(lambda: win.model.rowCount() == 3, timeout=WAIT)
    open_photo(qtbot, win, photos["astronaut"])
    also = 0
    for region in [r for r in win.photos.current.result.regions if r.accepted]:
        name = region.accepted.concept
        win.photo_view.select_region(region.id)
        before = _names(win)
        _key(qtbot, win, Qt.Key.Key_N)
        assert statuses(store, win, region.id) == {name: "rejected"}
        assert panel.note.text().startswith(f"Noted: this is not {name}")
        _also(win, before, region.id)
        also += panel.note.text().count("Also:")
        after(qtbot, win, win.undo_action.trigger)  # Ctrl+Z says so in the same place
        assert statuses(store, win, region.id) == {}
        assert panel.note.text() == f"Undone: Noted: this is not {name}"
        assert _names(win) == before
    assert also >= 1  # some "No" here did change another box


def test_someone_else_picks_another_and_undo(qtbot, asked: MainWindow, session) -> None:
    win, store, panel = asked, session.store(), asked.photos.panel
    region = _known(win)
    old = region.accepted.concept
    other = "cat" if old == "coach" else "coach"
    before = _names(win)
    QTest.keyClick(win.photo_view, Qt.Key.Key_S)
    picker = win.photos.dialog
    assert picker is not None and "#" not in picker.windowTitle() and region.id not in picker.windowTitle()
    picker.search.setText(other)
    after(qtbot, win, picker.accept)
    assert statuses(store, win, region.id) == {old: "reassigned", other: "confirmed"}
    assert f"Now {other}: added to {other}'s photos" in panel.note.text()
    _also(win, before, region.id)
    after(qtbot, win, lambda: panel.note.linkActivated.emit("undo"))
    assert statuses(store, win, region.id) == {}
    assert win.photo_view.items_by_id[region.id].label.text() == old


def test_new_person_from_a_recognised_box_does_not_reject_the_old_one(qtbot, asked: MainWindow, session) -> None:
    """The box held coach; naming a new concept from it leaves coach unrejected (no negative, no "no")."""
    win, store, panel = asked, session.store(), asked.photos.panel
    region = _known(win)
    old = region.accepted.concept
    win.photos.new_action.trigger()
    dialog = win.photos.dialog
    dialog.name_edit.setText("ball")
    after(qtbot, win, dialog.accept)
    qtbot.waitUntil(lambda: win.model.row_of("ball") >= 0, timeout=WAIT)
    assert statuses(store, win, region.id) == {"ball": "confirmed"}
    assert store.conn.execute("SELECT COUNT(*) FROM negatives").fetchone()[0] == 0
    shown = next(r for r in win.photos.current.result.regions if r.id == region.id)
    assert shown.accepted.concept == "ball"
    assert all(c.decision not in (rv.REJECTED, rv.SUPPRESSED) for c in shown.candidates if c.concept == old)
    assert "Remembered ball from this box" in panel.note.text()
    after(qtbot, win, win.undo_action.trigger)
    assert store.find_concept("ball") is None and statuses(store, win, region.id) == {}


def test_arrows_move_between_boxes(qtbot, asked: MainWindow) -> None:
    win = asked
    win.photos.everything_action.setChecked(True)  # more than one box to move between
    view = win.photo_view
    boxes = sorted(
        (i for i in view.region_items() if not i.whole), key=lambda i: (i.rect().center().x(), i.rect().center().y())
    )
    assert len(boxes) >= 2
    view.select_region("")
    QTest.keyClick(view, Qt.Key.Key_Right)
    assert view.selected_region() == boxes[0].region_id
    QTest.keyClick(view, Qt.Key.Key_Right)
    assert view.selected_region() == boxes[1].region_id
    QTest.keyClick(view, Qt.Key.Key_Left)
    assert view.selected_region() == boxes[0].region_id
    name = boxes[0].look.label.rsplit(" ", 1)[0]  # "coach 0.91": the name as typed, its score
    assert win.photos.panel.ask.text() in ("Who or what is this?", f"Is this {name}?")
