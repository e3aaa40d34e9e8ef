"""Correcting retrieval in the window: confirm, reject, reassign (picker), a concept dropped on a
box, a drawn box, each undone and redone, checked in the store through the core."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from rap_desktop.core import health
from rap_desktop.core.images import load_image
from rap_desktop.ui.main_window import MainWindow
from rap_desktop.ui.photo.photo_view import concept_mime

from .photo_helpers import WAIT, after, centre_of, drop, file_mime, idle, open_corrections, open_photo, statuses


@pytest.fixture
def opened(qtbot, window: MainWindow, session, photos) -> MainWindow:
    """Two concepts, and the coach's photo open (one region holds <coach>)."""
    window.photos.everything_action.setChecked(True)  # the full view (every region, scores): quiet is the default
    store = session.store()
    store.add_concept("coach", photos["zidane"], "<coach> shouts.", "person", box=(750, 40, 1150, 710))
    store.add_concept("cat", photos["chelsea"], "<cat> is ours.", "cat")
    window.refresh()
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=WAIT)
    open_photo(qtbot, window, photos["zidane"])
    return window


def _accepted_region(win: MainWindow):
    return next(r for r in win.photos.current.result.regions if r.accepted)


def test_confirm_reject_undo_redo(qtbot, opened: MainWindow, session) -> None:
    win, store = opened, session.store()
    region = _accepted_region(win)
    name = region.accepted.concept
    exemplars = len(store.exemplars(name))
    win.photo_view.select_region(region.id)
    assert win.photos.confirm_action.isEnabled()

    after(qtbot, win, win.photos.confirm_action.trigger)
    assert statuses(store, win, region.id) == {name: "confirmed"}
    assert len(store.exemplars(name)) == exemplars + 1  # the crop became a photo of the concept
    assert win.photo_view.items_by_id[region.id].look.label == f"✓ {name}"
    assert win.undo_stack.undoText() == f"Yes, this is {name}"  # plain words: no region id, no brackets
    button = win.main_toolbar.widgetForAction(win.undo_action)
    assert button.text() == "Undo"  # short on the toolbar, the whole story in its tooltip
    assert win.undo_action.toolTip() == f"Undo Yes, this is {name}"

    after(qtbot, win, win.undo_action.trigger)  # Ctrl+Z
    assert statuses(store, win, region.id) == {}
    assert len(store.exemplars(name)) == exemplars
    assert open_corrections(store) == [("confirm", 1)]
    assert not win.photo_view.items_by_id[region.id].look.label.startswith("✓")

    after(qtbot, win, win.redo_action.trigger)  # Ctrl+Shift+Z re-applies it
    assert statuses(store, win, region.id) == {name: "confirmed"}
    assert open_corrections(store) == [("confirm", 1), ("confirm", 0)]

    after(qtbot, win, win.undo_action.trigger)
    win.photo_view.select_region(region.id)
    after(qtbot, win, win.photos.reject_action.trigger)
    assert statuses(store, win, region.id) == {name: "rejected"}
    assert store.conn.execute("SELECT COUNT(*) FROM negatives").fetchone()[0] == 1
    redrawn = win.photo_view.items_by_id[region.id]
    assert not redrawn.look.label.startswith(f"{name} ")  # no longer named so
    candidate = next(c for r in win.photos.current.result.regions if r.id == region.id for c in r.candidates)
    assert candidate.concept != name or candidate.decision == "rejected"

    after(qtbot, win, win.undo_action.trigger)
    assert statuses(store, win, region.id) == {}
    assert store.conn.execute("SELECT COUNT(*) FROM negatives").fetchone()[0] == 0
    assert win.photo_view.items_by_id[region.id].look.label.startswith(f"{name} ")


