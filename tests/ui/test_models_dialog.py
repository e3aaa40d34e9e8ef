"""The models dialog, offline: a configured generator whose weights are missing is listed with its
size, where it was looked for and where it would go; a download fails in plain words or is
cancelled leaving nothing behind; a local folder is written to the settings and fixes it; the rest
of the app keeps working meanwhile."""

from __future__ import annotations

import contextlib
import os
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w

from rap_desktop.core.session import Session
from rap_desktop.ui.assistant.chat_worker import MISSING, NOT_LOADED
from rap_desktop.ui.assistant.models_dialog import ModelsDialog
from rap_desktop.ui.main_window import MainWindow
from rap_desktop.ui.runtime.tasks import TaskRunner

from .windows import shown_window

WAIT = 20_000


def broken_config(tiny_config: Path, folder: Path, **generator: object) -> Path:
    """The tiny config with absolute paths, its generator pointed at a folder that does not exist."""
    data = tomllib.loads(tiny_config.read_text(encoding="utf-8"))
    for spec in data["models"]["custom"].values():
        spec["path"] = str((tiny_config.parent / spec["path"]).resolve())
    rap = data["models"]["custom"]["tiny-rap"]
    rap["path"] = str(folder / "no-such-model")
    rap.update(generator)
    path = folder / "config.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def offline_window(qtbot, tiny_config: Path, tmp_path: Path, request) -> Iterator[MainWindow]:
    extra = getattr(request, "param", {})
    session = Session.open(tmp_path / "home", broken_config(tiny_config, tmp_path, **extra))
    win = shown_window(qtbot, session, tmp_path / "ui.ini", timeout=WAIT)
    qtbot.waitUntil(lambda: win.assistant.models_dialog is not None, timeout=WAIT)  # opened by itself
    dialog = win.assistant.models_dialog
    qtbot.waitUntil(lambda: bool(dialog.rows), timeout=WAIT)
    yield win
    win.close()
    session.close()


def test_missing_generator_is_listed_and_the_library_still_works(qtbot, offline_window: MainWindow, photos) -> None:
    win = offline_window
    dialog: ModelsDialog = win.assistant.models_dialog
    assert dialog.isVisible()
    by_name = {row.spec.name: row for row in dialog.rows}
    assert by_name["tiny-clip"].found.present and by_name["tiny-yolo-world"].found.present
    missing = by_name["tiny-rap"]
    assert not missing.found.present and missing.role == "generator"
    assert dialog.selected() is missing  # the missing one is picked first
    details = dialog.details.text()
    assert "no-such-model (does not exist)" in details and "It would go to:" in details
    statuses = [dialog.table.item(r, 2).text() for r in range(dialog.table.rowCount())]
    assert [s.startswith("Not here yet") for s in statuses].count(True) == 1
    assert not dialog.download_button.isEnabled()  # a local-only model has nothing to download

    # chat says what is missing instead of failing later; the concept library works as ever
    panel, worker = win.assistant.panel, win.assistant.worker
    qtbot.waitUntil(lambda: worker.state == MISSING, timeout=WAIT)
    assert not panel.caption_button.isEnabled() and not panel.send_button.isEnabled()
    assert panel.hint.isVisible() and "tiny-rap" in panel.hint.toolTip()
    assert "missing" in win.assistant.status_text
    win.session.store().add_concept("chelsea", photos["chelsea"], "a cat", "cat")
    with qtbot.waitSignal(win.concepts_loaded, timeout=WAIT):
        win.refresh()
    assert win.model.rowCount() == 1


