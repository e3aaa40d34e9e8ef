"""The album tests' shared set-up: a strict-threshold config, a shown window on it, indexing through
the Album tab."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w

from rap_desktop.core.session import Session
from rap_desktop.ui.album.album_view import AlbumPage
from rap_desktop.ui.main_window import MainWindow

from .windows import shown_window

WAIT = 60_000


@pytest.fixture(scope="module")
def strict_config(tiny_config: Path) -> Path:
    """A threshold only an identical crop clears (random tiny CLIP: all crops look alike)."""
    data = tomllib.loads(tiny_config.read_text())
    data["retrieval"] = {"thresholds": {"tiny-clip": 0.9999}}
    path = tiny_config.parent / "config-album-view.toml"  # beside it: model paths are relative
    path.write_bytes(tomli_w.dumps(data).encode())
    return path


@pytest.fixture
def win(qtbot, home: Path, strict_config: Path, tmp_path: Path) -> Iterator[MainWindow]:
    opened = Session.open(home, strict_config)
    window = shown_window(qtbot, opened, tmp_path / "ui.ini", timeout=WAIT)
    window.test_session = opened
    yield window
    window.close()
    opened.close()


def album_page(win: MainWindow) -> AlbumPage:
    win.tabs.setCurrentWidget(win.album)
    return win.album


def index_album(qtbot, page: AlbumPage, folders: list[Path]):
    """Index through the page; returns (the progress reports seen, the run's report)."""
    seen = []
    page.indexer.progressed.connect(seen.append)
    with qtbot.waitSignal(page.indexer.finished, timeout=WAIT) as finished:
        page.add_folders([str(f) for f in folders])
    with qtbot.waitSignal(page.listed, timeout=WAIT):  # the grid reloads when the run ends
        pass
    page.indexer.progressed.disconnect(seen.append)
    return seen, finished.args[0]


def listed_paths(page: AlbumPage) -> list[str]:
    return [page.model.photo(row).path for row in range(page.model.rowCount())]