def test_reassign_with_the_picker_and_undo(qtbot, opened: MainWindow, session) -> None:
    win, store = opened, session.store()
    region = _accepted_region(win)
    old = region.accepted.concept
    other = "cat" if old == "coach" else "coach"
    win.photo_view.select_region(region.id)
    win.photos.reassign_action.trigger()
    picker = win.photos.dialog
    assert picker is not None
    picker.search.setText(other[:2].upper())  # searchable, case-insensitive
    assert picker.chosen() == other
    after(qtbot, win, picker.accept)
    assert statuses(store, win, region.id) == {old: "reassigned", other: "confirmed"}
    item = win.photo_view.items_by_id[region.id]
    assert item.look.label == f"✓ {other}"
    after(qtbot, win, win.undo_action.trigger)
    assert statuses(store, win, region.id) == {}
    assert win.photo_view.items_by_id[region.id].look.label.startswith(f"{old} ")


def test_new_concept_from_a_box_and_undo(qtbot, opened: MainWindow, session) -> None:
    win, store = opened, session.store()
    region = next(r for r in win.photos.current.result.regions if not r.accepted)
    win.photo_view.select_region(region.id)
    win.photos.new_action.trigger()
    dialog = win.photos.dialog
    assert dialog.category() == (region.label if region.source == "detector" else "")
    dialog.name_edit.setText("coach")
    assert not dialog.ok_button.isEnabled()  # taken: said inline
    dialog.name_edit.setText("ball")
    after(qtbot, win, dialog.accept)
    qtbot.waitUntil(lambda: win.model.row_of("ball") >= 0, timeout=WAIT)
    assert statuses(store, win, region.id)["ball"] == "confirmed"
    after(qtbot, win, win.undo_action.trigger)
    assert store.find_concept("ball") is None
    qtbot.waitUntil(lambda: win.model.row_of("ball") < 0, timeout=WAIT)


def test_concept_dropped_on_a_box_is_assigned(qtbot, opened: MainWindow, session) -> None:
    win, store = opened, session.store()
    target = next(i for i in win.photo_view.region_items() if not i.whole)
    pos = centre_of(win, target)
    hit = win.photo_view.region_at(pos.toPoint())  # the topmost box at that point takes the drop
    assert hit is not None
    region = win.photos.region(hit.region_id)
    name = "cat" if not (region.accepted and region.accepted.concept == "cat") else "coach"
    with qtbot.waitSignal(win.photos.shown, timeout=WAIT):
        event = drop(win.photo_view, concept_mime(name), pos)
    assert event.isAccepted()
    idle(qtbot, win)
    assert statuses(store, win, hit.region_id)[name] == "confirmed"
    assert win.photo_view.items_by_id[hit.region_id].look.label == f"✓ {name}"
    assert win.photo_view.selected_region() == hit.region_id


def test_drawn_box_becomes_a_region_and_is_assigned(qtbot, opened: MainWindow, session, photos) -> None:
    win, store = opened, session.store()
    view = win.photo_view
    before = len(view.region_items())
    win.photos.draw_action.trigger()  # B
    assert view.drawing
    start, end = view.mapFromScene(20, 30), view.mapFromScene(300, 330)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view.viewport(), pos=QPoint((start.x() + end.x()) // 2, (start.y() + end.y()) // 2))
    with qtbot.waitSignal(win.photos.shown, timeout=WAIT):
        qtbot.mouseMove(view.viewport(), pos=end)
        qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=end)
    assert not view.drawing
    assert len(view.region_items()) == before + 1
    drawn = win.photos.current.result.regions[-1]
    assert drawn.source == "user"
    assert drawn.box[0] == pytest.approx(20, abs=3) and drawn.box[3] == pytest.approx(330, abs=3)
    assert view.selected_region() == drawn.id
    qtbot.waitUntil(lambda: win.photos.dialog is not None, timeout=WAIT)  # "who or what is in it?"
    picker = win.photos.dialog
    picker.search.setText("cat")
    after(qtbot, win, picker.accept)
    assert statuses(store, win, drawn.id)["cat"] == "confirmed"
    # the same region through the core, as the CLI sees it
    again = session.retriever().retrieve(load_image(photos["zidane"]))
    assert next(r for r in again.regions if r.id == drawn.id).accepted.concept == "cat"


