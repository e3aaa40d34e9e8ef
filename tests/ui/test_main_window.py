"""The main window against a real store: add, search, remove, validation, drops, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from rap_desktop.core.errors import RapError
from rap_desktop.ui.main_window import MainWindow
from rap_desktop.ui.runtime.tasks import TaskRunner

WAIT = 15_000  # ms; the first add loads the tiny embedder


def shown_names(win: MainWindow) -> list[str]:
    proxy = win.proxy
    return [proxy.index(row, 0).data() for row in range(proxy.rowCount())]


def open_register(qtbot, win: MainWindow, photo: Path):
    win.commands.register_paths([photo])
    qtbot.waitUntil(lambda: win.commands.dialog is not None, timeout=WAIT)
    return win.commands.dialog


def register(qtbot, win: MainWindow, photo: Path, name: str, info: str = "", category: str = "") -> None:
    dialog = open_register(qtbot, win, photo)
    dialog.name_edit.setText(name)
    dialog.info_edit.setPlainText(info)
    dialog.category_edit.setText(category)
    assert dialog.ok_button.isEnabled()
    dialog.accept()
    qtbot.waitUntil(lambda: name in shown_names(win), timeout=WAIT)


def test_window_shows_empty_store(window: MainWindow, session) -> None:
    assert window.isVisible()
    assert window.windowTitle() == "RAP Desktop"
    icon = window.windowIcon()  # resources/rap-desktop.svg (+ .png)
    assert not icon.isNull() and not icon.pixmap(64, 64).toImage().isNull()
    assert window.model.rowCount() == 0
    assert window.left_stack.currentWidget() is window.empty_hint
    assert window.count_label.text() == "0 concepts"
    assert str(session.home) in window.folder_label.text()
    assert not window.remove_action.isEnabled()


def test_add_search_select_and_remove(qtbot, window: MainWindow, session, astronaut_png: Path) -> None:
    register(qtbot, window, astronaut_png, "eileen", "<eileen> is an astronaut in an orange suit.", "person")
    register(qtbot, window, astronaut_png, "Bo", "<Bo> is my dog.", "dog")
    assert shown_names(window) == ["Bo", "eileen"]  # as typed, no brackets
    assert window.count_label.text() == "2 concepts"
    assert window.left_stack.currentWidget() is window.list_view
    qtbot.waitUntil(lambda: window.runner.pending == 0, timeout=WAIT)
    assert window.busy.isHidden()  # the busy indicator goes away once the thumbnails are in
    store = session.store()
    assert [c.name for c in store.list_concepts()] == ["Bo", "eileen"]
    assert store.get_concept("eileen").category == "person"

    # the new concept is selected and its details (and photo strip) are shown
    assert [c.name for c in window.selected_concepts()] == ["Bo"]
    assert window.details.title.text() == "Bo"
    assert window.details.info.text() == "Bo is my dog."  # the description too reads without brackets
    qtbot.waitUntil(lambda: window.details.exemplars.rowCount() == 1, timeout=WAIT)

    # search: name, category and description, case-insensitive
    window.search.setText("ORANGE")
    assert shown_names(window) == ["eileen"]
    window.search.setText("dog")
    assert shown_names(window) == ["Bo"]
    window.search.setText("<bo>")  # typed with the brackets, found all the same
    assert shown_names(window) == ["Bo"]
    window.search.setText("nobody")
    assert shown_names(window) == []
    window.search.clear()
    assert len(shown_names(window)) == 2

    # remove, with the confirmation answered "yes" (and asked exactly once)
    asked: list[str] = []
    window.confirm = lambda title, text: asked.append(text) or True  # type: ignore[method-assign]
    window.select_names(["eileen"])
    assert window.remove_action.isEnabled()
    window.remove_action.trigger()
    qtbot.waitUntil(lambda: shown_names(window) == ["Bo"], timeout=WAIT)
    # plain names, and the truth: a removal can be undone
    assert len(asked) == 1 and "eileen" in asked[0] and "<" not in asked[0]
    assert "Undo" in asked[0] and "deleted" not in asked[0]
    assert store.find_concept("eileen") is None

    # "no" keeps it
    window.confirm = lambda title, text: False  # type: ignore[method-assign]
    window.select_names(["Bo"])
    window.remove_action.trigger()
    window.runner.wait()
    assert store.find_concept("Bo") is not None


def test_invalid_and_duplicate_names_disable_ok(qtbot, window: MainWindow, astronaut_png: Path) -> None:
    register(qtbot, window, astronaut_png, "bo")
    dialog = open_register(qtbot, window, astronaut_png)
    assert not dialog.ok_button.isEnabled()  # empty
    assert not dialog.error_label.isVisibleTo(dialog)

    dialog.name_edit.setText("a/b")
    assert not dialog.ok_button.isEnabled()
    assert dialog.error_label.isVisibleTo(dialog)
    assert "slash" in dialog.error_label.text()

    dialog.name_edit.setText("<BO>")  # same key as "bo"
    assert not dialog.ok_button.isEnabled()
    assert "already exists" in dialog.error_label.text()

    dialog.name_edit.setText("bobby")
    assert dialog.ok_button.isEnabled()
    assert not dialog.error_label.isVisibleTo(dialog)
    assert dialog.info_edit.placeholderText().startswith("<bobby> is")
    dialog.reject()
    qtbot.waitUntil(lambda: window.commands.dialog is None)


def test_drop_files_and_folder_open_one_dialog_per_photo(
    qtbot, window: MainWindow, astronaut_png: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "dropped"
    folder.mkdir()
    for name in ("b.png", "a.jpg"):
        (folder / name).write_bytes(astronaut_png.read_bytes())
    (folder / "notes.txt").write_text("not a photo")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(astronaut_png)), QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(event)
    assert event.isAccepted()

    seen = []
    for _ in range(3):  # the file, then the folder's two images (sorted); the .txt is skipped
        qtbot.waitUntil(lambda: window.commands.dialog is not None, timeout=WAIT)
        dialog = window.commands.dialog
        seen.append(dialog.caption.split("\n")[0])
        dialog.reject()
        qtbot.waitUntil(lambda d=dialog: window.commands.dialog is not d, timeout=WAIT)
    assert seen == ["astronaut.png", "a.jpg", "b.png"]
    window.runner.wait()
    assert window.commands.dialog is None


def test_a_broken_photo_is_an_error_dialog_not_a_crash(qtbot, window: MainWindow, tmp_path: Path) -> None:
    bad = tmp_path / "holiday.jpg"
    bad.write_text("this is not a jpeg")
    shown: list[str] = []
    window.show_error = shown.append  # type: ignore[method-assign]
    window.commands.register_paths([bad])
    qtbot.waitUntil(lambda: bool(shown), timeout=WAIT)
    assert shown[0].startswith("holiday.jpg:")
    assert window.commands.dialog is None


def test_edit_renames_and_updates_details(qtbot, window: MainWindow, session, astronaut_png: Path) -> None:
    register(qtbot, window, astronaut_png, "eileen", "<eileen> flies.", "person")
    window.select_names(["eileen"])
    window.edit_action.trigger()
    dialog = window.commands.dialog
    assert dialog is not None and dialog.name_edit.text() == "eileen"
    assert dialog.ok_button.isEnabled()  # its own name is not a duplicate
    dialog.name_edit.setText("Collins")
    dialog.accept()
    qtbot.waitUntil(lambda: shown_names(window) == ["Collins"], timeout=WAIT)
    assert session.store().get_concept("collins").info == "<Collins> flies."
    assert window.details.title.text() == "Collins"


def test_task_runner_reports_errors_on_the_gui_thread(qtbot) -> None:
    runner = TaskRunner()
    got: list[BaseException] = []

    def fail(kind: str) -> None:
        raise RapError("a message for people") if kind == "rap" else ValueError("boom")

    runner.submit(fail, "rap", on_error=got.append)
    with qtbot.waitSignal(runner.failed, timeout=WAIT) as blocker:
        runner.submit(fail, "bug")
    qtbot.waitUntil(lambda: runner.pending == 0)
    assert [type(e) for e in got] == [RapError] and str(got[0]) == "a message for people"  # the exception itself
    assert blocker.args[0].startswith("internal error: ValueError: boom")
    results: list[int] = []
    busy: list[int] = []
    runner.busy_changed.connect(busy.append)
    for n in range(5):
        runner.submit(pow, n, 2, on_done=results.append, lane="io")
    qtbot.waitUntil(lambda: len(results) == 5)
    assert sorted(results) == [0, 1, 4, 9, 16]
    assert max(busy) >= 1 and busy[-1] == 0
    runner.shutdown()
    with pytest.raises(RuntimeError):
        runner.submit(pow, 1, 1)


def test_missing_model_is_a_status_bar_warning(qtbot, tmp_path: Path, tiny_config: Path, astronaut_png: Path) -> None:
    from PySide6.QtCore import QSettings

    from rap_desktop.core.session import Session

    # the same tiny model, pointed at a folder that does not exist: photos are stored, not embedded
    config = tmp_path / "config.toml"
    config.write_text(tiny_config.read_text().replace('path = "tiny-clip"', f'path = "{tmp_path / "gone"}"'))
    session = Session.open(tmp_path / "home", config)
    win = MainWindow(session, TaskRunner(), QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    errors: list[str] = []
    win.show_error = errors.append  # type: ignore[method-assign]
    try:
        win.show()  # let the start-up warm-up (nothing to embed yet) report first
        qtbot.waitUntil(lambda: "Search ready" in win.statusBar().currentMessage(), timeout=20_000)
        register(qtbot, win, astronaut_png, "bo")
        assert errors == []
        assert "Remembered bo." in win.statusBar().currentMessage()
        assert "embedding" in win.statusBar().currentMessage()
    finally:
        win.close()
        session.close()


def test_export_backup_and_geometry_is_remembered(
    qtbot, window: MainWindow, astronaut_png: Path, tmp_path: Path, monkeypatch
) -> None:
    import numpy as np
    from PySide6.QtWidgets import QFileDialog

    from rap_desktop.core import hiding
    from rap_desktop.core.images import sha256_bytes
    from rap_desktop.core.regions import Proposal
    from rap_desktop.core.store import photos

    register(qtbot, window, astronaut_png, "bo")
    hidden: list = []

    def hide_a_region() -> None:  # a stranger hidden for good goes into the backup too
        store = window.ctx.session.store()
        photo = photos.photo_id(store, sha256_bytes(astronaut_png.read_bytes()), str(astronaut_png), (64, 64))
        found = Proposal((1.0, 1.0, 40.0, 40.0), "person", 0.9, "detector")
        region = photos.add_region(store, photo, found, np.full(8, 8**-0.5, np.float32), "some-model")
        hidden.append(hiding.hide_regions(store, [region.id]))

    window.runner.submit(hide_a_region)
    qtbot.waitUntil(lambda: bool(hidden), timeout=WAIT)
    target = tmp_path / "backup"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "Backups (*.zip)"))
    window.export_action.trigger()
    qtbot.waitUntil(lambda: "Exported 1 concept" in window.statusBar().currentMessage(), timeout=WAIT)
    assert "and 1 box you hid (strangers)" in window.statusBar().currentMessage()
    assert (tmp_path / "backup.zip").is_file()

    window.resize(900, 640)
    window.close()
    assert window.settings.value("main/geometry") is not None
    assert window.settings.value("paths/last_folder") == str(tmp_path)


def test_app_exits_2_on_a_broken_settings_file(tmp_path: Path, monkeypatch) -> None:
    from rap_desktop.ui import app

    broken = tmp_path / "config.toml"
    broken.write_text("this is [not toml")
    monkeypatch.setenv("RAP_DESKTOP_CONFIG", str(broken))
    monkeypatch.setenv("RAP_DESKTOP_HOME", str(tmp_path / "home"))
    shown: list[str] = []
    monkeypatch.setattr(app, "_fatal", shown.append)  # the QMessageBox
    assert app.run([]) == 2
    assert len(shown) == 1 and "not valid TOML" in shown[0]


def _close_main_window_soon() -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    def close() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if windows:
            windows[0].close()
        else:
            QTimer.singleShot(50, close)

    QTimer.singleShot(50, close)


def test_app_runs_and_quits(qapp, tmp_path: Path, tiny_config: Path, monkeypatch) -> None:
    from rap_desktop.ui import app

    monkeypatch.setenv("RAP_DESKTOP_CONFIG", str(tiny_config))
    monkeypatch.setenv("RAP_DESKTOP_HOME", str(tmp_path / "home"))
    _close_main_window_soon()
    assert app.run([]) == 0
    assert (tmp_path / "home" / "store.sqlite3").is_file()  # opened (on the store lane) and closed


def test_app_exits_2_when_the_data_folder_cannot_be_opened(qapp, tmp_path: Path, monkeypatch) -> None:
    from rap_desktop.ui import app

    not_a_folder = tmp_path / "home"
    not_a_folder.write_text("a file where the data folder should be")
    monkeypatch.setenv("RAP_DESKTOP_HOME", str(not_a_folder))
    shown: list[str] = []
    monkeypatch.setattr(app, "_fatal", shown.append)
    assert app.run([]) == 2
    assert len(shown) == 1 and str(not_a_folder) in shown[0]


def _close_if_it_opens(shown: list[str]) -> None:
    """Closes the window if its library loads after all (so a failing test ends instead of hanging)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    def tick() -> None:
        if shown:
            return
        loaded = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w._loaded_once]
        if loaded:
            loaded[0].close()
        else:
            QTimer.singleShot(50, tick)

    QTimer.singleShot(50, tick)


