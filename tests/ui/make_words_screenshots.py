"""Screenshots of the offline first start, the models table in plain words (Details open), a
question asked in the Assistant (the one question box) with its names starred on the photo, and of the
"why?" explanation, the whole screen as a person sees it. Run under Xvfb, once per screen size:

    xvfb-run -a -s "-screen 0 1024x700x24" .venv/bin/python -m tests.ui.make_words_screenshots docs/screenshots 1024x700

Offline (HF_HUB_OFFLINE=1), tiny random-weight models; the generator named is one whose weights are
not here, so the first start asks for it. Not a test (no assertions)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import rap_desktop.torch_compat  # noqa: F401


def wait_until(app, condition, seconds: float = 120) -> None:
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window never got there")
        app.processEvents()
        time.sleep(0.02)


def settle(app, seconds: float = 0.8) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def shoot(app, path: Path) -> None:
    settle(app)
    xwd = subprocess.run(["xwd", "-root", "-silent"], capture_output=True, check=True).stdout
    subprocess.run(["convert", "xwd:-", "-strip", "-colors", "256", f"png8:{path}"], input=xwd, check=True)
    print(path)


def window(app, session, work: Path, size: tuple[int, int]):
    from PySide6.QtCore import QSettings

    from rap_desktop.ui.main_window import MainWindow
    from rap_desktop.ui.runtime.tasks import TaskRunner

    win = MainWindow(session, TaskRunner(), QSettings(str(work / "ui.ini"), QSettings.Format.IniFormat))
    win.resize(*size)
    win.move(0, 0)
    win.show()
    wait_until(app, lambda: win._loaded_once)
    return win


def first_start(app, out: Path, work: Path, config: Path, size: tuple[int, int], suffix: str) -> None:
    from rap_desktop.core.session import Session

    os.environ["RAP_DESKTOP_GENERATOR"] = "rap-phi3-mini"  # not on this machine: the first start asks
    session = Session.open(work / "home-first", config)
    del os.environ["RAP_DESKTOP_GENERATOR"]
    win = window(app, session, work / "first", size)
    wait_until(app, lambda: win.assistant.models_dialog is not None and bool(win.assistant.models_dialog.rows))
    dialog = win.assistant.models_dialog
    dialog.download()
    wait_until(app, lambda: dialog._cancel is None and dialog.recheck_button.isEnabled())
    dialog.move(max(0, (size[0] - dialog.width()) // 2), max(0, (size[1] - dialog.height()) // 2))
    shoot(app, out / f"first_start_offline{suffix}.png")
    win.close()
    session.close()


def models_table(app, out: Path, work: Path, config: Path, size: tuple[int, int], suffix: str) -> None:
    from rap_desktop.core.session import Session

    os.environ["RAP_DESKTOP_GENERATOR"] = "rap-phi3-mini"
    session = Session.open(work / "home-models", config)
    del os.environ["RAP_DESKTOP_GENERATOR"]
    win = window(app, session, work / "models", size)
    wait_until(app, lambda: win.assistant.models_dialog is not None and bool(win.assistant.models_dialog.rows))
    dialog = win.assistant.models_dialog
    dialog.details_button.setChecked(True)  # the technical id and source: under Details only
    dialog.move(max(0, (size[0] - dialog.width()) // 2), max(0, (size[1] - dialog.height()) // 2))
    shoot(app, out / f"models_table{suffix}.png")
    win.close()
    session.close()


def one_box(app, out: Path, work: Path, config: Path, size: tuple[int, int], suffix: str) -> None:
    import ultralytics

    from rap_desktop.core.session import Session

    zidane = Path(ultralytics.__file__).parent / "assets" / "zidane.jpg"
    session = Session.open(work / "home-ask", config)
    store = session.store()
    if not store.list_concepts():
        store.add_concept("Coach", zidane, "<Coach> is the man in the white shirt.", "person", box=(750, 40, 1150, 710))
    win = window(app, session, work / "ask", size)
    panel = win.assistant.panel
    shown: list[int] = []
    win.photos.shown.connect(lambda: shown.append(1))
    win.photos.open_path(zidane)
    wait_until(app, lambda: bool(shown) and panel.photo is not None)
    win.assistant.ask_action.trigger()  # Ctrl+Shift+A: the one question box takes the keyboard
    panel.question_edit.setText("What is <Coach> doing?")
    panel.send()
    wait_until(app, lambda: len(shown) > 1 and panel.turns[-1].done and not win.assistant.worker.busy)
    shoot(app, out / f"one_question_box{suffix}.png")
    win.close()
    session.close()


def why(app, out: Path, work: Path, config: Path, size: tuple[int, int], suffix: str) -> None:
    import skimage

    from rap_desktop.core.session import Session

    sk = Path(skimage.__file__).parent / "data"
    session = Session.open(work / "home-why", config)
    store = session.store()
    if not store.list_concepts():
        store.add_concept("Chelsea", sk / "chelsea.png", "<Chelsea> is our tabby cat with green eyes.", "cat")
        store.add_concept("Eileen", sk / "astronaut.png", "<Eileen> is an astronaut in an orange suit.", "person")
    win = window(app, session, work / "why", size)
    panel = win.assistant.panel
    win.photos.open_path(sk / "chelsea.png")
    wait_until(app, lambda: win.photos.current is not None and panel.photo is not None)
    win.assistant_dock.raise_()
    panel.caption()
    wait_until(app, lambda: bool(panel.turns) and panel.turns[-1].done and not win.assistant.worker.busy)
    panel.show_why(len(panel.turns) - 1)
    dialog = panel.why
    dialog.move(max(0, (size[0] - dialog.width()) // 2), max(0, (size[1] - dialog.height()) // 2))
    shoot(app, out / f"why{suffix}.png")
    win.close()
    session.close()


def main(out: Path, size: tuple[int, int]) -> None:
    from PySide6.QtWidgets import QApplication

    from rap_desktop.devtools.tiny_models import write_all

    app = QApplication.instance() or QApplication([])
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rap-words-shots-"))
    for var, sub in (("XDG_CONFIG_HOME", "xdg"), ("HF_HOME", "hf"), ("RAP_DESKTOP_WEIGHTS_DIR", "weights")):
        os.environ[var] = str(work / sub)
    config = write_all(work / "models")
    suffix = f"_{size[0]}x{size[1]}"
    first_start(app, out, work, config, size, suffix)
    models_table(app, out, work, config, size, suffix)
    one_box(app, out, work, config, size, suffix)
    why(app, out, work, config, size, suffix)


if __name__ == "__main__":
    width, height = (int(x) for x in sys.argv[2].split("x"))
    main(Path(sys.argv[1]), (width, height))