def test_use_local_folder_writes_the_settings_and_fixes_it(qtbot, offline_window: MainWindow, tiny_config) -> None:
    win = offline_window
    dialog: ModelsDialog = win.assistant.models_dialog
    config = win.session.settings.source
    before = config.read_bytes()

    dialog.use_local(config.parent / "empty")  # not a model folder: said plainly, nothing written
    qtbot.waitUntil(lambda: "does not hold the model that writes captions and answers" in dialog.message, timeout=WAIT)
    assert "does not hold 'tiny-rap'" in dialog.raw  # the exact reason, under Details
    assert config.read_bytes() == before

    checkpoint = tiny_config.parent / tomllib.loads(tiny_config.read_text())["models"]["custom"]["tiny-rap"]["path"]
    with qtbot.waitSignal(dialog.checked, timeout=WAIT):
        dialog.use_local(checkpoint)
    qtbot.waitUntil(lambda: all(row.found.present for row in dialog.rows), timeout=WAIT)
    saved = tomllib.loads(config.read_text(encoding="utf-8"))
    assert saved["models"]["paths"]["tiny-rap"] == str(checkpoint.resolve())
    assert "now comes from your folder" in dialog.message
    qtbot.waitUntil(lambda: win.assistant.worker.state == NOT_LOADED, timeout=WAIT)
    assert win.assistant.panel.send_button.isEnabled() is False  # nothing typed yet
    win.assistant.panel.set_photo(tiny_config.parent / "none.png")
    assert win.assistant.panel.caption_button.isEnabled()


@pytest.mark.parametrize("offline_window", [{"hub_repo": "nobody/rap-nothing", "size_mb": 1234}], indirect=True)
def test_download_offline_fails_in_plain_words(qtbot, offline_window: MainWindow) -> None:
    dialog: ModelsDialog = offline_window.assistant.models_dialog
    assert "1.2 GB" in dialog.table.item(dialog.table.currentRow(), 1).text()
    assert "models--nobody--rap-nothing" in dialog.details.text()
    assert dialog.download_button.isEnabled()
    with qtbot.waitSignal(dialog.fetch_ended, timeout=WAIT) as ended:
        dialog.download_button.click()
    assert ended.args == ["failed"]
    # one plain sentence on view; the library's own error only under Details
    assert dialog.message == "This computer is offline, so nothing can be downloaded now."
    assert dialog.raw.startswith("could not download 'tiny-rap' from nobody/rap-nothing")
    assert not dialog.technical.isVisible()
    dialog.details_button.click()
    assert dialog.technical.isVisible() and "nobody/rap-nothing" in dialog.technical.text()
    assert not dialog.cancel_button.isEnabled() and dialog.download_button.isEnabled()


@pytest.fixture
def slow_source(tmp_path: Path) -> Iterator[tuple[Path, threading.Event]]:
    """A FIFO served as a file:// download: one chunk now, more only after the test says so."""
    fifo = tmp_path / "tiny-yolo-world-remote.pt"
    os.mkfifo(fifo)
    go_on = threading.Event()

    def feed() -> None:
        with contextlib.suppress(OSError), open(fifo, "wb") as out:  # the reader going away is expected
            out.write(b"PK\x03\x04" + b"\0" * (1 << 20))
            out.flush()
            go_on.wait(20)
            for _ in range(4):
                out.write(b"\0" * (1 << 20))

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    yield fifo, go_on
    go_on.set()
    with contextlib.suppress(OSError):  # a writer still waiting for a reader: let it through
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
    writer.join(5)


def test_cancel_mid_download_leaves_nothing(qtbot, tiny_config, tmp_path, monkeypatch, slow_source) -> None:
    fifo, go_on = slow_source
    weights_dir = tmp_path / "weights"
    monkeypatch.setenv("RAP_DESKTOP_WEIGHTS_DIR", str(weights_dir))
    config = broken_config(tiny_config, tmp_path)
    data = tomllib.loads(config.read_text())
    world = data["models"]["custom"]["tiny-yolo-world"]
    world.update(path=str(tmp_path / "gone.pt"), download_url=fifo.as_uri(), files=["tiny-yolo-world.pt"])
    config.write_text(tomli_w.dumps(data))
    session = Session.open(tmp_path / "home", config)
    runner = TaskRunner()
    dialog = ModelsDialog(session, runner)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: bool(dialog.rows), timeout=WAIT)
    row = next(i for i, r in enumerate(dialog.rows) if r.spec.name == "tiny-yolo-world")
    dialog.table.selectRow(row)
    assert str(weights_dir / "tiny-yolo-world.pt") in dialog.details.text()
    dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.progress.isVisible() and "1.0 MB" in dialog.status.text(), timeout=WAIT)
    assert dialog.cancel_button.isEnabled()
    with qtbot.waitSignal(dialog.fetch_ended, timeout=WAIT) as ended:
        dialog.cancel_button.click()
        go_on.set()  # the next chunk arrives, the download sees the cancel and unwinds
    assert ended.args == ["cancelled"]
    assert "cancelled" in dialog.message
    assert list(weights_dir.iterdir()) == []  # no half file, no temp file
    runner.shutdown()
    session.close()


