"""Event-loop stalls of the real window while it captions and chats on bigger inputs, against the
same work done naively on the GUI thread.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/ui_stalls.py [--concepts 200] [--tokens 256]

Tiny real-format models (random weights), many concepts, a 12-megapixel photo, long answers. A 5 ms
QTimer on the GUI thread (ui/stall_probe.py) records how late each tick came. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")

import rap_desktop.torch_compat  # noqa: F401


def big_photo(folder: Path) -> Path:
    import skimage
    from PIL import Image

    data = Path(skimage.__file__).parent / "data"
    base = Image.open(data / "astronaut.png").convert("RGB").resize((4000, 3000))
    base.paste(Image.open(data / "chelsea.png").convert("RGB").resize((1200, 800)), (2600, 2000))
    path = folder / "big.jpg"
    base.save(path, quality=90)
    return path


def fill_store(store, count: int) -> None:
    """`count` concepts, each a different crop of a package photo (distinct embeddings)."""
    import random

    import skimage
    from PIL import Image

    from rap_desktop.core.images import load_image

    data = Path(skimage.__file__).parent / "data"
    sources = [Image.open(data / n).convert("RGB") for n in ("chelsea.png", "coffee.png", "astronaut.png")]
    rng = random.Random(0)
    tmp = Path(tempfile.mkdtemp(prefix="rap-bench-crops-"))
    for i in range(count):
        image = sources[i % len(sources)]
        w, h = image.size
        x, y = rng.randint(0, w // 3), rng.randint(0, h // 3)
        crop = image.crop((x, y, x + w // 2, y + h // 2))
        path = tmp / f"c{i}.png"
        crop.save(path)
        store.add_concept(f"concept-{i}", load_image(path), f"<concept-{i}> is test concept {i}.", "cat")


def run(concepts: int, tokens: int) -> list[tuple[str, str, float]]:
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from rap_desktop.core.images import load_image
    from rap_desktop.core.models.generator import GenerationOptions
    from rap_desktop.core.session import Session
    from rap_desktop.devtools.tiny_models import write_all
    from rap_desktop.ui.main_window import MainWindow
    from rap_desktop.ui.stall_probe import StallProbe
    from rap_desktop.ui.tasks import TaskRunner

    app = QApplication.instance() or QApplication([])
    work = Path(tempfile.mkdtemp(prefix="rap-bench-ui-"))
    os.environ["RAP_DESKTOP_WEIGHTS_DIR"] = str(work / "weights")
    config = write_all(work / "models")
    photo = big_photo(work)
    rows = []

    # 1. the app's way: everything through the task runner
    session = Session.open(work / "home", config)
    fill_store(session.store(), concepts)
    window = MainWindow(session, TaskRunner(), QSettings(str(work / "ui.ini"), QSettings.Format.IniFormat))
    window.show()
    panel = window.assistant.panel
    window.assistant.worker.options = GenerationOptions(max_new_tokens=tokens)
    probe = StallProbe(5)
    loop = QEventLoop()
    panel.answer_finished.connect(loop.quit)
    probe.start()
    start = time.perf_counter()
    panel.set_photo(photo)
    panel.caption()  # first answer: generator conversion + load, detection, embedding, search
    loop.exec()
    panel.question_edit.setText("What is <concept-1> doing?")
    panel.send()
    loop.exec()
    wall = time.perf_counter() - start
    probe.stop()
    assert all(t.reply is not None for t in panel.turns), [t.error for t in panel.turns]
    rows.append(("task runner (the app)", probe.summary(), wall))
    rows[-1] = (*rows[-1][:2], wall, probe.max_ms, probe.percentile(99))  # type: ignore[assignment]
    window.close()
    session.close()

    # 2. naive: the same calls on the GUI thread (fresh session: the generator loads again)
    session = Session.open(work / "home", config)
    probe = StallProbe(5)
    done: list[float] = []

    def on_gui_thread() -> None:
        t0 = time.perf_counter()
        assistant = session.assistant()
        options = GenerationOptions(max_new_tokens=tokens)
        reply = assistant.caption(load_image(photo), options=options)
        assistant.follow_up(reply, "What is <concept-1> doing?", options=options)
        done.append(time.perf_counter() - t0)

    probe.start()
    QTimer.singleShot(20, on_gui_thread)
    while not done:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    probe.stop()
    rows.append(("naive: same work on the GUI thread", probe.summary(), done[0], probe.max_ms, probe.percentile(99)))  # type: ignore[arg-type]
    session.close()
    return rows  # type: ignore[return-value]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concepts", type=int, default=200)
    parser.add_argument("--tokens", type=int, default=256)
    args = parser.parse_args()
    import torch

    rows = run(args.concepts, args.tokens)
    print(
        f"Machine: {os.cpu_count()} CPU cores, python {platform.python_version()}, torch {torch.__version__} "
        f"{'CUDA' if torch.cuda.is_available() else 'CPU'}; {args.concepts} concepts, a 4000x3000 photo, "
        f"caption + one follow-up of up to {args.tokens} new tokens each, tiny random-weight models.\n"
    )
    print("| how | max stall | p99 stall | work wall time |")
    print("|---|---|---|---|")
    for how, _summary, wall, worst, p99 in rows:  # type: ignore[misc]
        print(f"| {how} | {worst:.0f} ms | {p99:.1f} ms | {wall:.1f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
