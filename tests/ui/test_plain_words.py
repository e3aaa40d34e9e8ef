"""What a person sees in the window's status bar and on quitting: plain words, no model jargon,
no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QLabel

from rap_desktop.ui.main_window import MainWindow

from .photo_helpers import WAIT, idle

JARGON = ("embedder", "detector", "generator", "Generator", "Models:")


def _visible_bar_text(win: MainWindow) -> str:
    labels = win.statusBar().findChildren(QLabel)
    return " | ".join(label.text() for label in labels if label.isVisible())


def test_status_bar_says_what_the_app_is_doing_in_plain_words(qtbot, window: MainWindow, photos) -> None:
    idle(qtbot, window)
    assert window.status_line.text() == "Ready"
    seen: list[str] = []
    window.photos.photo_opened.connect(lambda _path: seen.append(window.status_line.text()))
    with qtbot.waitSignal(window.photos.shown, timeout=WAIT):
        window.photos.open_path(photos["coffee"])
    assert seen == ["Recognising people and things…"]
    idle(qtbot, window)
    assert window.status_line.text() == "Ready"
    shown = _visible_bar_text(window)
    assert not any(word in shown for word in JARGON), shown
    # the technical detail is still there for whoever hovers over the status
    assert "embedder on cpu" in window.status_line.toolTip()


_QUIT = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from rap_desktop.ui.app import run
from rap_desktop.ui.main_window import MainWindow

def window():
    return next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())

def leave():
    window().quit_action.trigger() if sys.argv[1] == "quit" else window().close()

QTimer.singleShot(0, lambda: window().photos.open_path(__import__("pathlib").Path(sys.argv[2])))
QTimer.singleShot(0, lambda: window().photos.shown.connect(leave))
sys.exit(run([]))
"""


def _run_and_leave(how: str, tmp_path: Path, tiny_config: Path, photo: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, RAP_DESKTOP_HOME=str(tmp_path / how), RAP_DESKTOP_CONFIG=str(tiny_config))
    return subprocess.run(
        [sys.executable, "-c", _QUIT, how, str(photo)], env=env, capture_output=True, text=True, timeout=300
    )


def test_quit_and_close_leave_no_traceback(tmp_path: Path, tiny_config: Path, photos) -> None:
    for how in ("quit", "close"):  # Ctrl+Q's action, and the window's close button
        done = _run_and_leave(how, tmp_path, tiny_config, photos["coffee"])
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        assert "Error" not in done.stderr, done.stderr


