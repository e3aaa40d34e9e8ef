"""The library's "Same person or thing…": two selected concepts, a question in plain words naming
which name stays, the merge on the store lane, the app's sidecars following in the background, and
Edit ▸ Undo separating them again exactly."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from rap_desktop.core import actions, xmp
from rap_desktop.core.album import rematch
from rap_desktop.core.images import load_image
from rap_desktop.core.retrieval import Retriever
from rap_desktop.core.store import captions
from rap_desktop.ui.main_window import MainWindow

from ..integration.test_merge import tables
from .test_main_window import WAIT, shown_names
from .windows import shown_window


def _prepare(session, photos: dict[str, Path], tmp_path: Path) -> Path:
    """mochi (three photos) and kitty (two), a photo the store knows where kitty is confirmed, with
    its stored caption, and the sidecar the app wrote for it (naming kitty)."""
    store = session.store()
    store.add_concept("mochi", photos["chelsea"], "<mochi> is our cat.", "cat")
    store.add_exemplar("mochi", photos["coffee"])
    store.add_exemplar("mochi", photos["bus"])
    store.add_concept("kitty", photos["astronaut"], "<kitty> as a kitten.", "cat")
    photo = Path(shutil.copy(photos["rocket"], tmp_path / "nap.jpg"))
    retriever = Retriever(store, store.embedder, detector=None, threshold=0.999)
    found = retriever.retrieve(load_image(photo), path=str(photo))
    actions.confirm(session, found.photo, "r1", "kitty")
    photo_id = store.conn.execute("SELECT id FROM photos WHERE sha256 = ?", (found.photo,)).fetchone()[0]
    captions.save_caption(store, photo_id, "<kitty> naps.", "tiny", ["kitty"])
    rematch.after_change(session, full=True)  # the album as the app keeps it
    (box,) = [r.box for r in found.regions if r.id == "r1"]
    regions = [xmp.Region("kitty", "cat", box)]
    return xmp.write_sidecar(photo, load_image(photo).size, "<kitty> naps.", ["kitty"], regions)


def _button(box: QMessageBox, text: str):
    (found,) = [b for b in box.buttons() if b.text() == text]
    return found


def test_merge_two_selected_then_undo(qtbot, session, photos, tmp_path: Path) -> None:
    sidecar = _prepare(session, photos, tmp_path)
    window: MainWindow = shown_window(qtbot, session, tmp_path / "ui.ini")
    try:
        store = session.store()
        before = tables(store)
        window.select_names(["mochi"])
        assert not window.merge_action.isEnabled()  # one is not two
        window.select_names(["kitty", "mochi"])
        assert window.merge_action.isEnabled()

        window.merge_action.trigger()  # Cancel: nothing happens
        box = window.commands.merge_box
        assert box is not None
        box.button(QMessageBox.StandardButton.Cancel).click()
        qtbot.waitUntil(lambda: window.commands.merge_box is None, timeout=WAIT)
        window.runner.wait()
        assert tables(store) == before and window.undo_stack.count() == 0

        window.merge_action.trigger()
        box = window.commands.merge_box
        words = f"{box.text()} {box.informativeText()}"
        assert "“mochi”" in words and "“kitty”" in words and "<" not in words and "Undo" in words
        names = [b.text() for b in box.buttons()]
        assert names[:2] == ["Keep “mochi”", "Keep “kitty”"]  # the one with more photos first
        _button(box, "Keep “mochi”").click()
        qtbot.waitUntil(lambda: shown_names(window) == ["mochi"], timeout=WAIT)
        assert store.find_concept("kitty") is None and store.get_concept("mochi").exemplar_count == 5
        assert window.undo_action.text() == "&Undo Same person or thing: kitty is mochi"
        qtbot.waitUntil(lambda: not window.commands.sidecars.busy, timeout=WAIT)  # the sidecars followed
        assert window.statusBar().currentMessage() == "1 photo now says “mochi” for other photo apps too."
        text = sidecar.read_text()
        assert "kitty" not in text and "&lt;mochi&gt; naps." in text and "<rdf:li>mochi</rdf:li>" in text

        window.undo_action.trigger()
        qtbot.waitUntil(lambda: shown_names(window) == ["kitty", "mochi"], timeout=WAIT)
        qtbot.waitUntil(lambda: not window.commands.sidecars.busy, timeout=WAIT)  # written back from the store
        window.runner.wait()
        text = sidecar.read_text()
        assert "mochi" not in text and "&lt;kitty&gt; naps." in text and "<rdf:li>kitty</rdf:li>" in text
        assert window.statusBar().currentMessage() == "1 photo now says “kitty” for other photo apps too."
        after = tables(store)
        after["corrections"] = [r for r in after["corrections"] if r[2] != "merge"]
        for rows in (after, before):
            rows.pop("sqlite_sequence")
        assert after == before  # separate again, exactly
    finally:
        window.close()


def test_a_rename_rewrites_the_sidecars_in_the_background_and_its_undo_too(
    qtbot, session, photos, tmp_path: Path
) -> None:
    sidecar = _prepare(session, photos, tmp_path)
    window: MainWindow = shown_window(qtbot, session, tmp_path / "ui.ini")
    try:
        window.select_names(["kitty"])
        window.edit_action.trigger()
        dialog = window.commands.dialog
        dialog.name_edit.setText("Kitty")
        dialog.accept()
        qtbot.waitUntil(lambda: "Kitty" in shown_names(window), timeout=WAIT)
        qtbot.waitUntil(lambda: not window.commands.sidecars.busy, timeout=WAIT)
        text = sidecar.read_text()
        assert "&lt;Kitty&gt; naps." in text and "<rdf:li>Kitty</rdf:li>" in text and ">kitty<" not in text
        window.undo_action.trigger()
        qtbot.waitUntil(lambda: "kitty" in shown_names(window), timeout=WAIT)
        qtbot.waitUntil(lambda: not window.commands.sidecars.busy and ">kitty<" in sidecar.read_text(), timeout=WAIT)
        assert "Kitty" not in sidecar.read_text()
    finally:
        window.close()


def test_the_sidecar_job_shows_progress_and_stops_on_cancel(qtbot, session, photos, tmp_path: Path) -> None:
    from rap_desktop.ui.library.name_job import CHUNK, NameJob

    store = session.store()
    store.add_concept("bo", photos["chelsea"])
    retriever = Retriever(store, store.embedder, detector=None, threshold=0.999)
    source = load_image(photos["rocket"])
    for n in range(CHUNK + 5):  # distinct photos (one pixel differs), each with our sidecar naming bo
        photo = tmp_path / f"p{n:02}.png"
        image = source.image.copy()
        image.putpixel((0, 0), (n, n, n))
        image.save(photo)
        retriever.retrieve(load_image(photo), path=str(photo))
        xmp.write_sidecar(photo, image.size, "<bo>", ["bo"], [])
    window: MainWindow = shown_window(qtbot, session, tmp_path / "ui.ini")
    try:
        job = NameJob(session, window.runner, "bo", "Bo", window)
        seen: list[tuple[int, int]] = []
        job.progressed.connect(lambda done, total: (seen.append((done, total)), job.cancel()))
        with qtbot.waitSignal(job.finished, timeout=WAIT) as finished:
            job.start()
        report = finished.args[0]
        assert seen == [(CHUNK, CHUNK + 5)] and job.dialog.maximum() == CHUNK + 5
        assert report.cancelled and len(report.rewritten) == CHUNK
        still = [p for p in tmp_path.glob("*.xmp") if ">bo<" in p.read_text()]
        assert len(still) == 5
    finally:
        window.close()
