"""Screenshots of the library's "Same person or thing…" question, the whole screen as a person sees
it. Run under Xvfb, once per screen size:

    xvfb-run -a -s "-screen 0 1024x700x24" .venv/bin/python -m tests.ui.make_merge_screenshots docs/screenshots 1024x700

Tiny random-weight models; two concepts registered from package photos, both selected, the question
open. Not a test (no assertions)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import rap_desktop.torch_compat  # noqa: F401

from .make_words_screenshots import shoot, wait_until, window


def main(out: Path, size: tuple[int, int]) -> None:
    import skimage
    from PySide6.QtWidgets import QApplication

    from rap_desktop.core.session import Session
    from rap_desktop.devtools.tiny_models import write_all
    from rap_desktop.ui.assistant.assistant_dock import SKIP_MODELS_PROMPT

    app = QApplication.instance() or QApplication([])
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rap-merge-shots-"))
    for var, sub in (("XDG_CONFIG_HOME", "xdg"), ("HF_HOME", "hf"), ("RAP_DESKTOP_WEIGHTS_DIR", "weights")):
        os.environ[var] = str(work / sub)
    config = write_all(work / "models")
    sk = Path(skimage.__file__).parent / "data"
    session = Session.open(work / "home", config)
    store = session.store()
    store.add_concept("Chelsea", sk / "chelsea.png", "<Chelsea> is our tabby cat with green eyes.", "cat")
    store.add_exemplar("Chelsea", sk / "chelsea.png", box=(100, 20, 400, 300))
    store.add_concept("kitty", sk / "chelsea.png", "<kitty> on the sofa.", "cat", box=(50, 0, 420, 300))
    store.add_concept("Eileen", sk / "astronaut.png", "<Eileen> is an astronaut in an orange suit.", "person")
    from PySide6.QtCore import QSettings

    QSettings(str(work / "ui.ini"), QSettings.Format.IniFormat).setValue(SKIP_MODELS_PROMPT, True)
    win = window(app, session, work, size)
    win.select_names(["Chelsea", "kitty"])
    win.merge_action.trigger()
    wait_until(app, lambda: win.commands.merge_box is not None and win.commands.merge_box.isVisible())
    shoot(app, out / f"merge_{size[0]}x{size[1]}.png")
    win.commands.merge_box.reject()
    win.close()
    session.close()


if __name__ == "__main__":
    width, height = (int(v) for v in (sys.argv[2] if len(sys.argv) > 2 else "1024x700").split("x"))
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp"), (width, height))
