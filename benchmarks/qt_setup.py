"""Set-up shared by the Qt benchmarks (album_grid.py, timeline.py): event-loop spins, RSS, thumbnails."""

from __future__ import annotations


def spin(ms: int) -> None:
    """Run the event loop for `ms` (not processEvents in a loop: PySide6 6.12 leaks a None
    reference per call)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def thumbnail_pictures() -> list[bytes]:
    """48 distinct 256-px JPEGs as the indexer writes them, made from variants of package photos."""
    import io
    import random

    from PIL import Image

    from rap_desktop.core.images import thumbnail
    from rap_desktop.devtools.synthetic_album import _variant, source_photos

    rng = random.Random(0)
    sources = [Image.open(p).convert("RGB") for p in source_photos()]
    pictures = []
    for i in range(48):
        buffer = io.BytesIO()
        thumbnail(_variant(sources[i % len(sources)], rng, 1024), 256).save(buffer, format="JPEG", quality=85)
        pictures.append(buffer.getvalue())
    return pictures
