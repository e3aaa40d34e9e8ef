"""Drive the real app through register -> open photo (retrieve) -> correct -> caption, saving a
screenshot of the whole screen after each step. For a real display (Xvfb); see installers/screenshots.sh.

    python -m rap_desktop.devtools.demo_flow OUT_DIR [--models-only]

The app starts through `rap_desktop.ui.app.run()` (what `rap-desktop` runs); a timer script then
clicks through it from the inside. `--models-only` waits for the first-run models dialog (start it
with a generator whose weights are missing) and shoots it. Exit status 0 when every step happened.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import rap_desktop.torch_compat  # noqa: F401  (before anything imports torchvision)

STEP_TIMEOUT_S = 120
Step = tuple[str, Callable[[], object], Callable[[], bool]]  # name, action, done when true


class Script:
    def __init__(self, app, out: Path, steps: list[Step]) -> None:
        from PySide6.QtCore import QTimer

        self.app, self.out, self.steps = app, out, steps
        self.failed: str | None = None
        self._started = 0.0
        self._timer = QTimer()
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._poll)
        self._acted = False

    def start(self) -> None:
        self._timer.start()

    def _poll(self) -> None:
        if not self.steps:
            self._timer.stop()
            self._quit()
            return
        name, action, done = self.steps[0]
        if not self._acted:
            print(f"step: {name}", file=sys.stderr)
            self._started = time.monotonic()
            self._acted = True
            try:
                action()
            except Exception as exc:  # a broken step ends the run with the reason
                self._fail(f"{name}: {type(exc).__name__}: {exc}")
            return
        if done():
            self.steps.pop(0)
            self._acted = False
        elif time.monotonic() - self._started > STEP_TIMEOUT_S:
            self._fail(f"{name}: timed out")

    def _fail(self, message: str) -> None:
        self.failed = message
        print(f"demo failed at {message}", file=sys.stderr)
        self._timer.stop()
        self._quit()

    def _quit(self) -> None:
        for widget in self.app.topLevelWidgets():
            if type(widget).__name__ == "MainWindow":
                widget.close()
        self.app.quit()

    def shot(self, name: str) -> None:
        self.app.processEvents()
        screen = self.app.primaryScreen()
        pixmap = screen.grabWindow(0)  # the whole screen: the window and any dialog over it
        path = self.out / name
        if not pixmap.save(str(path)):
            raise RuntimeError(f"could not save {path}")
        print(f"saved {path}", file=sys.stderr)


def _window(app):
    return next(w for w in app.topLevelWidgets() if type(w).__name__ == "MainWindow" and w.isVisible())


def flow_steps(app, script: Script, photos: dict[str, Path]) -> list[Step]:
    state: dict = {}

    def win():
        return _window(app)

    def place() -> None:
        w = win()
        w.move(0, 0)
        w.resize(1280, 800)
        state["shown"] = 0
        w.photos.shown.connect(lambda: state.__setitem__("shown", state["shown"] + 1))

    def open_register() -> None:
        win().commands.register_paths([photos["chelsea"]])

    def fill_register() -> None:
        dialog = win().commands.dialog
        dialog.name_edit.setText("chelsea")
        dialog.info_edit.setPlainText("<chelsea> is our tabby cat; she has green eyes and a white chin.")
        dialog.category_edit.setText("cat")
        script.shot("flow_1_register.png")
        dialog.accept()

    def register_second() -> None:  # through the same dialog, without a screenshot
        win().commands.register_paths([photos["coffee"]])

    def fill_second() -> None:
        dialog = win().commands.dialog
        dialog.name_edit.setText("mug")
        dialog.info_edit.setPlainText("<mug> is my favourite cup, white with a saucer and a spoon.")
        dialog.category_edit.setText("cup")
        dialog.accept()

    def names() -> list[str]:
        return [e.concept.name for e in win().model.entries()]

    def open_photo() -> None:
        win().photos.open_path(photos["chelsea_scene"])

    def correct() -> None:
        w = win()
        script.shot("flow_2_retrieve.png")
        regions = w.photos.current.result.regions
        region = max(regions, key=lambda r: _overlap(r.box, CAT_BOX))  # the box around the pasted cat
        state["corrected"] = region.id
        state["before"] = state["shown"]
        w.photos.assign_dropped(region.id, "chelsea")  # as dragging <chelsea> onto the box does

    def corrected() -> bool:
        w = win()
        if state["shown"] <= state["before"] or w.photos.current is None:
            return False
        region = next(r for r in w.photos.current.result.regions if r.id == state["corrected"])
        return region.accepted is not None and region.accepted.concept == "chelsea"

    def caption() -> None:
        w = win()
        script.shot("flow_3_correct.png")
        panel = w.assistant.panel
        w.assistant_dock.show()
        w.assistant_dock.raise_()
        state["answers"] = 0
        panel.answer_finished.connect(lambda: state.__setitem__("answers", state["answers"] + 1))
        panel.caption()

    def ask() -> None:
        panel = win().assistant.panel
        script.shot("flow_4_caption.png")
        panel.question_edit.setText("Is <chelsea> in this photo?")
        panel.send()

    def why() -> None:
        w = win()
        script.shot("chat.png")
        w.assistant.panel.show_why(0)

    return [
        ("place the window", place, lambda: True),
        ("open the register dialog", open_register, lambda: win().commands.dialog is not None),
        ("register <chelsea>", fill_register, lambda: "chelsea" in names()),
        ("open the second register dialog", register_second, lambda: win().commands.dialog is not None),
        ("register <mug>", fill_second, lambda: "mug" in names()),
        ("open a photo and retrieve", open_photo, lambda: win().photos.current is not None),
        ("correct a region", correct, corrected),
        ("caption", caption, lambda: state["answers"] >= 1),
        ("ask a follow-up", ask, lambda: state["answers"] >= 2),
        ("why did it say that?", why, lambda: win().assistant.panel.why is not None),
        ("shoot the why dialog", lambda: script.shot("flow_5_why.png"), lambda: True),
    ]


def models_steps(app, script: Script) -> list[Step]:
    def dialog():
        return _window(app).assistant.models_dialog

    def place() -> None:
        w = _window(app)
        w.move(0, 0)
        w.resize(1280, 800)

    def ready() -> bool:
        d = dialog()
        return d is not None and bool(d.rows)

    def shoot() -> None:
        d = dialog()
        d.move(240, 160)
        script.shot("models_dialog.png")

    return [
        ("place the window", place, lambda: True),
        ("wait for the first-run models dialog", lambda: None, ready),
        ("shoot it", shoot, lambda: True),
    ]


CAT_BOX = (500, 620, 860, 860)  # where scene_photo pastes the cat


def _overlap(a, b) -> float:
    """Intersection over union of two boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def scene_photo(folder: Path) -> Path:
    """A photo to retrieve on: the cat pasted into a bigger real photo (the astronaut's)."""
    import skimage
    from PIL import Image

    data = Path(skimage.__file__).parent / "data"
    base = Image.open(data / "astronaut.png").convert("RGB").resize((900, 900))
    x1, y1, x2, y2 = CAT_BOX
    cat = Image.open(data / "chelsea.png").convert("RGB").resize((x2 - x1, y2 - y1))
    base.paste(cat, (x1, y1))
    path = folder / "family-photo.jpg"
    base.save(path, quality=92)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--models-only", action="store_true")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    import skimage
    from PySide6.QtWidgets import QApplication

    from rap_desktop.ui.app import run

    app = QApplication.instance() or QApplication(["rap-desktop"])
    data = Path(skimage.__file__).parent / "data"
    photos = {"chelsea": data / "chelsea.png", "coffee": data / "coffee.png"}
    photos["chelsea_scene"] = scene_photo(Path(tempfile.mkdtemp(prefix="rap-demo-")))
    script = Script(app, args.out, [])
    script.steps = models_steps(app, script) if args.models_only else flow_steps(app, script, photos)
    from PySide6.QtCore import QTimer

    QTimer.singleShot(1500, script.start)  # after the window is up
    code = run(["rap-desktop"])
    if script.failed:
        print(f"demo flow failed: {script.failed}", file=sys.stderr)
        return 1
    if script.steps:
        print(f"demo flow stopped before: {script.steps[0][0]}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