def test_remove_and_edit_are_undone(qtbot, opened: MainWindow, session) -> None:
    win, store = opened, session.store()
    win.confirm = lambda title, text: True  # type: ignore[method-assign]
    info = store.get_concept("coach").info
    win.select_names(["coach"])
    win.remove_action.trigger()
    qtbot.waitUntil(lambda: win.model.row_of("coach") < 0, timeout=WAIT)
    idle(qtbot, win)
    assert store.find_concept("coach") is None
    win.undo_action.trigger()
    qtbot.waitUntil(lambda: win.model.row_of("coach") >= 0, timeout=WAIT)
    idle(qtbot, win)
    back = store.get_concept("coach")
    assert back.info == info and back.category == "person" and back.exemplar_count == 1
    assert store.exemplars("coach")[0].box == (750.0, 40.0, 1150.0, 710.0)
    # its embedding came back with it (no re-embedding needed), and the photo finds it again
    vectors = store.conn.execute(
        "SELECT COUNT(*) FROM embeddings m JOIN exemplars x ON x.id = m.exemplar_id WHERE x.concept_id = ?", (back.id,)
    ).fetchone()[0]
    assert vectors == 1
    again = session.retriever().retrieve(load_image(win.photos.path))
    assert any(r.accepted and r.accepted.concept == "coach" for r in again.regions)

    win.select_names(["coach"])
    win.edit_action.trigger()
    dialog = win.commands.dialog
    dialog.name_edit.setText("trainer")
    dialog.accept()
    qtbot.waitUntil(lambda: win.model.row_of("trainer") >= 0, timeout=WAIT)
    idle(qtbot, win)
    assert store.get_concept("trainer").info == "<trainer> shouts."
    win.undo_action.trigger()
    qtbot.waitUntil(lambda: win.model.row_of("coach") >= 0, timeout=WAIT)
    idle(qtbot, win)
    assert store.get_concept("coach").info == "<coach> shouts."


def test_undo_of_remove_brings_back_the_corrections(qtbot, opened: MainWindow, session) -> None:
    """Confirm a box, remove the concept, undo: the confirmed crop, the confirmed match and the
    concept's other rows are back, and the confirm itself can still be undone after that."""
    win, store = opened, session.store()
    win.confirm = lambda title, text: True  # type: ignore[method-assign]
    region = _accepted_region(win)
    name = region.accepted.concept
    win.photo_view.select_region(region.id)
    after(qtbot, win, win.photos.confirm_action.trigger)
    concept_id = store.get_concept(name).id

    def rows() -> tuple:
        q, of = store.conn.execute, (concept_id,)
        return (
            q("SELECT id, image, box, source FROM exemplars WHERE concept_id = ? ORDER BY id", of).fetchall(),
            q("SELECT region_id, status, accepted FROM matches WHERE concept_id = ? ORDER BY 1", of).fetchall(),
        )

    before = rows()
    assert len(before[0]) == 2 and ("confirmed", 1) in {(s, a) for _, s, a in before[1]}
    win.select_names([name])
    after(qtbot, win, win.remove_action.trigger)
    assert store.find_concept(name) is None and rows() == ([], [])
    assert win.undo_stack.undoText().startswith("Remove")

    after(qtbot, win, win.undo_action.trigger)
    qtbot.waitUntil(lambda: win.model.row_of(name) >= 0, timeout=WAIT)
    assert store.get_concept(name).id == concept_id
    assert rows() == before
    assert statuses(store, win, region.id) == {name: "confirmed"}
    assert win.photo_view.items_by_id[region.id].look.label == f"✓ {name}"  # drawn as confirmed again

    after(qtbot, win, win.undo_action.trigger)  # the confirm, from before the removal
    assert statuses(store, win, region.id) == {}
    assert len(store.exemplars(name)) == 1
    assert open_corrections(store) == [("confirm", 1)]
    assert health.check(store) == []


