"""The window finishes at its start the sidecar renames an earlier run left (closed mid-rewrite,
cancelled), in the background, the status line saying so in plain words."""

from __future__ import annotations

import shutil
from pathlib import Path

from rap_desktop.core import actions, xmp
from rap_desktop.core.images import load_image
from rap_desktop.core.retrieval import Retriever
from rap_desktop.core.store import sidecar_jobs
from rap_desktop.ui.main_window import MainWindow
from rap_desktop.ui.status_line import activity

from .test_main_window import WAIT
from .windows import shown_window


def test_an_unfinished_rename_is_finished_at_the_next_start(qtbot, session, photos, tmp_path: Path) -> None:
    store = session.store()
    store.add_concept("bo", photos["chelsea"])
    retriever = Retriever(store, store.embedder, detector=None, threshold=0.999)
    sidecars = []
    for key in ("rocket", "coffee"):
        photo = Path(shutil.copy(photos[key], tmp_path / f"{key}{Path(photos[key]).suffix}"))
        retriever.retrieve(load_image(photo), path=str(photo))
        sidecars.append(xmp.write_sidecar(photo, load_image(photo).size, "<bo> naps.", ["bo"], []))
    actions.edit_concept(session, "bo", rename="Bo")  # the window closed before the sidecars followed
    assert len(sidecar_jobs.pending(store)) == 1
    said: list[str] = []
    activity().started.connect(lambda _key, text: said.append(text))

    window: MainWindow = shown_window(qtbot, session, tmp_path / "ui.ini")
    try:
        qtbot.waitUntil(lambda: all("<rdf:li>Bo</rdf:li>" in p.read_text() for p in sidecars), timeout=WAIT)
        qtbot.waitUntil(lambda: not window.commands.sidecars.busy, timeout=WAIT)
        window.runner.wait()
        assert "Finishing changing “bo” to “Bo” for other photo apps…" in said
        assert window.statusBar().currentMessage() == "2 photos now say “Bo” for other photo apps too."
        assert sidecar_jobs.pending(store) == []
        assert all("&lt;Bo&gt; naps." in p.read_text() and ">bo<" not in p.read_text() for p in sidecars)
    finally:
        window.close()
