"""Event-loop stalls of the real window while it opens a 12-megapixel photo, zooms into it,
captions it and chats about it: the app before and after the GUI-first fixes, side by side in one
run, and the same work done naively on the GUI thread.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/ui_stalls.py [--concepts 200] [--tokens 256]

"before" is the old path, rebuilt here (the product has no switch for it): `old_runner` (workers at
the GUI's CPU priority, a 5 ms GIL switch interval, io threads that expire) and `old_open_path`
(a 2400-px RGB888 preview converted on the GUI thread, no sharper tiles). Tiny real-format models
(random weights), many concepts, long answers. A 5 ms QTimer on the GUI thread (ui/stall_probe.py)
records how late each tick came. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import types
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


def old_runner():
    """The task runner as it was before the GUI-first fixes."""
    from rap_desktop.ui.runtime import tasks

    tasks._lower_priority = lambda: None  # workers keep the GUI thread's CPU priority
    runner = tasks.TaskRunner()
    sys.setswitchinterval(0.005)  # Python's default
    runner._lanes["io"].setExpiryTimeout(30_000)  # Qt's default: idle io threads end, start again later
    return runner


def old_open_path(controller, path: Path) -> None:
    """PhotoController.open_path as it was: a fixed 2400-px RGB888 preview, no sharper tiles."""
    from rap_desktop.ui.runtime.thumbnails import load_photo

    controller._generation += 1
    generation = controller._generation
    controller.ctx.status.notify(f"Opening {path.name}…")
    controller.view.sharpen = False
    controller._tile_next = None
    controller.ctx.runner.submit(
        load_photo, path, 2400, lane="io", on_done=lambda r: controller._decoded(generation, path, *r)
    )


def run(concepts: int, tokens: int, mode: str, work: Path) -> tuple[float, float, float]:
    """One measurement in this process: mode "before" / "after" (the app) or "naive"; or "warm"
    (convert the generator once). Returns (wall s, max stall ms, p99 stall ms)."""
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from rap_desktop.core.images import load_image
    from rap_desktop.core.models.generator import GenerationOptions
    from rap_desktop.core.session import Session
    from rap_desktop.devtools.tiny_models import write_all
    from rap_desktop.ui.main_window import MainWindow
    from rap_desktop.ui.runtime.stall_probe import StallProbe
    from rap_desktop.ui.runtime.tasks import TaskRunner

    _app = QApplication.instance() or QApplication([])  # kept alive for the whole run

    def spin(ms: int) -> None:
        """Run the event loop for `ms`. (Not processEvents: PySide6 6.12 drops a reference to None
        on every processEvents call, and a few thousand calls abort Python.)"""
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    os.environ["RAP_DESKTOP_WEIGHTS_DIR"] = str(work / "weights")
    config = write_all(work / "models")
    photo = work / "big.jpg"
    home = Path(tempfile.mkdtemp(prefix=f"home-{mode}-", dir=work))
    session = Session.open(home, config)
    if mode == "warm":
        session.generator(progress=lambda *_: None)  # converted once, reused by every run
        session.close()
        return 0.0, 0.0, 0.0
    fill_store(session.store(), concepts)
    probe = StallProbe(5)
    if mode == "naive":
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
        spin(100)  # the work blocks the loop from 20 ms on; the spin ends once it is done
        probe.stop()
        session.close()
        return done[0], probe.max_ms, probe.percentile(99)

    fixed = mode == "after"
    runner = TaskRunner() if fixed else old_runner()
    window = MainWindow(session, runner, QSettings(str(home / "ui.ini"), QSettings.Format.IniFormat))
    if not fixed:
        window.photos.open_path = types.MethodType(old_open_path, window.photos)  # type: ignore[method-assign]
    window.show()
    panel = window.assistant.panel
    window.assistant.worker.options = GenerationOptions(max_new_tokens=tokens)
    loop = QEventLoop()
    panel.answer_finished.connect(loop.quit)
    probe.start()
    start = time.perf_counter()
    opened = QEventLoop()
    window.photos.photo_opened.connect(opened.quit)
    window.photos.open_path(photo)  # the photo view shows it; the chat follows the photo on view
    opened.exec()
    panel.caption()  # first answer: generator load, detection, embedding, search
    loop.exec()
    view = window.photo_view
    for _ in range(6):  # zoom in on the cat step by step, as with the mouse wheel
        view.centerOn(3000, 2300)
        view.zoom_in()
        spin(300)
    panel.question_edit.setText("What is <concept-1> doing?")
    panel.send()
    loop.exec()
    wall = time.perf_counter() - start
    probe.stop()
    assert all(t.reply is not None for t in panel.turns), [t.error for t in panel.turns]
    assert not fixed or view.detail is not None, "no sharper tile came"
    window.close()
    session.close()
    return wall, probe.max_ms, probe.percentile(99)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concepts", type=int, default=200)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=2, help="before/after pairs, alternating")
    parser.add_argument("--skip-naive", action="store_true", help="leave out the naive GUI-thread run")
    parser.add_argument("--mode", help=argparse.SUPPRESS)  # one measurement (the child processes)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        print("RESULT " + json.dumps(run(args.concepts, args.tokens, args.mode, args.work)))
        return 0

    # every measurement in a fresh process, as the app starts: imports, thread pools, caches
    work = Path(tempfile.mkdtemp(prefix="rap-bench-ui-"))
    big_photo(work)

    def child(mode: str) -> tuple[float, float, float]:
        command = [sys.executable, __file__, "--mode", mode, "--work", str(work)]
        command += ["--concepts", str(args.concepts), "--tokens", str(args.tokens)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        found = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode or not found:
            sys.exit(f"{mode} run failed:\n{done.stderr[-3000:]}")
        return tuple(json.loads(found[-1][7:]))  # type: ignore[return-value]

    child("warm")
    rows = []
    for _ in range(args.rounds):
        for mode in ("before", "after"):
            rows.append((mode, *child(mode)))
    if not args.skip_naive:
        rows.append(("naive", *child("naive")))
    import torch

    print(
        f"Machine: {os.cpu_count()} CPU cores, python {platform.python_version()}, torch {torch.__version__} "
        f"{'CUDA' if torch.cuda.is_available() else 'CPU'}; {args.concepts} concepts, a 4000x3000 photo opened, "
        f"captioned, zoomed in 6 steps, one follow-up; up to {args.tokens} new tokens per answer, "
        "tiny random-weight models.\n"
    )
    names = {
        "before": "before (old runner, 2400-px RGB888 preview)",
        "after": "after (GUI-first runner, screen-sized preview + tiles)",
        "naive": "naive: the chat work on the GUI thread",
    }
    print("| how | max stall | p99 stall | work wall time |")
    print("|---|---|---|---|")
    for mode, wall, worst, p99 in rows:
        print(f"| {names[mode]} | {worst:.0f} ms | {p99:.1f} ms | {wall:.1f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