def test_letter_shortcuts_stay_letters_in_text_boxes_and_lists(qtbot, opened: MainWindow, session) -> None:
    """C / X / R / M / B act on the selected box only from the photo or the regions panel; typed
    into the search box or the chat box they are text, in the concept list they are type-ahead."""
    from PySide6.QtTest import QTest

    win, store = opened, session.store()
    win.activateWindow()
    qtbot.waitUntil(lambda: win.isActiveWindow(), timeout=WAIT)
    region = _accepted_region(win)
    win.photo_view.select_region(region.id)
    assert win.photos.confirm_action.isEnabled()
    for box in (win.search, win.assistant.panel.question_edit):
        box.setFocus()
        qtbot.waitUntil(box.hasFocus, timeout=WAIT)
        QTest.keyClicks(box, "cxrmb")
        assert box.text() == "cxrmb"
        box.clear()
    win.list_view.setFocus()
    qtbot.waitUntil(win.list_view.hasFocus, timeout=WAIT)
    win.list_view.setCurrentIndex(win.proxy.mapFromSource(win.model.index(win.model.row_of("cat"))))
    QTest.keyClicks(win.list_view, "co")  # type-ahead over the shown names: coach
    assert win.proxy.data(win.list_view.currentIndex()) == "coach"
    idle(qtbot, win)
    assert open_corrections(store) == [] and win.undo_stack.count() == 0
    assert win.photos.dialog is None and not win.photos.draw_action.isChecked()

    win.photo_view.setFocus()  # on the photo the letters are the region actions
    qtbot.waitUntil(win.photo_view.hasFocus, timeout=WAIT)
    with qtbot.waitSignal(win.photos.shown, timeout=WAIT):
        QTest.keyClick(win.photo_view, Qt.Key.Key_C)
    idle(qtbot, win)
    assert open_corrections(store) == [("confirm", 0)]
    QTest.keyClick(win.photo_view, Qt.Key.Key_B)
    assert win.photos.draw_action.isChecked()


def test_a_failed_correction_is_a_message_and_leaves_no_undo_step(
    qtbot, window: MainWindow, session, photos, tmp_path
) -> None:
    session.store().add_concept("coach", photos["zidane"], category="person")
    window.refresh()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    copy = tmp_path / "moved.jpg"
    copy.write_bytes(photos["zidane"].read_bytes())
    open_photo(qtbot, window, copy)
    copy.unlink()  # the photo went away after it was retrieved: the crop cannot be read
    errors: list[tuple[str, str]] = []
    window.show_error = lambda message, details="": errors.append((message, details))  # type: ignore[method-assign]
    region = _accepted_region(window)
    window.photo_view.select_region(region.id)
    window.photos.confirm_action.trigger()
    qtbot.waitUntil(lambda: bool(errors), timeout=WAIT)
    idle(qtbot, window)
    # in plain words, what was not done and why; the path and the store's own text behind Details
    said, details = errors[0]
    assert said.startswith("Yes, this is coach: not done.") and "no longer where it was" in said
    assert str(copy) not in said and "no longer at" in details and str(copy) in details
    assert window.undo_stack.count() == 0 and not window.undo_action.isEnabled()
    assert statuses(session.store(), window, region.id) == {}


def test_the_whole_story_from_a_dropped_photo_to_an_undone_fix(qtbot, window: MainWindow, session, photos) -> None:
    """Drag in a photo -> a concept; open another photo -> boxed with its name; reject it; undo."""
    window.photos.everything_action.setChecked(True)  # the full view (every region, scores): quiet is the default
    drop(window, file_mime(photos["zidane"]), QPointF(20, 200))
    qtbot.waitUntil(lambda: window.commands.dialog is not None, timeout=WAIT)
    dialog = window.commands.dialog
    dialog.name_edit.setText("coach")
    dialog.accept()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    open_photo(qtbot, window, photos["bus"])
    named = [i for i in window.photo_view.region_items() if i.look.label.startswith("coach ")]
    assert len(named) == 1  # one box carries the name (one slot per concept)
    region_id = named[0].region_id
    window.photo_view.select_region(region_id)
    after(qtbot, window, window.photos.reject_action.trigger)
    assert statuses(session.store(), window, region_id) == {"coach": "rejected"}
    assert not window.photo_view.items_by_id[region_id].look.label.startswith("coach ")
    after(qtbot, window, window.undo_action.trigger)
    assert statuses(session.store(), window, region_id) == {}
    assert window.photo_view.items_by_id[region_id].look.label.startswith("coach ")
