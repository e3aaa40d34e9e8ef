"""Album ▸ Import people tags…: the names other apps wrote in an indexed album (a digiKam sidecar on a
stored region, a keyword-only name), listed in plain words with a tick box each, imported through the
window's undo stack (undo and redo), read on the store lane with a counting bar and Stop. Also the
"why?" words for a concept that came along through another's description."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt

from rap_desktop.core.album.indexer import Indexer
from rap_desktop.core.assistant import RelatedConcept
from rap_desktop.core.session import Session
from rap_desktop.core.store import photos as photo_rows
from rap_desktop.ui.album.import_tags_dialog import ImportTagsDialog
from rap_desktop.ui.assistant.why_dialog import _why, sentence
from rap_desktop.ui.main_window import MainWindow

from .windows import shown_window

WAIT = 30_000
SIDE = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:digiKam="http://www.digikam.org/ns/1.0/" '
    'xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/" '
    'xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#">'
    "<digiKam:TagsList><rdf:Seq><rdf:li>People/{name}</rdf:li></rdf:Seq></digiKam:TagsList>{regions}"
    "</rdf:Description></rdf:RDF></x:xmpmeta>"
)
REGION = (
    '<mwg-rs:Regions rdf:parseType="Resource"><mwg-rs:RegionList><rdf:Bag><rdf:li rdf:parseType="Resource">'
    "<mwg-rs:Name>{name}</mwg-rs:Name><mwg-rs:Type>Face</mwg-rs:Type>"
    '<mwg-rs:Area stArea:x="{x}" stArea:y="{y}" stArea:w="{w}" stArea:h="{h}" stArea:unit="normalized"/>'
    "</rdf:li></rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>"
)


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory, tiny_config: Path, photos) -> Path:
    """An indexed album of two photos: zidane with Anna's face marked on a stored region (digiKam's
    sidecar), coffee naming Carla only as a keyword."""
    root = tmp_path_factory.mktemp("tags")
    album = root / "album"
    album.mkdir()
    for name in ("zidane", "coffee"):
        Image.open(photos[name]).convert("RGB").save(album / f"{name}.jpg", quality=90)
    opened = Session.open(root / "home", tiny_config)
    try:
        retriever = opened.retriever()
        retriever.threshold = 0.999
        Indexer(retriever, workers=0).index([album])
        store = opened.store()
        photo, _, _ = photo_rows.find_photo(store, str(album / "zidane.jpg"))
        region = photo_rows.regions(store, photo, opened.embedder.model_id)[0]
        width, height = Image.open(album / "zidane.jpg").size
        x1, y1, x2, y2 = region.box
        area = {"x": (x1 + x2) / 2 / width, "y": (y1 + y2) / 2 / height}
        area |= {"w": (x2 - x1) / width, "h": (y2 - y1) / height}
        marked = SIDE.format(name="Anna", regions=REGION.format(name="Anna", **area))
        Path(f"{album / 'zidane.jpg'}.xmp").write_text(marked)
        Path(f"{album / 'coffee.jpg'}.xmp").write_text(SIDE.format(name="Carla", regions=""))
    finally:
        opened.close()
    return root / "home"


@pytest.fixture
def album_window(qtbot, tagged: Path, tiny_config: Path, tmp_path: Path) -> Iterator[MainWindow]:
    opened = Session.open(shutil.copytree(tagged, tmp_path / "home"), tiny_config)
    win = shown_window(qtbot, opened, tmp_path / "ui.ini", timeout=WAIT)
    win.test_session = opened  # type: ignore[attr-defined]
    yield win
    win.close()
    opened.close()


def _open(qtbot, win: MainWindow) -> ImportTagsDialog:
    assert win.album_tools.import_tags_action in win.album_menu.actions()
    win.album_tools.import_tags_action.trigger()  # reads the album off the GUI thread
    dialog = win.album_tools.import_tags_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: not dialog.loading and dialog.list.count() > 0, timeout=WAIT)
    return dialog


def test_names_listed_imported_undone_and_redone(qtbot, album_window: MainWindow) -> None:
    win = album_window
    session = win.test_session  # type: ignore[attr-defined]
    dialog = _open(qtbot, win)
    rows = [dialog.list.item(r) for r in range(dialog.list.count())]
    texts = [item.text() for item in rows]
    assert [t.split(" — ")[0] for t in texts] == ["Anna", "Carla"]
    assert all("<" not in t and ">" not in t and not re.search(r"\br\d+\b", t) for t in texts)  # plain words
    anna, carla = rows
    assert anna.flags() & Qt.ItemFlag.ItemIsUserCheckable and anna.checkState() == Qt.CheckState.Unchecked
    assert not carla.flags() & Qt.ItemFlag.ItemIsEnabled and "keyword" in carla.text()
    assert not dialog.import_button.isEnabled()  # nothing ticked yet

    anna.setCheckState(Qt.CheckState.Checked)
    assert dialog.checked() == ["Anna"] and dialog.import_button.isEnabled()
    dialog.import_button.click()
    qtbot.waitUntil(lambda: win.model.row_of("Anna") >= 0 and not dialog.loading, timeout=WAIT)
    qtbot.waitUntil(lambda: win.runner.pending == 0, timeout=WAIT)
    store = session.store()
    concept = store.get_concept("Anna")
    assert concept.exemplar_count == 1 and concept.category == "person"
    confirmed = store.conn.execute(
        "SELECT COUNT(*) FROM matches WHERE concept_id = ? AND status = 'confirmed'", (concept.id,)
    ).fetchone()
    assert confirmed == (1,)
    assert "already brought in" in dialog.list.item(0).text()  # listed again after the import
    assert win.undo_stack.undoText() == "Import people tags: Anna"

    win.undo_action.trigger()
    qtbot.waitUntil(lambda: win.model.row_of("Anna") < 0 and not dialog.loading, timeout=WAIT)
    qtbot.waitUntil(lambda: win.runner.pending == 0, timeout=WAIT)
    assert store.find_concept("Anna") is None
    assert store.conn.execute("SELECT COUNT(*) FROM matches WHERE status = 'confirmed'").fetchone() == (0,)
    assert dialog.list.item(0).flags() & Qt.ItemFlag.ItemIsUserCheckable  # offered again

    win.redo_action.trigger()
    qtbot.waitUntil(lambda: win.model.row_of("Anna") >= 0 and not dialog.loading, timeout=WAIT)
    qtbot.waitUntil(lambda: win.runner.pending == 0, timeout=WAIT)
    assert store.get_concept("Anna").exemplar_count == 1


def test_reading_counts_the_photos_and_stop_or_close_ends_it(qtbot, album_window: MainWindow) -> None:
    win = album_window
    dialog = _open(qtbot, win)
    seen: list[int] = []
    dialog.busy.valueChanged.connect(seen.append)
    with qtbot.waitSignal(dialog.listed, timeout=WAIT):
        dialog.reload()  # the bar counts the album's photos as they are read
    assert seen and seen[-1] == dialog.busy.maximum() == 2
    assert not dialog.stop_button.isVisible() and not dialog.loading
    # Stop while a read waits its turn on the store lane: it never runs, the list stays as it was
    gate = threading.Event()
    win.runner.submit(gate.wait, 10)
    dialog.reload()
    assert dialog.loading and dialog.stop_button.isVisible()
    listed: list[int] = []
    dialog.listed.connect(listed.append)
    dialog.stop_button.click()
    assert not dialog.loading and not dialog.stop_button.isVisible() and dialog.status.text().startswith("Stopped")
    gate.set()
    qtbot.waitUntil(lambda: win.runner.pending == 0, timeout=WAIT)
    assert listed == [] and dialog.list.count() == 2
    # closing the window stops a read too
    gate.clear()
    win.runner.submit(gate.wait, 10)
    dialog.reload()
    token = dialog._scan
    dialog.reject()
    assert token is not None and token.cancelled and not dialog.isVisible()
    gate.set()
    qtbot.waitUntil(lambda: win.runner.pending == 0, timeout=WAIT)
    assert listed == []


def test_the_files_are_read_while_the_store_lane_stays_free(qtbot, album_window: MainWindow, monkeypatch) -> None:
    from rap_desktop.core import people_import

    win = album_window
    dialog = _open(qtbot, win)
    reading, gate = threading.Event(), threading.Event()
    real = people_import._photo_tags

    def slow_read(*args):  # a big album's files: the read takes its time
        reading.set()
        gate.wait(WAIT / 1000)
        return real(*args)

    monkeypatch.setattr(people_import, "_photo_tags", slow_read)
    dialog.reload()
    try:
        qtbot.waitUntil(reading.is_set, timeout=WAIT)
        answered: list[str] = []
        win.runner.submit(lambda: "free", on_done=answered.append)  # other album work on the store lane
        qtbot.waitUntil(lambda: answered == ["free"], timeout=5_000)
        assert dialog.loading
    finally:
        gate.set()
    qtbot.waitUntil(lambda: not dialog.loading, timeout=WAIT)
    assert dialog.list.count() == 2


def test_a_related_concept_is_explained_in_plain_words() -> None:
    related = RelatedConcept("anna", 2, "relation", via="bo")
    said = sentence(related, "anna", 0.8)
    assert said == "anna: your description of bo mentions anna, so it was told about anna too."
    assert _why(related) == "<anna>: named in the description of <bo>"
