"""The photo view on tiny real-format models and package photos: registering from a dropped photo
with a detected region, retrieval drawn box by box, zoom/fit, mentions, drops on the view."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF

from rap_desktop.core.images import load_image
from rap_desktop.ui.main_window import MainWindow
from rap_desktop.ui.photo.photo_view import dropped_concept

from .photo_helpers import WAIT, drop, file_mime, idle, open_photo


def test_dropped_photo_registers_a_detected_region(qtbot, window: MainWindow, session, photos) -> None:
    event = drop(window, file_mime(photos["zidane"]), QPointF(20, 200))  # on the library side
    assert event.isAccepted()
    qtbot.waitUntil(lambda: window.commands.dialog is not None, timeout=WAIT)
    dialog = window.commands.dialog
    picker = dialog.picker
    assert picker is not None and dialog.box() is None  # the whole photo until a box is picked
    qtbot.waitUntil(lambda: bool(picker.labels), timeout=WAIT)  # the detector answered (store lane)
    items = picker.view.region_items()
    assert len(items) == len(picker.labels) > 0
    chosen = items[0]
    picker.view.select_region(chosen.region_id)
    assert dialog.box() == chosen.box
    assert dialog.category() == picker.labels[chosen.region_id]  # suggested from the detector label
    dialog.category_edit.setText("person")  # the user's word wins over later picks
    picker.view.select_region(items[-1].region_id)
    assert dialog.category() == "person"
    dialog.name_edit.setText("zizou")
    dialog.accept()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    idle(qtbot, window)
    store = session.store()
    (exemplar,) = store.exemplars("zizou")
    assert exemplar.box == items[-1].box
    assert store.get_concept("zizou").category == "person"
    # usable by the very next question: the concept is found in the same photo
    result = session.retriever().retrieve(load_image(photos["zidane"]), "Where is <zizou>?")
    assert [c.name for c in result.concepts][:1] == ["zizou"]


def test_register_dialog_draws_its_own_box(qtbot, window: MainWindow, session, photos) -> None:
    window.commands.register_paths([photos["coffee"]])
    qtbot.waitUntil(lambda: window.commands.dialog is not None, timeout=WAIT)
    dialog = window.commands.dialog
    view = dialog.picker.view
    dialog.picker.draw_button.setChecked(True)
    assert view.drawing
    view.box_drawn.emit((10.0, 20.0, 210.0, 220.0))  # what a drag on the photo reports
    assert not view.drawing and dialog.box() == (10.0, 20.0, 210.0, 220.0)
    dialog.picker.whole_button.click()
    assert dialog.box() is None
    view.select_region("drawn")
    dialog.name_edit.setText("cup")
    dialog.accept()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    idle(qtbot, window)
    assert session.store().exemplars("cup")[0].box == (10.0, 20.0, 210.0, 220.0)


def test_retrieval_draws_every_region(qtbot, window: MainWindow, session, photos) -> None:
    window.photos.everything_action.setChecked(True)  # the full view (every region, scores): quiet is the default
    session.store().add_concept("coach", photos["zidane"], category="person", box=(750, 40, 1150, 710))
    window.refresh()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    open_photo(qtbot, window, photos["zidane"])
    # the same answer through the core (regions are stored: no model run, same decisions)
    expected = session.retriever().retrieve(load_image(photos["zidane"]))
    items = window.photo_view.region_items()
    assert len(items) == len(expected.regions) == window.photos.panel.regions.rowCount()
    assert {i.region_id for i in items} == {r.id for r in expected.regions}
    for region in expected.regions:
        item = window.photo_view.items_by_id[region.id]
        assert item.box == region.box
        if region.accepted:
            assert item.look.label.startswith(f"{region.accepted.concept} ") and item.look.style == "accepted"
        else:
            assert item.look.label.startswith(("unknown", "not ")) and item.look.style != "accepted"
    assert any(r.accepted for r in expected.regions)  # the registered crop is found again

    # hover / select shows the region's candidates beside its crop
    region = next(r for r in expected.regions if r.candidates)
    window.photo_view.select_region(region.id)
    panel = window.photos.panel
    assert panel.current_region() == region.id
    assert panel.candidates.rowCount() == len(region.candidates)
    assert panel.crop.pixmap() is not None and not panel.crop.pixmap().isNull()
    window.photo_view.region_hovered.emit("")  # pointer left: the selection is shown again
    assert panel.region_title.text().startswith(region.id)

    # zoom in, out, fit (View menu / Ctrl++, Ctrl+-, Ctrl+0)
    fitted = window.photo_view.transform().m11()
    window.photos.zoom_in_action.trigger()
    assert window.photo_view.transform().m11() > fitted
    window.photos.zoom_out_action.trigger()
    window.photos.zoom_out_action.trigger()
    assert window.photo_view.transform().m11() < fitted
    window.photos.fit_action.trigger()
    assert abs(window.photo_view.transform().m11() - fitted) < 1e-6


def test_question_mentions_are_marked(qtbot, window: MainWindow, session, photos) -> None:
    """The question is asked in the Assistant's chat, the one question box; the photo view stars
    and lists the names it mentions."""
    window.photos.everything_action.setChecked(True)  # the full view (every region, scores): quiet is the default
    session.store().add_concept("coach", photos["zidane"], category="person")
    window.refresh()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    open_photo(qtbot, window, photos["zidane"])
    panel, chat = window.photos.panel, window.assistant.panel
    assert chat.photo == photos["zidane"]
    chat.question_edit.setText("Is <coach> with <nobody>?")
    with qtbot.waitSignals([window.photos.shown, chat.answer_finished], timeout=WAIT):
        chat.send_button.click()
    assert "coach ✓" in panel.mentions.text() and "nobody (not remembered)" in panel.mentions.text()
    assert window.photos.current.result.concepts[0].reason == "mention"
    assert "named in the question" in panel.summary.text()
    starred = [i for i in window.photo_view.region_items() if i.look.label.endswith("★")]
    accepted = [r for r in window.photos.current.result.regions if r.accepted]
    assert len(starred) == len(accepted) >= 1


def test_drop_on_the_photo_view_opens_it(qtbot, window: MainWindow, photos) -> None:
    window.photos.everything_action.setChecked(True)  # the full view (every region, scores): quiet is the default
    view = window.photo_view
    assert view.hint.isVisible()
    with qtbot.waitSignal(window.photos.shown, timeout=WAIT):
        event = drop(view, file_mime(photos["coffee"]), QPointF(view.width() / 2, view.height() / 2))
    assert event.isAccepted()
    assert window.photos.path == photos["coffee"] and not view.hint.isVisible()
    assert window.windowTitle().startswith("coffee.png")
    assert window.commands.dialog is None  # not a registration
    assert view.region_items()  # at least the whole photo
    idle(qtbot, window)
    assert "embedder on cpu" in window.status_line.detail("models")


def test_library_drags_a_concept_by_name(qtbot, window: MainWindow, session, photos) -> None:
    session.store().add_concept("cat", photos["chelsea"])
    window.refresh()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    mime = window.proxy.mimeData([window.proxy.index(0, 0)])
    assert dropped_concept(mime) == "cat"


def test_closing_with_work_in_flight_leaves_no_threads(qtbot, window: MainWindow, photos) -> None:
    window.photos.open_path(photos["bus"])
    qtbot.waitUntil(lambda: window.photos.loaded is not None, timeout=WAIT)  # decoded: retrieval queued
    assert window.runner.pending > 0
    window.close()  # waits for the store lane's retrieval, drops the rest
    lanes = window.runner._lanes.values()
    assert all(pool.activeThreadCount() == 0 for pool in lanes)
    assert window.runner.pending == 0


def test_photo_dropped_on_a_concept_adds_another_photo_of_it(qtbot, window: MainWindow, session, photos) -> None:
    session.store().add_concept("cat", photos["chelsea"], "<cat> is ours.", "cat")
    window.refresh()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    rect = window.list_view.visualRect(window.proxy.index(0, 0))
    pos = window.list_view.viewport().mapTo(window, rect.center())
    drop(window, file_mime(photos["astronaut"]), QPointF(pos))
    qtbot.waitUntil(lambda: window.commands.dialog is not None, timeout=WAIT)
    dialog = window.commands.dialog
    assert dialog.adding_to == "cat" and dialog.windowTitle() == "Add a photo of cat"
    assert dialog.ok_button.isEnabled() and not dialog.name_edit.isEnabled()
    assert dialog.info() == "<cat> is ours."
    qtbot.waitUntil(lambda: bool(dialog.picker.labels), timeout=WAIT)
    item = dialog.picker.view.region_items()[0]
    dialog.picker.view.select_region(item.region_id)
    assert dialog.category() == "cat"  # the concept's own category is kept
    dialog.accept()
    qtbot.waitUntil(lambda: "Added a photo to cat." in window.statusBar().currentMessage(), timeout=WAIT)
    idle(qtbot, window)
    shots = session.store().exemplars("cat")
    assert len(shots) == 2 and shots[1].box == item.box


def test_a_grounding_answer_is_drawn_on_its_photo(qtbot, window: MainWindow, photos) -> None:
    open_photo(qtbot, window, photos["coffee"])
    chat = window.assistant.panel
    assert chat.photo == photos["coffee"]  # the chat asks about the photo on view
    regions = len(window.photo_view.region_items())
    qtbot.waitUntil(lambda: chat.context is not None, timeout=WAIT)
    chat.box_found.emit((10, 20, 110, 220), chat.context)
    answer = window.photo_view.answer
    assert answer is not None and answer.box == (10.0, 20.0, 110.0, 220.0)
    assert len(window.photo_view.region_items()) == regions  # not a region: nothing to correct
    assert window.photo_view.region_at(window.photo_view.mapFromScene(60, 120)) is not answer
    chat.set_photo(photos["bus"])  # an answer about another photo is not drawn here
    chat.box_found.emit((0, 0, 50, 50), chat.photo)
    assert window.photo_view.answer is answer


def test_click_selects_a_box_and_drag_pans_the_zoomed_photo(qtbot, window: MainWindow, photos) -> None:
    from PySide6.QtCore import Qt

    window.photos.everything_action.setChecked(True)  # the full view (every region, scores): quiet is the default
    open_photo(qtbot, window, photos["bus"])
    view = window.photo_view
    item = min((i for i in view.region_items() if not i.whole), key=lambda i: i.rect().width() * i.rect().height())
    where = view.mapFromScene(item.rect().center())
    expected = view.region_at(where)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert view.selected_region() == expected.region_id
    assert window.photos.panel.current_region() == expected.region_id  # the side panel follows
    for _ in range(4):
        view.zoom_in()
    bar = view.horizontalScrollBar()
    start = bar.value()
    centre = view.viewport().rect().center()
    qtbot.mousePress(view.viewport(), Qt.MouseButton.MiddleButton, pos=centre)
    qtbot.mouseMove(view.viewport(), pos=centre + QPoint(-120, 0))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.MiddleButton, pos=centre + QPoint(-120, 0))
    assert bar.value() == min(bar.maximum(), start + 120)


def test_a_sharper_tile_asked_after_close_is_dropped_quietly(qtbot, window: MainWindow, photos) -> None:
    from PySide6.QtCore import QRectF

    open_photo(qtbot, window, photos["bus"])
    idle(qtbot, window)
    window.runner.shutdown()  # the window is closing; the view's detail timer may still fire once
    window.photo_view.detail_wanted.emit(QRectF(0, 0, 64, 64), 1.0)  # raised "the task runner is shut down"
    assert window.runner.pending == 0
