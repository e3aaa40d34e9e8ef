"""`rap-desktop search`: the photos above the relevance cut with the count and the cut in the JSON,
`--more N`, several `--concept`s `--together` or `--only`, and bad usage (exit 2)."""

from __future__ import annotations

import shutil
from pathlib import Path

from rap_desktop.core.album import search as album_search
from rap_desktop.core.session import Session
from rap_desktop.devtools.synthetic_album import make_album, source_photos

from .test_album_cli import cli  # noqa: F401  (fixture)


def test_search_cuts_counts_shows_more_and_combines_concepts(cli, tmp_path: Path, home: Path, tiny_config) -> None:  # noqa: F811
    album = tmp_path / "album"
    album.mkdir()
    for photo in source_photos():
        shutil.copyfile(photo, album / photo.name)
    make_album(album / "more", 8, seed=2, max_side=160)
    code, indexed, err = cli("index", str(album), "--json")
    assert code == 0, err
    photos = indexed["indexed"]

    code, doc, err = cli("search", "--text", "a cat on a sofa", "--json")
    assert code == 0, err
    assert 1 <= doc["found"] < photos and doc["shown"] == doc["found"] == len(doc["photos"])
    assert doc["more"] == photos - doc["found"] and doc["cut"]["rule"] in {"relative", "gap", "all"}
    assert doc["photos"][-1]["score"] == doc["cut"]["line"]  # full scores: the cut is one of them, exactly
    session = Session.open(home, tiny_config)
    try:
        core = album_search.TextSearch(session.store(), session.embedder).search("a cat on a sofa", more=3)
    finally:
        session.close()
    assert [p["score"] for p in doc["photos"]] == [h.score for h in core.hits[: doc["found"]]]
    code, more, _ = cli("search", "--text", "a cat on a sofa", "--more", "3", "--json")
    assert code == 0 and more["shown"] == doc["found"] + 3 and more["more"] == doc["more"] - 3
    assert [p["photo"] for p in more["photos"]] == [h.sha256 for h in core.hits]
    code, text, _ = cli("search", "--text", "a cat on a sofa")
    assert f"{doc['found']} photo" in text and f"{doc['more']} more below the cut" in text

    for name, file in (("mimi", "chelsea.png"), ("bus", "bus.jpg"), ("rocket", "rocket.jpg")):
        assert cli("concept", "add", name, str(album / file), "--category", "thing")[0] == 0
    assert cli("rematch", "--json")[0] == 0
    code, together, _ = cli("search", "--concept", "mimi", "--concept", "bus", "--json")
    code2, only, _ = cli("search", "--concept", "mimi", "--concept", "bus", "--only", "--json")
    assert code == code2 == 0 and together["how"] == "together" and only["how"] == "only"
    session = Session.open(home, tiny_config)
    try:
        store = session.store()
        expect_together = [h.sha256 for h in album_search.by_concepts(store, ["mimi", "bus"])]
        expect_only = [h.sha256 for h in album_search.by_concepts(store, ["mimi", "bus"], album_search.ONLY)]
        mimi = {h.sha256 for h in album_search.by_concept(store, "mimi")}
        bus = {h.sha256 for h in album_search.by_concept(store, "bus")}
    finally:
        session.close()
    assert [p["photo"] for p in together["photos"]] == expect_together and together["found"] == len(expect_together)
    assert expect_together and set(expect_together) == mimi & bus
    assert [p["photo"] for p in only["photos"]] == expect_only and set(expect_only) <= set(expect_together)

    code, _, err = cli("search", "--text", "a cat", "--only")
    assert code == 2 and "--only needs --concept" in err
    code, _, err = cli("search", "--concept", "nobody")
    assert code == 2 and "nobody" in err