def test_app_shows_a_lost_store_and_keeps_the_photos(qapp, tmp_path: Path, tiny_config: Path, monkeypatch) -> None:
    from rap_desktop.ui import app

    home = tmp_path / "home"
    photo = home / "images" / "ab" / ("ab" * 32 + ".png")  # a photo the lost store once named
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"a photo")
    (home / "store.sqlite3").write_bytes(b"")  # truncated
    monkeypatch.setenv("RAP_DESKTOP_CONFIG", str(tiny_config))
    monkeypatch.setenv("RAP_DESKTOP_HOME", str(home))
    shown: list[str] = []
    monkeypatch.setattr(app, "_fatal", shown.append)
    _close_if_it_opens(shown)
    assert app.run([]) == 2
    assert len(shown) == 1 and "store.sqlite3 is missing or empty" in shown[0] and "1 photo file" in shown[0]
    assert photo.read_bytes() == b"a photo"


def test_store_is_only_used_on_one_worker_thread(qtbot, window: MainWindow, astronaut_png: Path, monkeypatch) -> None:
    import threading

    from rap_desktop.ui.library import operations

    threads: set[int] = set()
    real = operations.with_store

    def recording(session, fn, *args):
        threads.add(threading.get_ident())
        return real(session, fn, *args)

    monkeypatch.setattr(operations, "with_store", recording)
    register(qtbot, window, astronaut_png, "bo")
    window.select_names(["bo"])
    window.refresh()
    qtbot.waitUntil(lambda: window.runner.pending == 0, timeout=WAIT)
    assert len(threads) == 1 and threading.get_ident() not in threads


