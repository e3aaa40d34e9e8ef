"""The album timeline at 50,000 photos: first paint, scroll frame times and memory, against the flat
grid the Album tab had before (a QListView in icon mode over the same model), side by side in one run.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/timeline.py [--photos 50000] [--step-ms 16]

A real store gets `--photos` photo rows (photos + album_files, taken spread over about eight years:
a few to a few dozen photos on a day, a day every few days); no photo files. Each photo's disk
thumbnail is a hard link to one of 48 pictures (256-px JPEGs as the indexer writes them, made from
package photos), so every row has its own thumbnail file to read.

- first paint: from the listing request (the Album tab's own `search_now`: the store-lane query,
  the days, the model reset, the layout) to the end of the first frame painted with the rows; and
  to the first screen of thumbnails all in.
- scroll: a timer moves the view one page every `--step-ms` from top to bottom; each step's frame
  (scroll + synchronous repaint) is timed, and a 5 ms probe timer records how late the event loop
  was (thumbnail deliveries and their repaints included).
- memory: RSS before the listing request, after the first paint, and after the whole scroll.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

if "QT_QPA_PLATFORM" not in os.environ:  # an offscreen screen big enough for a 1600x1000 window
    _screen = Path(tempfile.mkdtemp(prefix="rap-screen-")) / "screen.json"
    _screen.write_text('{"screens": [{"name": "big", "x": 0, "y": 0, "width": 1920, "height": 1200}]}')
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_screen}"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")

from base_vs_new import cpu_model  # benchmarks/, beside this script
from qt_setup import rss_mb, spin, thumbnail_pictures  # benchmarks/, beside this script

import rap_desktop.torch_compat  # noqa: F401


def taken_times(count: int, seed: int = 0) -> list[float]:
    """Newest first: a few to a few dozen photos on a day, a day every one to six days."""
    rng = random.Random(seed)
    day, out = time.mktime((2025, 7, 19, 18, 0, 0, 0, 0, -1)), []
    while len(out) < count:
        out += [day - i * rng.randint(30, 600) for i in range(rng.randint(1, 40))]
        day -= 86_400 * rng.randint(1, 6)
    return out[:count]


def build_store(home: Path, session, count: int) -> None:
    """`count` album photos in the session's store, each with a thumbnail file (hard links to a pool
    of 48). Written on the calling thread while the window's store lane is idle (not timed)."""
    from rap_desktop.core.thumbcache import for_home

    pool = home / "pool"
    pool.mkdir(parents=True)
    for i, picture in enumerate(thumbnail_pictures()):
        (pool / f"{i}.jpg").write_bytes(picture)
    thumbs = for_home(home)
    store = session.store()
    now = time.time()
    taken = taken_times(count)
    photos, files = [], []
    for i, when in enumerate(taken):
        sha = f"{i:064x}"
        moment = time.gmtime(when)
        path = f"/album/{moment.tm_year}/{moment.tm_mon:02d}/IMG_{i:05d}.jpg"
        photos.append((i + 1, sha, path, 4000, 3000, when, now))
        files.append((path, i + 1, 3_000_000, int(when * 1e9), "indexed", None, now))
        target = thumbs.path(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(pool / f"{i % 48}.jpg", target)
    with store.transaction():
        store.conn.execute("INSERT INTO album_folders(path, added) VALUES ('/album', ?)", (now,))
        store.conn.executemany(
            "INSERT INTO photos(id, sha256, path, width, height, taken, added) VALUES (?,?,?,?,?,?,?)", photos
        )
        store.conn.executemany(
            "INSERT INTO album_files(path, photo_id, size, mtime_ns, status, error, seen) VALUES (?,?,?,?,?,?,?)", files
        )


def first_paint(page, view, count: int) -> dict:
    """From the listing request to the first frame painted with the rows, and to the first screen's
    thumbnails all in."""
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer

    loop = QEventLoop()
    marks: dict[str, float] = {}

    class Painted(QObject):
        def eventFilter(self, watched, event) -> bool:
            if event.type() == QEvent.Type.Paint and page.model.rowCount() == count and "paint" not in marks:
                marks["paint"] = -1.0  # this paint: its end is the next turn of the loop
                QTimer.singleShot(0, lambda: (marks.__setitem__("paint", time.perf_counter()), loop.quit()))
            return False

    painted = Painted()
    view.viewport().installEventFilter(painted)
    start = time.perf_counter()
    page.search_now()
    QTimer.singleShot(120_000, loop.quit)
    loop.exec()
    view.viewport().removeEventFilter(painted)
    first = marks.get("paint", float("nan")) - start
    loader = page.loader
    deadline = time.perf_counter() + 60
    while (loader._wanted or loader._loading or not loader._cache) and time.perf_counter() < deadline:
        spin(5)
    return {"first_paint": first, "thumbs_in": time.perf_counter() - start}


def scroll_through(view, step_ms: int) -> dict:
    """One page every `step_ms`, top to bottom; each step's frame timed (scroll + repaint)."""
    from PySide6.QtCore import QEventLoop, QTimer

    from rap_desktop.ui.runtime.stall_probe import StallProbe

    bar = view.verticalScrollBar()
    bar.setValue(0)
    spin(300)
    frames: list[float] = []
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(step_ms)

    def tick() -> None:
        if bar.value() >= bar.maximum():
            timer.stop()
            QTimer.singleShot(300, loop.quit)
            return
        start = time.perf_counter()
        bar.setValue(bar.value() + bar.pageStep())
        view.viewport().repaint()
        frames.append((time.perf_counter() - start) * 1000)

    timer.timeout.connect(tick)
    probe = StallProbe(5)
    probe.start()
    start = time.perf_counter()
    timer.start()
    loop.exec()
    probe.stop()
    frames.sort()

    def pick(p: float) -> float:
        return frames[min(len(frames) - 1, round(p / 100 * (len(frames) - 1)))] if frames else 0.0

    return {
        "wall": time.perf_counter() - start,
        "frames": len(frames),
        "p50": pick(50),
        "p99": pick(99),
        "max": frames[-1] if frames else 0.0,
        "stall_p99": probe.percentile(99),
        "stall_max": probe.max_ms,
    }


def run(home: Path, config: Path, count: int, step_ms: int, flat: bool) -> dict:
    """The real window's Album tab on an empty album, then `count` photos written and the listing
    asked for; `flat`: its timeline swapped for the QListView grid it had before."""
    from PySide6.QtCore import QSettings, QSize
    from PySide6.QtWidgets import QAbstractItemView, QListView

    from rap_desktop.core.session import Session
    from rap_desktop.ui.album.album_model import ICON
    from rap_desktop.ui.main_window import MainWindow
    from rap_desktop.ui.runtime.tasks import TaskRunner

    session = Session.open(home, config)
    window = MainWindow(session, TaskRunner(), QSettings(str(home / f"ui-{flat}.ini"), QSettings.Format.IniFormat))
    window.resize(1600, 1000)
    window.show()
    page = window.album
    window.tabs.setCurrentWidget(page)
    view = page.grid
    if flat:  # the grid the tab had before: icon mode, uniform cells, the width shared by its columns
        view = QListView()
        view.setModel(page.model)
        view.setViewMode(QListView.ViewMode.IconMode)
        view.setUniformItemSizes(True)
        view.setMovement(QListView.Movement.Static)
        view.setResizeMode(QListView.ResizeMode.Adjust)
        view.setIconSize(QSize(ICON, ICON))
        view.setGridSize(QSize(ICON + 28, ICON + 30))
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        page.stack.insertWidget(0, view)
        page.grid.hide()
        page.grid = view  # what the page lists into, scrolls and selects in
    spin(3000)  # the window's own start-up work is over (and its first listing: an empty album)
    start = time.perf_counter()
    build_store(home, session, count)
    print(f"{count:,} photo rows and thumbnails in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    spin(500)
    base = rss_mb()
    shown = first_paint(page, view, count)
    after_paint = rss_mb()
    size = view.viewport().size()
    scrolled = scroll_through(view, step_ms)
    out = {
        **shown,
        **scrolled,
        "rss_paint": after_paint - base,
        "rss_scroll": rss_mb() - base,
        "loads": page.loader.loads,
        "size": (size.width(), size.height()),
        "columns": view.grid.columns if not flat else None,
    }
    window.close()
    session.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=50_000)
    parser.add_argument("--step-ms", type=int, default=16, help="one page scrolled this often")
    args = parser.parse_args(argv)

    from PySide6 import __version__ as pyside
    from PySide6.QtWidgets import QApplication

    from rap_desktop.devtools.tiny_models import write_all

    _app = QApplication.instance() or QApplication([])
    work = Path(tempfile.mkdtemp(prefix="rap-timeline-bench-"))
    os.environ["RAP_DESKTOP_WEIGHTS_DIR"] = str(work / "weights")
    config = write_all(work / "models")
    after = run(work / "home-timeline", config, args.photos, args.step_ms, flat=False)
    before = run(work / "home-flat", config, args.photos, args.step_ms, flat=True)

    load = os.getloadavg()[0]
    print(f"Machine: {os.cpu_count()} CPU cores ({cpu_model()}), load average {load:.1f} at the end; python ")
    print(f"{platform.python_version()}, PySide6 {pyside}, Qt {os.environ['QT_QPA_PLATFORM']}. {args.photos:,} photos,")
    print(f"window 1600x1000 (view {after['size'][0]}x{after['size'][1]} px, {after['columns']} columns), one page")
    print(f"scrolled every {args.step_ms} ms from top to bottom.\n")
    print(
        "| view | first paint | first screen of thumbnails | scroll frames | frame p50 | frame p99 | frame max "
        "| loop stall p99 | loop stall max | scroll wall | thumbnail loads | RSS after first paint | RSS after scroll |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in (("timeline (now)", after), ("flat QListView grid (before)", before)):
        print(
            f"| {name} | {r['first_paint'] * 1000:.0f} ms | {r['thumbs_in'] * 1000:.0f} ms | {r['frames']:,} "
            f"| {r['p50']:.1f} ms | {r['p99']:.1f} ms | {r['max']:.1f} ms | {r['stall_p99']:.1f} ms "
            f"| {r['stall_max']:.0f} ms | {r['wall']:.1f} s | {r['loads']:,} | +{r['rss_paint']:.0f} MB "
            f"| +{r['rss_scroll']:.0f} MB |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
