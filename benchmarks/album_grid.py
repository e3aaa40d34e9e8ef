"""Event-loop stalls of the album grid with 10,000 photos, scrolled from top to bottom: the app's
Album tab (Model/View, lazy thumbnails from the disk cache on the io lane, bounded memory) against
the naive way (every thumbnail loaded into a QListWidget up front on the GUI thread), side by side
in one run.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/album_grid.py [--photos 10000] [--step-ms 30]

The disk thumbnail cache is filled first (256-px JPEGs as the indexer writes them, made from
package photos), so both ways read the same files. A 5 ms QTimer on the GUI thread
(ui/stall_probe.py) records how late each tick came: while the listing is shown, and while a timer
scrolls the grid one page every `--step-ms` from top to bottom. Prints a Markdown table.
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

from qt_setup import rss_mb, spin, thumbnail_pictures  # benchmarks/, beside this script

import rap_desktop.torch_compat  # noqa: F401


def fill_thumbnails(home: Path, count: int) -> list:
    """`count` album photos, each with its own thumbnail file in the disk cache (a few dozen distinct
    pictures: variants of package photos)."""
    from rap_desktop.core.thumbcache import for_home
    from rap_desktop.ui.album.album_ops import AlbumPhoto

    pictures = thumbnail_pictures()
    thumbs = for_home(home)
    photos = []
    for i in range(count):
        sha = f"{i:064x}"
        path = thumbs.path(sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pictures[i % len(pictures)])
        photos.append(AlbumPhoto(i + 1, sha, f"/album/{2000 + i // 1000}/IMG_{i:05d}.jpg", float(i)))
    return photos


def scroll(view, step_ms: int, probe) -> float:
    """One page every `step_ms` from top to bottom while `probe` runs; returns the wall time."""
    from PySide6.QtCore import QEventLoop, QTimer

    bar = view.verticalScrollBar()
    bar.setValue(0)
    spin(300)
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(step_ms)

    def tick() -> None:
        if bar.value() >= bar.maximum():
            timer.stop()
            QTimer.singleShot(300, loop.quit)  # the last page's thumbnails arrive
            return
        bar.setValue(bar.value() + bar.pageStep())

    timer.timeout.connect(tick)
    probe.start()
    start = time.perf_counter()
    timer.start()
    loop.exec()
    probe.stop()
    return time.perf_counter() - start


def ours(home: Path, config: Path, photos: list, step_ms: int) -> dict:
    from PySide6.QtCore import QSettings

    from rap_desktop.core.session import Session
    from rap_desktop.ui.album.album_ops import Listing
    from rap_desktop.ui.main_window import MainWindow
    from rap_desktop.ui.runtime.stall_probe import StallProbe
    from rap_desktop.ui.runtime.tasks import TaskRunner

    session = Session.open(home, config)
    window = MainWindow(session, TaskRunner(), QSettings(str(home / "ui.ini"), QSettings.Format.IniFormat))
    window.show()
    page = window.album
    window.tabs.setCurrentWidget(page)
    spin(3000)  # the window's own start-up work (model warm-up on the store lane) is over
    probe = StallProbe(5)
    probe.start()
    start = time.perf_counter()
    page.show_listing(Listing(photos))
    spin(500)
    probe.stop()
    shown = {"show": time.perf_counter() - start, "show_max": probe.max_ms, "show_p99": probe.percentile(99)}
    size = page.grid.size()
    wall = scroll(page.grid, step_ms, probe)
    out = {
        **shown,
        "scroll": wall,
        "max": probe.max_ms,
        "p99": probe.percentile(99),
        "ticks": probe.ticks,
        "loads": page.loader.loads,
        "cached": len(page.loader._cache),
        "size": (size.width(), size.height()),
    }
    window.close()
    session.close()
    return out


def naive(home: Path, photos: list, step_ms: int, size: tuple[int, int]) -> dict:
    """Every thumbnail decoded into an icon on the GUI thread, in a QListWidget, up front."""
    from PySide6.QtCore import QSize, Qt, QTimer
    from PySide6.QtGui import QIcon, QPixmap
    from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem

    from rap_desktop.core.thumbcache import for_home
    from rap_desktop.ui.album.album_model import ICON
    from rap_desktop.ui.runtime.stall_probe import StallProbe

    thumbs = for_home(home)
    widget = QListWidget()
    widget.setViewMode(QListView.ViewMode.IconMode)
    widget.setUniformItemSizes(True)
    widget.setMovement(QListView.Movement.Static)
    widget.setResizeMode(QListView.ResizeMode.Adjust)
    widget.setIconSize(QSize(ICON, ICON))
    widget.setGridSize(QSize(ICON + 28, ICON + 30))
    widget.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
    widget.resize(*size)
    widget.show()
    spin(300)
    probe = StallProbe(5)
    probe.start()
    start = time.perf_counter()

    def fill() -> None:
        for photo in photos:
            pixmap = QPixmap(str(thumbs.path(photo.sha256))).scaled(ICON, ICON, Qt.AspectRatioMode.KeepAspectRatio)
            QListWidgetItem(QIcon(pixmap), os.path.basename(photo.path), widget)

    QTimer.singleShot(10, fill)
    spin(50)  # the fill blocks the loop; the spin ends once it is done
    spin(500)
    probe.stop()
    shown = {"show": time.perf_counter() - start, "show_max": probe.max_ms, "show_p99": probe.percentile(99)}
    wall = scroll(widget, step_ms, probe)
    out = {**shown, "scroll": wall, "max": probe.max_ms, "p99": probe.percentile(99), "ticks": probe.ticks}
    widget.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--step-ms", type=int, default=30, help="one page scrolled this often")
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from rap_desktop.devtools.tiny_models import write_all

    _app = QApplication.instance() or QApplication([])
    work = Path(tempfile.mkdtemp(prefix="rap-album-grid-"))
    os.environ["RAP_DESKTOP_WEIGHTS_DIR"] = str(work / "weights")
    config = write_all(work / "models")
    home = work / "home"
    t0 = time.perf_counter()
    photos = fill_thumbnails(home, args.photos)
    print(f"{len(photos)} thumbnails written in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    base = rss_mb()
    a = ours(home, config, photos, args.step_ms)
    after_ours = rss_mb()
    b = naive(home, photos, args.step_ms, a["size"])
    after_naive = rss_mb()

    import torch
    from PySide6 import __version__ as pyside

    print(f"Machine: {os.cpu_count()} CPU cores, python {platform.python_version()}, torch {torch.__version__}, ")
    print(f"PySide6 {pyside}, Qt {os.environ['QT_QPA_PLATFORM']}; {len(photos):,} photos, grid {a['size'][0]}x")
    print(f"{a['size'][1]} px, one page scrolled every {args.step_ms} ms from top to bottom.\n")
    print("| how | show 10k: wall | show: max stall | scroll: max stall | scroll: p99 stall | scroll wall |")
    print("|---|---|---|---|---|---|")
    for name, r in (("ours: Model/View, lazy thumbnails (io lane)", a), ("naive: QListWidget, all icons up front", b)):
        print(
            f"| {name} | {r['show']:.2f} s | {r['show_max']:.0f} ms | {r['max']:.1f} ms | {r['p99']:.1f} ms "
            f"| {r['scroll']:.1f} s |"
        )
    print(
        f"\nours: {a['loads']:,} thumbnail loads while scrolling past {len(photos):,} rows, {a['cached']:,} kept in "
        f"memory; RSS +{after_ours - base:.0f} MB (ours, with the window) vs +{after_naive - after_ours:.0f} MB (naive)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
