"""Album ▸ Caption and tag photos… on an indexed album of package photos with the tiny real-format
generator: captions stored and written to XMP sidecars (read back with exiftool), a changed file
listed as a failure, a store edit made during the run finishing before the run, cancel keeping what
was done, a second run going on from there, and missing generator weights."""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w

from rap_desktop.core.album import rematch
from rap_desktop.core.album.indexer import Indexer
from rap_desktop.core.models.generator import GenerationOptions
from rap_desktop.core.session import Session
from rap_desktop.core.thumbcache import for_home
from rap_desktop.core.xmp import clean_text
from rap_desktop.devtools.synthetic_album import make_album
from rap_desktop.ui.album.caption_dialog import CaptionDialog
from rap_desktop.ui.album.caption_ops import Result
from rap_desktop.ui.assistant.assistant_dock import SKIP_MODELS_PROMPT
from rap_desktop.ui.assistant.chat_worker import NOT_LOADED
from rap_desktop.ui.main_window import MainWindow

from ..integration.test_xmp import needs_exiftool, read_back
from .windows import shown_window

WAIT = 120_000  # ms; the first caption converts and loads the tiny generator
N = 6


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, tiny_config: Path) -> tuple[Path, list[Path]]:
    """An indexed album of N photos with <bo> registered from the first one (so it is recognised)."""
    root = tmp_path_factory.mktemp("caption")
    files = make_album(root / "album", N, seed=4, max_side=160)
    opened = Session.open(root / "home", tiny_config)
    try:
        Indexer(opened.retriever(), for_home(opened.home)).index([root / "album"])
        opened.store().add_concept("bo", files[0], "<bo> is our dog.", "dog")
        rematch.after_change(opened)
    finally:
        opened.close()
    return root / "home", files


def _window(qtbot, home: Path, config: Path, tmp_path: Path) -> tuple[MainWindow, Session]:
    opened = Session.open(home, config)
    # the models dialog opens only when a run needs it
    win = shown_window(qtbot, opened, tmp_path / "ui.ini", {SKIP_MODELS_PROMPT: True}, timeout=WAIT)
    return win, opened


@pytest.fixture
def album_window(qtbot, indexed, tiny_config: Path, tmp_path: Path) -> Iterator[tuple[MainWindow, Session]]:
    win, opened = _window(qtbot, shutil.copytree(indexed[0], tmp_path / "home"), tiny_config, tmp_path)
    yield win, opened
    win.close()
    opened.close()


def _dialog(qtbot, win: MainWindow, folder: Path) -> CaptionDialog:
    win.album_tools.caption_action.trigger()
    dialog = win.album_tools.caption_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.folder.isEnabled() and dialog.folder.count() > 0, timeout=WAIT)
    assert dialog.chosen_folder() == str(folder)  # the indexed folder is offered
    assert f"({N} photos" in dialog.folder.currentText()
    dialog.options = GenerationOptions(max_new_tokens=3)  # short captions: the test is about the flow
    return dialog


def _run(qtbot, dialog: CaptionDialog, then=None) -> Result:
    with qtbot.waitSignal(dialog.finished_run, timeout=WAIT) as waited:
        dialog.start_button.click()
        if then is not None:
            then()
    return waited.args[0]


def _captions(session: Session) -> dict[int, str]:
    return dict(session.store().conn.execute("SELECT photo_id, text FROM album_captions").fetchall())