def _visible_text(widget) -> str:
    """Every piece of text a person can see in `widget` now (labels, buttons, table cells)."""
    from PySide6.QtWidgets import QAbstractButton, QLabel, QTableWidget

    texts = [w.text() for w in widget.findChildren(QLabel) if w.isVisible()]
    texts += [w.text() for w in widget.findChildren(QAbstractButton) if w.isVisible()]
    for table in widget.findChildren(QTableWidget):
        texts += [table.item(r, c).text() for r in range(table.rowCount()) for c in range(table.columnCount())]
    return "\n".join(texts)


@pytest.mark.parametrize("offline_window", [{"hub_repo": "nobody/rap-nothing", "size_mb": 1234}], indirect=True)
def test_offline_first_start_speaks_plainly(qtbot, offline_window: MainWindow) -> None:
    dialog: ModelsDialog = offline_window.assistant.models_dialog
    with qtbot.waitSignal(dialog.fetch_ended, timeout=WAIT):
        dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.recheck_button.isEnabled(), timeout=WAIT)
    shown = _visible_text(dialog)
    # what it needs, how big, where it goes, the room there; offline in one sentence, and what to pick
    summary = dialog.summary.text()
    assert "1.2 GB" in summary and "free" in summary and "models--nobody--rap-nothing" not in summary
    assert str(Path(dialog.rows[-1].destination).parent) in summary
    assert "offline" in summary and '"Use a folder…"' in summary and '"config.json"' in summary
    assert dialog.local_button.text() == "Use a folder…"
    for raw in ("HF_HUB_OFFLINE", "rap-desktop models", "settings.toml", "config.toml", "Traceback", "embedder"):
        assert raw not in shown, raw
    # the technical story is kept, behind Details
    dialog.details_button.click()
    assert "Looked in:" in _visible_text(dialog) and "HF_HUB_OFFLINE" in dialog.raw


def test_the_table_says_what_each_model_is_for_in_plain_words(qtbot, offline_window: MainWindow) -> None:
    """What each model does, its size and whether it is here, in words; the model's id and source
    only in the row's tooltip and under Details."""
    dialog: ModelsDialog = offline_window.assistant.models_dialog
    table = dialog.table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["What it does", "Size", "On this computer?"]
    by_role = {row.role: r for r, row in enumerate(dialog.rows)}
    does = {role: table.item(r, 0).text() for role, r in by_role.items()}
    assert does["embedder"] == "Recognises people and things"
    assert does["detector"] == "Finds regions in a photo"
    assert does["generator"] == "Writes captions and answers"
    states = {role: table.item(r, 2).text() for role, r in by_role.items()}
    assert states["embedder"] == states["detector"] == "On this computer"
    assert states["generator"].startswith("Not here yet")
    for r, row in enumerate(dialog.rows):
        cells = [table.item(r, c).text() for c in range(table.columnCount())]
        assert not any(row.spec.name in cell for cell in cells), cells  # no ids in the table
        assert table.item(r, 1).text().startswith(("about ", "size not known"))
        assert row.spec.name in table.item(r, 0).toolTip()  # the id, for whoever asks
    dialog.table.selectRow(by_role["generator"])
    assert "tiny-rap" in dialog.details.text()  # and under Details
