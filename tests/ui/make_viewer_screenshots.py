"""Screenshots of the album's viewer showing a 12-MP phone photo (4000x3000, 3-5 MB, made by
devtools.synthetic_album), the whole screen as a person sees it:

    xvfb-run -a -s "-screen 0 1024x700x24" \\
        .venv/bin/python -m tests.ui.make_viewer_screenshots docs/screenshots 1024x700

writes viewer_12mp_WxH.png. The photos are listed in the Album tab as indexing lists them (their
thumbnails made first); tiny random-weight models, nothing downloaded."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import rap_desktop.torch_compat  # noqa: F401

from .make_words_screenshots import shoot, wait_until, window


def main(out: Path, size: tuple[int, int]) -> None:
    from PySide6.QtWidgets import QApplication

    from rap_desktop.core.images import load_working
    from rap_desktop.core.session import Session
    from rap_desktop.devtools.synthetic_album import make_large_album
    from rap_desktop.devtools.tiny_models import write_all
    from rap_desktop.ui.album.album_ops import AlbumPhoto, Listing
    from rap_desktop.ui.album.timeline_layout import by_day

    app = QApplication.instance() or QApplication([])
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rap-viewer-shots-"))
    for var, sub in (("XDG_CONFIG_HOME", "xdg"), ("HF_HOME", "hf"), ("RAP_DESKTOP_WEIGHTS_DIR", "weights")):
        os.environ[var] = str(work / sub)
    config = write_all(work / "models")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rap-desktop-bench" / "album-12mp"
    files = make_large_album(cache, 3)
    session = Session.open(work / "home", config)
    win = window(app, session, work, size)
    page = win.album
    listed: list[bool] = []
    page.listed.connect(lambda: listed.append(True))
    win.tabs.show_album()
    start = time.monotonic()  # the (empty) album's own listing first, else it replaces ours
    wait_until(app, lambda: bool(listed) or time.monotonic() - start > 5)
    rows = []
    for i, path in enumerate(files):
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        page.loader.thumbs.ensure(sha, load_working(path).image)
        rows.append(AlbumPhoto(i + 1, sha, str(path), 1.75e9 - i * 600))
    page.show_listing(Listing(rows, sections=by_day([r.taken for r in rows])))
    assert page.model.rowCount() == len(rows)
    page.open_viewer(1)
    viewer = page.viewer
    wait_until(app, lambda: viewer.canvas.prepared() and not viewer._tasks, 120)
    shoot(app, out / f"viewer_12mp_{size[0]}x{size[1]}.png")
    win.close()
    session.close()


if __name__ == "__main__":
    width, height = (int(v) for v in sys.argv[2].split("x"))
    main(Path(sys.argv[1]), (width, height))
