"""Screenshots of the album search that finds and of indexing nobody has to think about, the whole
screen as a person sees it. Run under Xvfb, once per screen size:

    xvfb-run -a -s "-screen 0 1024x700x24" \
        .venv/bin/python -m tests.ui.make_search_screenshots docs/screenshots 1024x700

Package photos and a generated album dated over ten years, tiny random-weight models (the ranking
means nothing; the cut, the count, the days and the controls are real). search_text: a description's
results by date under their day and month headings; search_more: after "Show 24 more"; search_best:
the same results best matches first; search_together / search_only: several concepts. Not a test
(no assertions)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import rap_desktop.torch_compat  # noqa: F401

from .make_words_screenshots import settle, shoot, wait_until, window


def _album(work: Path) -> Path:
    from rap_desktop.devtools.synthetic_album import make_album, source_photos

    folder = work / "Pictures"
    folder.mkdir(parents=True)
    for photo in source_photos():
        shutil.copyfile(photo, folder / photo.name)
    make_album(folder / "2024", 60, seed=7, max_side=400)
    return folder


def _strict(config: Path) -> Path:
    import tomli_w

    data = tomllib.loads(config.read_text())
    data["retrieval"] = {"thresholds": {"tiny-clip": 0.9999}}  # each concept matches its own photo only
    path = config.parent / "config-strict.toml"
    path.write_bytes(tomli_w.dumps(data).encode())
    return path


def _concepts(session, album: Path) -> None:
    """Chelsea, Eileen and the rocket: together in one photo, Chelsea and Eileen alone in another."""
    from rap_desktop.core import corrections
    from rap_desktop.core.album import rematch

    store = session.store()
    for name, file, category in (
        ("Chelsea", "chelsea.png", "cat"),
        ("Eileen", "astronaut.png", "person"),
        ("Rocket", "rocket.jpg", "rocket"),
    ):
        store.add_concept(name, album / file, "", category)
    rematch.after_change(session)

    def photo(path: Path) -> tuple[str, list[str]]:
        sha, pid = store.conn.execute(
            "SELECT p.sha256, p.id FROM photos p JOIN album_files f ON f.photo_id = p.id WHERE f.path = ?", (str(path),)
        ).fetchone()
        free = store.conn.execute(
            "SELECT r.ordinal FROM regions r WHERE r.photo_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM matches m WHERE m.region_id = r.id AND m.accepted = 1) ORDER BY r.ordinal",
            (pid,),
        )
        return sha, [f"r{o}" for (o,) in free]

    sha, free = photo(album / "chelsea.png")
    corrections.reassign(store, sha, free[0], "Eileen")
    sha, free = photo(album / "astronaut.png")
    corrections.reassign(store, sha, free[0], "Chelsea")
    corrections.reassign(store, sha, free[1], "Rocket")


def thumbnails_in(app, page) -> None:
    """Every tile on screen painted with its thumbnail."""
    settle(app, 0.3)
    wait_until(app, lambda: not page.loader._wanted and not page.loader._loading)


def main(out: Path, size: tuple[int, int]) -> None:
    from PySide6.QtWidgets import QApplication

    from rap_desktop.core.album.search import ONLY
    from rap_desktop.core.session import Session
    from rap_desktop.devtools.tiny_models import write_all
    from rap_desktop.ui.album.result_order import BEST_FIRST, BY_DATE

    app = QApplication.instance() or QApplication([])
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rap-search-shots-"))
    for var, sub in (("XDG_CONFIG_HOME", "xdg"), ("HF_HOME", "hf"), ("RAP_DESKTOP_WEIGHTS_DIR", "weights")):
        os.environ[var] = str(work / sub)
    config = _strict(write_all(work / "models"))
    suffix = f"_{size[0]}x{size[1]}"
    album = _album(work)
    session = Session.open(work / "home", config)

    # closing mid-run asks
    win = window(app, session, work / "one", size)
    win.tabs.setCurrentWidget(win.album)
    page = win.album
    page.indexer.batch_size = 2
    page.add_folders([str(album)])
    wait_until(app, lambda: page.indexer.last is not None and page.indexer.last.done >= 20)
    win.close()
    box = win.close_question.box
    shoot(app, out / f"search_close_question{suffix}.png")
    next(b for b in box.buttons() if b.text().startswith("Stop")).click()
    wait_until(app, lambda: not win.isVisible())

    # the next start finishes by itself and says so
    win = window(app, session, work / "two", size)
    win.tabs.setCurrentWidget(win.album)
    page = win.album
    page.indexer.batch_size = 2
    wait_until(app, lambda: page.indexer.last is not None and page.indexer.last.done >= 4)
    shoot(app, out / f"search_resume{suffix}.png")
    wait_until(app, lambda: not page.indexer.running)
    settle(app, 1.0)

    # a description: the photos above the cut, the true count, "Show N more"
    done = []
    win.runner.submit(_concepts, session, album, on_done=lambda _r: (done.append(1), win.refresh()))
    wait_until(app, lambda: done and page.concept_box.findData("Eileen") > 0)
    page.text_edit.setText("a cat on a sofa")
    wait_until(app, lambda: page.model.listing.text == "a cat on a sofa")
    thumbnails_in(app, page)
    shoot(app, out / f"search_text{suffix}.png")
    page.search_options.more_button.click()
    wait_until(app, lambda: len(page.model.listing.photos) > page.model.listing.found)
    thumbnails_in(app, page)
    shoot(app, out / f"search_more{suffix}.png")
    page.search_options.order_action(BEST_FIRST).trigger()
    wait_until(app, lambda: page.model.listing.order == BEST_FIRST)
    settle(app, 0.5)
    thumbnails_in(app, page)
    shoot(app, out / f"search_best{suffix}.png")
    page.search_options.order_action(BY_DATE).trigger()
    wait_until(app, lambda: page.model.listing.order == BY_DATE)

    # several concepts: Chelsea and Eileen, only them
    page.text_edit.clear()
    page.concept_box.setCurrentIndex(page.concept_box.findData("Chelsea"))
    wait_until(app, lambda: page.model.listing.concepts == ("Chelsea",))
    page.search_options.action_for("Eileen").trigger()
    wait_until(app, lambda: page.model.listing.concepts == ("Chelsea", "Eileen"))
    options = page.search_options
    thumbnails_in(app, page)
    shoot(app, out / f"search_together{suffix}.png")
    options.how_box.setCurrentIndex(options.how_box.findData(ONLY))
    wait_until(app, lambda: page.model.listing.how == ONLY)
    thumbnails_in(app, page)
    shoot(app, out / f"search_only{suffix}.png")
    win.close()
    session.close()


if __name__ == "__main__":
    width, height = (int(v) for v in sys.argv[2].split("x"))
    main(Path(sys.argv[1]), (width, height))
