"""The photo view for a family: by default only what it recognises, outlined with the name alone;
everything it found (unknown boxes, scores) behind one toggle; tags never cover one another."""

from __future__ import annotations

import itertools

import pytest

from rap_desktop.ui.main_window import MainWindow

from .photo_helpers import WAIT, open_photo


@pytest.fixture
def coach(qtbot, window: MainWindow, session, photos) -> MainWindow:
    session.store().add_concept("coach", photos["zidane"], "<coach> shouts.", "person", box=(750, 40, 1150, 710))
    session.store().add_concept("cat", photos["chelsea"], "<cat> is ours.", "cat")
    window.refresh()
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=WAIT)
    return window


def test_quiet_by_default_and_everything_behind_one_toggle(qtbot, coach: MainWindow, photos) -> None:
    win = coach
    open_photo(qtbot, win, photos["zidane"])
    regions = win.photos.current.result.regions
    known = [r for r in regions if r.accepted]
    unknown = [r for r in regions if not r.accepted and r.source != "whole"]
    assert known and unknown  # the photo has both, or the test proves nothing
    view, panel = win.photo_view, win.photos.panel

    # quiet: the recognised boxes only, each tagged with the bare name; nothing else on the photo
    assert not win.photos.everything_action.isChecked()
    assert set(view.items_by_id) == {r.id for r in known}
    for region in known:
        item = view.items_by_id[region.id]
        assert item.label.text() == region.accepted.concept  # no score, id or brackets
        assert item.label.isVisible()
    assert panel.regions.rowCount() == len(known)
    texts = [panel.regions.data(panel.regions.index(row)) for row in range(panel.regions.rowCount())]
    for text in [*texts, panel.summary.text()]:
        assert "<" not in text and "0." not in text and not any(r.id in text.split() for r in regions)
    assert all(t.endswith(("(sure)", "(probably)", "(maybe)")) for t in texts)
    label = win.photos.everything_action.text().replace("&", "")
    assert label == f"Show everything it found ({len(unknown)})"
    assert panel.everything_button.defaultAction() is win.photos.everything_action

    # everything: today's full view, scores and unknown boxes, the whole photo never as a box
    panel.everything_button.click()
    assert win.photos.everything_action.isChecked()
    assert set(view.items_by_id) == {r.id for r in regions}
    for region in known:
        assert view.items_by_id[region.id].look.label == f"{region.accepted.concept} {region.accepted.similarity:.2f}"
    assert all(view.items_by_id[r.id].look.label.startswith(("unknown", "not ")) for r in unknown)
    assert panel.regions.rowCount() == len(regions)
    assert all(_painted_nothing(i) for i in view.region_items() if i.whole)

    win.photos.everything_action.trigger()  # and back
    assert set(view.items_by_id) == {r.id for r in known}


def test_the_whole_photo_is_never_a_box(qtbot) -> None:
    from rap_desktop.ui.photo.region_items import RegionItem, RegionLook

    whole = RegionItem("r0", (0, 0, 640, 480), RegionLook("unknown 0.91", "below"), whole=True)
    part = RegionItem("r1", (0, 0, 640, 480), RegionLook("unknown 0.91", "below"))
    assert _painted_nothing(whole) and not _painted_nothing(part)


def _painted_nothing(item) -> bool:
    from PySide6.QtGui import QImage, QPainter

    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    painter.scale(64 / max(1.0, item.rect().width()), 64 / max(1.0, item.rect().height()))
    item.paint(painter, None)
    painter.end()
    return all(image.pixel(x, y) == 0 for x in range(0, 64, 4) for y in range(0, 64, 4))


@pytest.mark.parametrize("everything", [False, True])
def test_tags_never_overlap_at_any_zoom(qtbot, coach: MainWindow, photos, everything: bool) -> None:
    win = coach
    win.photos.everything_action.setChecked(everything)
    seen = 0
    for name in ("zidane", "bus", "astronaut", "coffee"):
        open_photo(qtbot, win, photos[name])
        view = win.photo_view
        for zoom in (None, 0.3, 0.5, 2.0, 4.0):
            if zoom is None:
                view.fit()
            else:
                view.fit()
                view.zoom(zoom)
            rects = view.label_rects()
            seen += len(rects)
            for a, b in itertools.combinations(rects, 2):
                assert not a.intersects(b), (name, zoom, a, b)
    assert seen > 20  # enough tags were on screen to collide