def test_a_photo_opened_without_the_models_says_so_plainly(qtbot, tiny_config: Path, tmp_path: Path, photos) -> None:
    """The embedder's weights are missing: the box says what to do in plain words (no command line,
    no settings key; those stay behind Details) and the panel does not go on claiming it is looking."""
    import tomllib

    import tomli_w

    from rap_desktop.core.session import Session
    from rap_desktop.ui.photo.photo_controller import MODELS_MISSING

    from .windows import shown_window

    config = tomllib.loads(tiny_config.read_text(encoding="utf-8"))
    for spec in config["models"]["custom"].values():  # absolute paths, as the tiny config's folder holds them
        spec["path"] = str(tiny_config.parent / spec["path"])
    config["models"]["custom"]["tiny-clip"]["path"] = str(tmp_path / "no-such-folder")
    broken = tmp_path / "config.toml"
    broken.write_text(tomli_w.dumps(config), encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    session = Session.open(home, broken)
    win = shown_window(qtbot, session, tmp_path / "ui.ini", timeout=10_000)
    try:
        win.photos.open_path(photos["coffee"])
        qtbot.waitUntil(lambda: win._error_box is not None and win._error_box.isVisible(), timeout=WAIT)
        box = win._error_box
        assert box.text() == MODELS_MISSING
        assert "not available" in box.detailedText() and "rap-desktop models" not in box.text()
        qtbot.waitUntil(lambda: "could not look" in win.photos.panel.summary.text(), timeout=WAIT)
        assert "looking for" not in win.photos.panel.summary.text()
    finally:
        win.close()
        session.close()


# --- one question box: the Assistant's -----------------------------------------------------------


def test_the_one_question_box_is_the_assistants(qtbot, window: MainWindow, session, photos) -> None:
    """The Regions panel has no question box of its own: its "Ask about this photo…" (and Ctrl+Shift+A)
    take the keyboard to the Assistant's; a question asked there about the photo on view stars and
    lists the names it mentions, as the panel's box once did."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QLineEdit

    panel, chat = window.photos.panel, window.assistant.panel
    assert panel.findChildren(QLineEdit) == []
    session.store().add_concept("coach", photos["zidane"], category="person")
    window.refresh()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    with qtbot.waitSignal(window.photos.shown, timeout=WAIT):
        window.photos.open_path(photos["zidane"])
    idle(qtbot, window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)

    window.photo_view.setFocus()
    qtbot.waitUntil(window.photo_view.hasFocus, timeout=WAIT)
    keys = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window.photo_view, Qt.Key.Key_A, keys)
    assert QApplication.focusWidget() is chat.question_edit and window.assistant_dock.isVisible()
    window.retrieval_dock.raise_()
    assert panel.ask_button.isVisible() and panel.ask_button.text() == "Ask about this photo…"
    panel.ask_button.click()
    assert QApplication.focusWidget() is chat.question_edit

    assert not any(i.look.label.endswith("★") for i in window.photo_view.region_items())
    qtbot.keyClicks(chat.question_edit, "Is <coach> with <nobody>?")
    with qtbot.waitSignals([window.photos.shown, chat.answer_finished], timeout=WAIT):
        qtbot.keyClick(chat.question_edit, Qt.Key.Key_Return)
    assert window.photos.current.question == "Is <coach> with <nobody>?"
    assert panel.mentions.text() == "Your question names coach, nobody (not remembered yet)."
    accepted = [r for r in window.photos.current.result.regions if r.accepted]
    starred = [i for i in window.photo_view.region_items() if i.look.label.endswith("★")]
    assert len(starred) == len(accepted) >= 1
    assert chat.turns[-1].question == "Is <coach> with <nobody>?"  # answered in the chat, as typed


# --- names without brackets -----------------------------------------------------------------------


def test_names_show_without_brackets_anywhere_in_the_window(qtbot, window: MainWindow, session, photos) -> None:
    """The list, the details, the region labels (quiet and full), the candidates, the picker, the undo
    texts and the status messages say "coach", never "<coach>"."""
    from PySide6.QtCore import Qt

    from rap_desktop.ui.photo.undo_commands import ConceptText, EditConceptCommand

    store = session.store()
    store.add_concept("coach", photos["zidane"], "<coach> is the man in the white shirt.", "person")
    store.add_concept("cat", photos["chelsea"], "<cat> is our tabby.", "cat")
    window.refresh()
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=WAIT)
    names = [window.proxy.index(r, 0).data() for r in range(window.proxy.rowCount())]
    assert names == ["cat", "coach"]
    window.select_names(["coach"])
    assert window.details.title.text() == "coach"
    assert window.details.info.text() == "coach is the man in the white shirt."
    assert "&lt;" not in window.proxy.index(1, 0).data(Qt.ItemDataRole.ToolTipRole)

    with qtbot.waitSignal(window.photos.shown, timeout=WAIT):
        window.photos.open_path(photos["zidane"])
    idle(qtbot, window)
    labels = [i.look.label for i in window.photo_view.region_items()]
    window.photos.everything_action.setChecked(True)
    labels += [i.look.label for i in window.photo_view.region_items()]
    assert any("coach" in label for label in labels) and not any("<" in label for label in labels), labels
    region = next(r for r in window.photos.current.result.regions if r.accepted)
    window.photo_view.select_region(region.id)
    panel = window.photos.panel
    rows = [panel.candidates.index(r).data() for r in range(panel.candidates.rowCount())]
    texts = [*rows, panel.summary.text(), panel.region_title.text(), panel.ask.text()]
    assert rows and not any("<" in text for text in texts), texts

    window.photos.reassign_action.trigger()
    qtbot.waitUntil(lambda: window.photos.dialog is not None, timeout=WAIT)
    assert window.photos.dialog.note.text() == f"Now shown as {region.accepted.concept}."
    window.photos.dialog.reject()

    edit = EditConceptCommand(window.ctx, ConceptText("cat", "", "cat"), ConceptText("Mochi", "", "cat"))
    assert edit.text() == "Edit cat → Mochi"
    said: list[str] = []
    window.notify = lambda message, warning=False: said.append(message)  # type: ignore[method-assign]
    window.confirm = lambda title, text: True  # type: ignore[method-assign]
    window.select_names(["cat"])
    window.remove_action.trigger()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    assert window.undo_stack.undoText() == "Remove cat"
    assert "Removed cat. Undo with Ctrl+Z." in said


# --- errors a person can read ---------------------------------------------------------------------


def test_an_error_is_a_plain_sentence_with_the_technical_text_behind_details(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch
) -> None:
    """A backup that is not one: the box says so in words; the library's own text (zipfile's) and the
    path are under Details. An internal failure is said plainly as well."""
    from PySide6.QtWidgets import QFileDialog

    bad = tmp_path / "holiday-backup.zip"
    bad.write_bytes(b"this is not a zip archive at all")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *_a, **_k: (str(bad), "")))
    window.import_backup_action.trigger()
    qtbot.waitUntil(lambda: window._error_box is not None and window._error_box.isVisible(), timeout=WAIT)
    box = window._error_box
    assert box.text() == "That backup could not be read: it is damaged, or not a RAP Desktop backup."
    assert "File is not a zip file" in box.detailedText() and "holiday-backup.zip" in box.detailedText()
    box.close()

    window._error_box = None
    window.runner.submit(lambda: 1 / 0)  # a bug of ours: no one's exception text in the main words
    qtbot.waitUntil(lambda: window._error_box is not None and window._error_box.isVisible(), timeout=WAIT)
    box = window._error_box
    assert "ZeroDivisionError" not in box.text() and "went wrong inside the app" in box.text()
    assert "ZeroDivisionError: division by zero" in box.detailedText()
    box.close()


def test_plain_sentences_keep_what_a_person_can_use() -> None:
    from rap_desktop.ui.plain_words import readable

    assert readable("a concept named <Bo> already exists") == ("A concept named Bo already exists.", "")
    assert readable("holiday.jpg: a text file, not an image") == ("holiday.jpg: a text file, not an image.", "")
    raw = "could not download 'tiny-rap' from nobody/rap: offline; set HF_HUB_OFFLINE=0"
    text, details = readable(raw)
    assert "HF_HUB_OFFLINE" not in text and "tiny-rap" not in text and details == raw
    text, details = readable("concept name 'a/b' contains a slash", "Not saved.")
    assert text.startswith("Not saved. That name cannot be used") and "'a/b'" in details