@needs_exiftool
def test_caption_run_writes_sidecars_lets_edits_through_cancels_and_resumes(
    qtbot, album_window, indexed, tmp_path: Path
) -> None:
    win, session = album_window
    _, files = indexed
    album = files[0].parents[2]
    # the album is this module's: only this test writes into it (sidecars; one file changed for a while)
    changed = files[-1]
    original = changed.read_bytes()
    changed.write_bytes(files[1].read_bytes())  # no longer what was indexed
    try:
        dialog = _dialog(qtbot, win, album)
        dialog.write_xmp.setChecked(True)
        assert dialog.style.isEnabled() and dialog.style.currentData() == "ext"

        # a concept edit submitted while the run goes on completes before the run does
        events: list[str] = []
        seen: list[str] = []

        def edit_once(progress) -> None:
            seen.append(dialog.rate.text())
            if len(seen) == 1:
                win.runner.submit(
                    lambda: session.store().edit_concept("bo", info="<bo> is our old dog."),
                    on_done=lambda _c: events.append("edit"),
                )

        started: list[Result] = []
        dialog.finished_run.connect(lambda r: events.append("run"))

        def hook() -> None:
            dialog.run.progress.connect(edit_once)
            started.append(dialog.run.result)
            assert dialog.cancel_button.isEnabled() and not dialog.start_button.isEnabled()

        result = _run(qtbot, dialog, hook)
        assert events == ["edit", "run"]
        assert session.store().get_concept("bo").info == "<bo> is our old dog."
        assert "photos/s" in seen[0] and "left" in seen[0]
        assert result.error is None and not result.cancelled
        assert (result.photos, result.captioned, result.skipped) == (N, N - 1, 0)
        assert result.failed == [(str(changed), "the file changed since it was indexed; index the folder again")]
        assert str(changed) in dialog.summary.toPlainText() and "5 captioned" in dialog.summary.toPlainText()
        assert dialog.bar.value() == N and dialog.bar.maximum() == N

        captions = _captions(session)
        assert len(captions) == N - 1
        ids = dict(session.store().conn.execute("SELECT path, photo_id FROM album_files").fetchall())
        for photo in files[:-1]:
            sidecar = Path(f"{photo}.xmp")
            assert str(sidecar) in result.sidecars
            doc = read_back(sidecar)
            assert doc["Description"] == clean_text(captions[ids[str(photo)]])
        bo = read_back(Path(f"{files[0]}.xmp"))
        assert "bo" in bo["Subject"] and "bo" in {r["Name"] for r in bo["RegionInfo"]["RegionList"]}
        assert not Path(f"{changed}.xmp").exists()
    finally:
        changed.write_bytes(original)

    # captions again (forced), cancelled after two photos: those two are new, the rest as before
    before = dict(session.store().conn.execute("SELECT photo_id, created FROM album_captions").fetchall())
    dialog.write_xmp.setChecked(False)
    dialog.force.setChecked(True)
    counted: list[int] = []

    def cancel_after_two(progress) -> None:
        counted.append(progress.done)
        if progress.done == 2:
            dialog.cancel_button.click()

    result = _run(qtbot, dialog, lambda: dialog.run.progress.connect(cancel_after_two))
    assert result.cancelled and counted[-1] == 2 and result.captioned == 2
    assert "Cancelled" in dialog.summary.toPlainText()
    after = dict(session.store().conn.execute("SELECT photo_id, created FROM album_captions").fetchall())
    assert len([pid for pid in after if after[pid] != before.get(pid)]) == 2  # kept: exactly what was done
    assert set(after) >= set(before)

    # a plain run afterwards goes on from there: only what has no caption yet needs the model
    dialog.force.setChecked(False)
    result = _run(qtbot, dialog)
    assert (result.captioned, result.skipped, len(result.failed)) == (N - len(after), len(after), 0)
    assert len(_captions(session)) == N


def test_missing_generator_weights_open_the_models_dialog(qtbot, indexed, tiny_config: Path, tmp_path: Path) -> None:
    data = tomllib.loads(tiny_config.read_text())
    data["models"]["custom"]["tiny-rap"]["path"] = "no-such-folder"
    config = tiny_config.parent / "config-no-generator.toml"  # beside it: model paths are relative to it
    config.write_bytes(tomli_w.dumps(data).encode())
    home = shutil.copytree(indexed[0], tmp_path / "home")
    win, opened = _window(qtbot, home, config, tmp_path)
    try:
        album = indexed[1][0].parents[2]
        dialog = _dialog(qtbot, win, album)
        result = _run(qtbot, dialog)
        assert result.error and "cannot load" in result.error and result.captioned == 0
        assert result.error in dialog.summary.toPlainText()
        assert win.assistant.models_dialog is not None and win.assistant.models_dialog.isVisible()
        assert dialog.start_button.isEnabled()  # nothing running: try again after fixing the models
    finally:
        win.close()
        opened.close()


def test_a_folder_without_indexed_photos_says_what_to_do(qtbot, album_window, tmp_path: Path) -> None:
    win, _ = album_window
    win.album_tools.caption_action.trigger()
    dialog = win.album_tools.caption_dialog
    qtbot.waitUntil(lambda: dialog.folder.isEnabled(), timeout=WAIT)
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    dialog.set_folder(str(empty))
    result = _run(qtbot, dialog)
    assert result.error and "Index the folder first" in result.error and result.photos == 0


def test_unload_generator_during_a_run_stops_it_and_frees_the_model(qtbot, album_window, indexed) -> None:
    win, session = album_window
    dialog = _dialog(qtbot, win, indexed[1][0].parents[2])
    dialog.force.setChecked(True)  # every photo needs the model
    worker = win.assistant.worker
    counted: list[int] = []

    def unload_after_one(progress) -> None:
        counted.append(progress.done)
        if progress.done == 1:
            worker.unload()  # Assistant ▸ Unload generator, while the run goes on

    result = _run(qtbot, dialog, lambda: dialog.run.progress.connect(unload_after_one))
    assert result.cancelled and result.captioned < N
    qtbot.waitUntil(lambda: win.runner.pending == 0, timeout=WAIT)
    assert worker.state == NOT_LOADED and session.generator().model is None  # not loaded again by the run
    assert "Cancelled (the generator was unloaded)" in dialog.summary.toPlainText()


def test_the_status_line_counts_the_captions_being_written(qtbot, album_window, indexed) -> None:
    """The window's one plain status line says what a caption run does, as it does for one photo:
    "Writing captions… 3 of 6", then "Ready" once the run ends."""
    win, _ = album_window
    dialog = _dialog(qtbot, win, indexed[1][0].parents[2])
    dialog.force.setChecked(True)  # every photo is written again: one count per photo
    said: list[str] = []

    def hook() -> None:
        said.append(win.status_line.text())  # just started
        dialog.run.progress.connect(lambda _p: said.append(win.status_line.text()))

    result = _run(qtbot, dialog, hook)
    assert result.captioned == N and not result.failed
    assert said == ["Writing captions…"] + [f"Writing captions… {i} of {N}" for i in range(1, N + 1)]
    assert win.status_line.text() == "Ready"