def test_search_index_is_brought_up_to_date_at_start(qtbot, tmp_path: Path, tiny_config: Path, astronaut_png) -> None:
    from PySide6.QtCore import QSettings

    from rap_desktop.core.session import Session
    from rap_desktop.ui.main_window import MainWindow
    from rap_desktop.ui.runtime.tasks import TaskRunner

    home = tmp_path / "home"
    first = Session.open(home, tiny_config)
    first.store().add_concept("astro", astronaut_png)  # never searched: no index cache written
    first.close()
    assert not list((home / "cache" / "index").glob("*.faiss"))
    session = Session.open(home, tiny_config)
    win = MainWindow(session, TaskRunner(), QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: "Search ready: 1 photo indexed" in win.statusBar().currentMessage(), timeout=20_000)
    win.close()
    session.close()
    assert list((home / "cache" / "index").glob("*.faiss"))  # built at start, kept for the next one


def test_status_bar_model_text_with_gpu_figures() -> None:
    """The status-bar text on a GPU machine, from real figures (an H100 has 79.2 GiB usable)."""
    from rap_desktop.ui.photo.photo_ops import model_state_text, vram_text

    h100 = 85_045_379_072  # bytes, torch.cuda.get_device_properties(0).total_memory on an H100 80GB
    assert vram_text(1_395_864_371, h100) == "VRAM 1.3/79 GiB"
    assert vram_text(47_185_920, 24 * 2**30) == "VRAM 45 MiB/24 GiB"  # tiny models: not "0.0"
    assert vram_text(0, 8 * 2**30) == "VRAM 0 MiB/8 GiB"
    models = [("embedder", True, "cuda:0"), ("detector", False, "cuda:0")]
    assert model_state_text(models, (1_395_864_371, h100)) == (
        "embedder on cuda:0 · detector not loaded · VRAM 1.3/79 GiB"
    )
    assert model_state_text([("embedder", True, "cpu"), ("detector", True, "cpu")], None) == (
        "embedder on cpu · detector on cpu"
    )
