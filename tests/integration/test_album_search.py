"""Album search that finds: a text search returns the photos above a relevance cut (not the whole
album re-ordered), "show more" adds the next ones, and several concepts search "together" (all of
them) or "only them" (exactly them). Package photos, tiny real-format models."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from rap_desktop.core import corrections
from rap_desktop.core.album import rematch
from rap_desktop.core.album import search as album_search
from rap_desktop.core.album.indexer import Indexer
from rap_desktop.core.session import Session
from rap_desktop.core.thumbcache import for_home
from rap_desktop.devtools.synthetic_album import make_album, source_photos

from .test_album import strict, strict_config  # noqa: F401  (fixtures)


@pytest.fixture
def package_album(tmp_path: Path) -> Path:
    """Every package photo as it is, and 24 variants of them."""
    folder = tmp_path / "album"
    folder.mkdir()
    for photo in source_photos():
        shutil.copyfile(photo, folder / photo.name)
    make_album(folder / "more", 24, seed=3, max_side=160)
    return folder


def _index(session: Session, folder: Path) -> None:
    Indexer(session.retriever(), for_home(session.home)).index([folder])


def _direct_scores(session: Session, text: str) -> dict[int, float]:
    query = session.embedder.embed_texts([text])[0]
    best: dict[int, float] = {}
    for photo_id, blob in session.store().conn.execute("SELECT photo_id, vector FROM regions"):
        best[photo_id] = max(best.get(photo_id, -1.0), float(np.frombuffer(blob, np.float32) @ query))
    return best


@pytest.mark.parametrize("text", ["a cat on a sofa", "a bus in the street", "an astronaut"])
def test_text_search_returns_the_photos_above_the_cut_and_show_more_the_next(
    session: Session, package_album: Path, text: str
) -> None:
    _index(session, package_album)
    photos = session.store().conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
    search = album_search.TextSearch(session.store(), session.embedder)
    found = search.search(text)
    assert 1 <= found.found < photos  # it narrows
    assert len(found.hits) == found.found and found.more == photos - found.found  # the count is true
    best = _direct_scores(session, text)  # every photo's best region, computed here from the stored vectors
    ranked = sorted(best, key=lambda p: (-best[p], p))
    assert [h.photo_id for h in found.hits] == ranked[: found.found]
    scores = np.array([best[p] for p in ranked])
    cut = album_search.relevance_cut(scores)
    assert found.found == cut.found and found.hits[-1].score == pytest.approx(cut.line, abs=1e-5)
    assert all(h.score >= cut.typical + album_search.RATIO * (cut.best - cut.typical) - 1e-6 for h in found.hits)
    # show more: the next ones below the cut, in order, and the rest still counted
    more = search.search(text, more=5)
    assert [h.photo_id for h in more.hits] == ranked[: found.found + 5]
    assert (more.found, more.more) == (found.found, photos - found.found - 5)
    every = search.search(text, more=10**6)
    assert len(every.hits) == photos and every.more == 0
    # the hit names the region that scored
    first = found.hits[0]
    box = session.store().conn.execute(
        "SELECT x1, y1, x2, y2 FROM regions WHERE photo_id = ? AND ordinal = ?", (first.photo_id, int(first.region[1:]))
    ).fetchone()
    assert first.box == tuple(box)


def test_several_concepts_together_and_only_them(strict: Session, tmp_path: Path) -> None:  # noqa: F811
    folder = tmp_path / "album"
    make_album(folder, 6, seed=1, max_side=160)
    _index(strict, folder)
    store = strict.store()
    files = sorted(folder.rglob("*.jpg"))
    for name, file in zip("abc", files, strict=False):  # a strict threshold: each matches its own photo only
        store.add_concept(name, file, "", "thing")
    rematch.after_change(strict)
    sha = {h.path: h.sha256 for n in "abc" for h in album_search.by_concept(store, n)}
    assert set(sha) == {str(f) for f in files[:3]}

    def regions(file: Path) -> list[str]:
        pid = store.conn.execute("SELECT id FROM photos WHERE sha256 = ?", (sha[str(file)],)).fetchone()[0]
        return [f"r{o}" for (o,) in store.conn.execute("SELECT ordinal FROM regions WHERE photo_id = ?", (pid,))]

    taken = {str(f): {h.region for n in "abc" for h in album_search.by_concept(store, n) if h.path == str(f)}
             for f in files[:3]}
    free0 = [r for r in regions(files[0]) if r not in taken[str(files[0])]]
    free2 = [r for r in regions(files[2]) if r not in taken[str(files[2])]]
    assert free0 and len(free2) >= 2, "the test needs photos with several regions"
    corrections.reassign(store, sha[str(files[0])], free0[0], "b")  # photo 0: a and b
    corrections.reassign(store, sha[str(files[2])], free2[0], "a")  # photo 2: a, b and c
    corrections.reassign(store, sha[str(files[2])], free2[1], "b")

    def paths(names, how=album_search.TOGETHER) -> set[str]:
        return {h.path for h in album_search.by_concepts(store, names, how)}

    assert paths(["a", "b"]) == {str(files[0]), str(files[2])}
    assert paths(["a", "b"], album_search.ONLY) == {str(files[0])}
    assert paths(["b"], album_search.ONLY) == {str(files[1])}
    assert paths(["b"]) == {str(files[0]), str(files[1]), str(files[2])}
    assert paths(["a", "b", "c"], album_search.ONLY) == {str(files[2])}
    assert paths(["c", "a"]) == {str(files[2])}
    both = album_search.by_concepts(store, ["a", "b"])
    assert [h.path for h in both] == [str(files[2]), str(files[0])]  # both confirmed (reassigned) first
    assert both[0].confirmed and not both[1].confirmed
    # a text search within them: only their photos, the cut among those
    found = album_search.TextSearch(store, strict.embedder).search("a dog", ["a", "b"])
    assert {h.path for h in found.hits} <= {str(files[0]), str(files[2])} and found.total == 2
    only = album_search.TextSearch(store, strict.embedder).search("a dog", ["a", "b"], album_search.ONLY)
    assert [h.path for h in only.hits] == [str(files[0])] and only.more == 0
