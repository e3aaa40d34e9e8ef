"""Search results in the album at 50,000 photos: shown by date under day headings (now) against one
list best match first (as before), side by side in one run, in the real window over a real store.

    .venv/bin/python benchmarks/search_results.py [--photos 50000] [--results 50000,2000] [--step-ms 16]

The store and thumbnails are benchmarks/timeline.py's (`--photos` rows over about thirteen years).
A search's results are a ranking unrelated to the dates (the photos shuffled): `--results` of them,
the broadest first (a description that nothing stands out for lists every photo).

- order: putting the ranked results in date order and into days (`result_order.arrange`), which
  runs on the store lane with the search, not on the GUI thread.
- shown: on the GUI thread, from the listing's arrival (`AlbumPage.show_listing`: model reset,
  layout, the place kept) to the end of the first frame painted (a synchronous repaint).
- scroll: one page every `--step-ms` from top to bottom of the results, each frame timed, as in
  benchmarks/timeline.py.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import timeline as base  # sets the offscreen screen before Qt loads
from qt_setup import spin


def measure(page, photos: list, order: str, text: str, step_ms: int) -> dict:
    from rap_desktop.ui.album.album_ops import Listing
    from rap_desktop.ui.album.result_order import arrange

    view = page.grid
    start = time.perf_counter()
    arranged, sections = arrange(photos, order)
    ordered = time.perf_counter() - start
    listing = Listing(arranged, None, text, 1, sections, found=len(arranged), order=order)
    start = time.perf_counter()
    page.show_listing(listing)
    view.viewport().repaint()
    shown = time.perf_counter() - start
    spin(500)
    loader = page.loader
    deadline = time.perf_counter() + 60
    while (loader._wanted or loader._loading) and time.perf_counter() < deadline:
        spin(5)
    days = len(page.grid.grid.sections)
    return {"order": ordered, "shown": shown, "sections": days, **base.scroll_through(view, step_ms)}


def run(home: Path, config: Path, count: int, sizes: list[int], step_ms: int) -> list[tuple[int, str, dict]]:
    from PySide6.QtCore import QSettings

    from rap_desktop.core.session import Session
    from rap_desktop.ui.album.result_order import BEST_FIRST, BY_DATE
    from rap_desktop.ui.main_window import MainWindow
    from rap_desktop.ui.runtime.tasks import TaskRunner

    session = Session.open(home, config)
    window = MainWindow(session, TaskRunner(), QSettings(str(home / "ui.ini"), QSettings.Format.IniFormat))
    window.resize(1600, 1000)
    window.show()
    page = window.album
    window.tabs.setCurrentWidget(page)
    spin(3000)
    base.build_store(home, session, count)
    ranked = page.queries.all_photos()
    random.Random(3).shuffle(ranked)  # a relevance ranking: nothing to do with the dates
    out = []
    for size in sizes:
        for name, order in (("best matches first (before)", BEST_FIRST), ("by date (now)", BY_DATE)):
            out.append((size, name, measure(page, ranked[:size], order, f"search {size} {order}", step_ms)))
    window.close()
    session.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=50_000)
    parser.add_argument("--results", default="50000,2000", help="result counts, comma separated")
    parser.add_argument("--step-ms", type=int, default=16)
    args = parser.parse_args(argv)

    from PySide6 import __version__ as pyside
    from PySide6.QtWidgets import QApplication

    from rap_desktop.devtools.tiny_models import write_all

    _app = QApplication.instance() or QApplication([])
    work = Path(tempfile.mkdtemp(prefix="rap-search-bench-"))
    os.environ["RAP_DESKTOP_WEIGHTS_DIR"] = str(work / "weights")
    config = write_all(work / "models")
    rows = run(work / "home", config, args.photos, [int(s) for s in args.results.split(",")], args.step_ms)

    load = os.getloadavg()[0]
    print(f"Machine: {os.cpu_count()} CPU cores ({base.cpu_model()}), load average {load:.1f} at the end; python")
    print(f"{platform.python_version()}, PySide6 {pyside}, Qt {os.environ['QT_QPA_PLATFORM']}. {args.photos:,} photos")
    print(f"in the album, window 1600x1000, one page scrolled every {args.step_ms} ms.\n")
    print(
        "| results | shown as | days | order (store lane) | shown (GUI thread) | scroll frames | frame p50 "
        "| frame p99 | frame max | loop stall p99 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size, name, r in rows:
        print(
            f"| {size:,} | {name} | {r['sections']:,} | {r['order'] * 1000:.0f} ms | {r['shown'] * 1000:.0f} ms "
            f"| {r['frames']:,} | {r['p50']:.1f} ms | {r['p99']:.1f} ms | {r['max']:.1f} ms | {r['stall_p99']:.1f} ms |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
