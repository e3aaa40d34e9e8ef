"""The album's viewer with 12-MP phone photos: key press to the new photo painted, the longest GUI-thread
stall while paging, memory; two code versions side by side, each in a fresh process.

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python benchmarks/viewer.py --base DIR [--rounds 2]

`--base`: a checkout of the code to compare with (e.g. `git archive main | tar -x -C /tmp/base`). The real
window (MainWindow, tiny real-format models), 1600x1000 on a 1920x1080 screen (Xvfb; offscreen when there
is no display), its Album tab showing `--photos` JPEGs of 4000x3000 (package photos with texture and
noise, 3-5 MB each, `devtools.synthetic_album.make_large_album`, cached under ~/.cache/rap-desktop-bench),
their thumbnails already made (as indexing leaves them), then one 108-MP JPEG, one truncated JPEG and one
photo whose file is gone. What is timed:

- open: the viewer opened on a photo: to its first paint, to the full photo painted.
- hold: 30 presses of Right 50 ms apart (a held key); from the last press to that photo painted in full.
- step: 12 presses of Left, each waiting for the full photo, then 400 ms of looking at it: press to paint.
- 108 MP, broken, gone: the viewer opened on each: what it shows, and when (up to 15 s).

A 1 ms-resolution QTimer on the GUI thread (ui/runtime/stall_probe.py) gives the longest stall per phase.
Paint times come from an event filter on the photo canvas that times each paint, the paint's own work
included. Memory: VmRSS before the viewer opens, VmHWM (peak, reset after set-up) and VmRSS at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from base_vs_new import Table, alternate, checkouts, cpu_model, run_child  # benchmarks/, beside this script

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rap-desktop-bench"
LARGE = (4000, 3000)
HUGE = (12000, 9000)


def album(count: int) -> dict[str, list[Path] | Path]:
    """The cached 12-MP photos, a 108-MP one, a truncated one, and a path whose file is gone."""
    from PIL import Image

    from rap_desktop.devtools.synthetic_album import make_large_album

    large = make_large_album(CACHE / "album-12mp", count, LARGE)
    huge = CACHE / f"huge-{HUGE[0]}x{HUGE[1]}.jpg"
    if not huge.is_file():
        with Image.open(large[0]) as image:  # scaled up: 108 MP of pixels to decode (no noise: a smaller file)
            image.convert("RGB").resize(HUGE, Image.Resampling.BILINEAR).save(huge.with_suffix(".part"), "JPEG")
        huge.with_suffix(".part").replace(huge)
    broken = CACHE / "broken-12mp.jpg"
    if not broken.is_file():
        data = large[1].read_bytes()
        broken.write_bytes(data[: len(data) // 3])
    return {"large": large, "huge": huge, "broken": broken, "gone": CACHE / "gone-12mp.jpg"}


def tiny_config() -> Path:
    config = CACHE / "models-tiny" / "config.toml"
    if not config.is_file():
        from rap_desktop.devtools.tiny_models import write_all

        config = write_all(CACHE / "models-tiny")
    return config


def _kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (Linux)


def measure(count: int) -> dict:
    """One code version, in this process (the one first on sys.path)."""
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QSettings, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    import rap_desktop.torch_compat  # noqa: F401
    from rap_desktop.core.images import load_working
    from rap_desktop.core.session import Session
    from rap_desktop.ui.album.album_ops import AlbumPhoto, Listing
    from rap_desktop.ui.album.timeline_layout import by_day
    from rap_desktop.ui.main_window import MainWindow
    from rap_desktop.ui.runtime.stall_probe import StallProbe
    from rap_desktop.ui.runtime.tasks import TaskRunner

    app = QApplication.instance() or QApplication([])
    photos = album(count)
    work = Path(tempfile.mkdtemp(prefix="rap-bench-viewer-"))
    session = Session.open(work / "home", tiny_config())
    window = MainWindow(session, TaskRunner(), QSettings(str(work / "ui.ini"), QSettings.Format.IniFormat))
    window.resize(1600, 1000)
    window.show()
    page = window.album
    listed: list[float] = []
    page.listed.connect(lambda: listed.append(time.perf_counter()))
    window.tabs.show_album()

    def spin(ms: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(int(ms), loop.quit)
        loop.exec()

    def wait(predicate, timeout_s: float) -> bool:
        end = time.perf_counter() + timeout_s
        while not predicate():
            if time.perf_counter() > end:
                return False
            spin(1)
        return True

    files = [*photos["large"], photos["huge"], photos["broken"], photos["gone"]]  # type: ignore[misc]
    rows = []
    thumbs = page.loader.thumbs
    for i, path in enumerate(files):
        sha = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else f"{i:064x}"
        if path.is_file() and path != photos["broken"]:
            thumbs.ensure(sha, load_working(path).image)  # as indexing leaves it
        rows.append(AlbumPhoto(i + 1, sha, str(path), 1.7e9 - i * 3600))
    wait(lambda: bool(listed), 60.0)  # the (empty) album's own listing first, else it replaces ours
    page.show_listing(Listing(rows, sections=by_day([r.taken for r in rows])))
    assert page.model.rowCount() == len(rows), page.model.rowCount()
    spin(2000)  # the timeline's tiles
    viewer = page.viewer
    loaded: dict[int, float] = {}
    viewer.loaded.connect(lambda row: loaded.setdefault(row, time.perf_counter()))
    paints: list[tuple[float, float]] = []

    class Paints(QObject):
        def eventFilter(self, obj, event) -> bool:
            if event.type() == QEvent.Type.Paint:
                start = time.perf_counter()
                obj.paintEvent(event)
                paints.append((start, time.perf_counter()))
                return True
            return False

    timer = Paints()
    viewer.canvas.installEventFilter(timer)

    def painted_after(t: float) -> float | None:
        return next((end for start, end in paints if start >= t), None)

    def full(row: int, since: float, timeout_s: float = 30.0) -> tuple[float | None, float | None]:
        """(first paint, full photo painted) after `since`, in ms."""
        ok = wait(lambda: row in loaded and painted_after(loaded[row]) is not None, timeout_s)
        first = painted_after(since)
        done = painted_after(loaded[row]) if ok else None
        return (
            None if first is None else (first - since) * 1000,
            None if done is None else (done - since) * 1000,
        )

    rss_before = _kb("VmRSS")
    _reset_peak()
    probe = StallProbe(1)
    out: dict = {"screen": f"{app.primaryScreen().size().width()}x{app.primaryScreen().size().height()}"}
    out["platform"] = app.platformName()

    probe.start()
    since = time.perf_counter()
    page.open_viewer(0)
    out["open_ms"] = full(0, since)
    spin(400)
    probe.stop()
    out["open_stall_ms"] = probe.max_ms

    probe.start()
    presses = []
    for _ in range(30):  # a held key
        presses.append(time.perf_counter())
        QTest.keyClick(viewer, Qt.Key.Key_Right)
        spin(50)
    last = viewer.row
    out["hold_ms"] = full(last, presses[-1])
    out["hold_row"] = last
    spin(400)
    probe.stop()
    out["hold_stall_ms"] = probe.max_ms

    probe.start()
    steps = []
    for _ in range(12):
        since = time.perf_counter()
        loaded.pop(viewer.row - 1, None)
        QTest.keyClick(viewer, Qt.Key.Key_Left)
        steps.append(full(viewer.row, since, 15.0))
        spin(400)
    probe.stop()
    out["step_first_ms"] = [s[0] for s in steps]
    out["step_full_ms"] = [s[1] for s in steps]
    out["step_stall_ms"] = probe.max_ms

    for name, row in (("huge", len(files) - 3), ("broken", len(files) - 2), ("gone", len(files) - 1)):
        probe.start()
        since = time.perf_counter()
        loaded.pop(row, None)
        page.open_viewer(row)

        def message() -> str:
            return str(getattr(viewer.canvas, "message", "") or "")

        shown = wait(lambda r=row: r in loaded or bool(message()), 15.0)
        spin(300)
        probe.stop()
        what = "photo" if row in loaded else (message() or "the thumbnail (or nothing), no message")
        at = (loaded.get(row) or time.perf_counter()) - since if shown else None
        out[name] = {"shows": what, "after_ms": None if at is None else at * 1000, "stall_ms": probe.max_ms}
        page.close_viewer()
        spin(200)
    out["rss_before_mb"] = rss_before / 1024
    out["peak_mb"] = _kb("VmHWM") / 1024
    out["rss_after_mb"] = _kb("VmRSS") / 1024
    window.close()
    session.close()
    return out


def _med(values) -> str:
    found = [v for v in values if v is not None]
    return f"{statistics.median(found):.0f}" if found else "never"


def _max(values) -> str:
    found = [v for v in values if v is not None]
    missing = len(values) - len(found)
    return (f"{max(found):.0f}" if found else "-") + (f" ({missing} never)" if missing else "")


def render(args, codes: dict[str, Path], results: dict[str, list[dict]]) -> str:
    first = next(iter(results.values()))[0]
    lines = [
        "# The viewer with 12-MP photos",
        "",
        f"Machine: {platform.platform()}, `nproc` = {os.cpu_count()} ({cpu_model()}), 2 cores shared with other work "
        f"runs (contended), load average {os.getloadavg()[0]:.1f} at the end; Python {platform.python_version()}; "
        f"Qt platform {first['platform']}, screen {first['screen']}, window 1600x1000.",
        f"Script: `benchmarks/viewer.py --photos {args.photos} --rounds {args.rounds}`; "
        + ", ".join(f"{k} = `{v}`" for k, v in codes.items())
        + "; each run a fresh process, base and new alternating. Figures in ms; medians over rounds "
        "(per-round values below).",
        "",
    ]
    table = Table(lines, codes, results)
    row = table.row

    row("open: first paint", lambda rs: _med([r["open_ms"][0] for r in rs]))
    row("open: full photo painted", lambda rs: _med([r["open_ms"][1] for r in rs]))
    row(
        "held key (30 presses, 50 ms apart): last press to its full photo",
        lambda rs: _med([r["hold_ms"][1] for r in rs]),
    )
    row(
        "step (press, look 400 ms): press to first paint, median",
        lambda rs: _med([v for r in rs for v in r["step_first_ms"]]),
    )
    row("step: press to full photo painted, median", lambda rs: _med([v for r in rs for v in r["step_full_ms"]]))
    row("step: press to full photo painted, worst", lambda rs: _max([v for r in rs for v in r["step_full_ms"]]))
    for phase in ("open", "hold", "step"):
        row(f"longest GUI-thread stall, {phase}", lambda rs, p=phase: _max([r[f"{p}_stall_ms"] for r in rs]))
    for name, label in (("huge", "108-MP photo"), ("broken", "truncated photo"), ("gone", "photo whose file is gone")):
        row(f"{label}: shows", lambda rs, n=name: rs[-1][n]["shows"])
        row(f"{label}: after", lambda rs, n=name: _med([r[n]["after_ms"] for r in rs]))
        row(f"{label}: longest stall", lambda rs, n=name: _max([r[n]["stall_ms"] for r in rs]))
    row("memory before the viewer opens (MB RSS)", lambda rs: _med([r["rss_before_mb"] for r in rs]))
    row("memory peak while viewing (MB, VmHWM)", lambda rs: _med([r["peak_mb"] for r in rs]))
    row("memory at the end (MB RSS)", lambda rs: _med([r["rss_after_mb"] for r in rs]))
    return table.text()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--photos", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(measure(args.photos)), flush=True)
        return
    album(args.photos)
    tiny_config()
    codes = checkouts(args.base)
    results = alternate(codes, args.rounds, lambda code: run_child(__file__, code, ["--photos", str(args.photos)], 900))
    text = render(args, codes, results)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
