"""Re-indexing an album under another embedding model keeps what the user decided and drew."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import tomli_w

from rap_desktop.core import corrections
from rap_desktop.core.album import rematch
from rap_desktop.core.album import search as album_search
from rap_desktop.core.album.indexer import Indexer
from rap_desktop.core.images import load_image
from rap_desktop.core.session import Session
from rap_desktop.core.thumbcache import for_home
from rap_desktop.devtools.synthetic_album import make_album


def _config(tiny_config: Path, embedder: str) -> Path:
    """The tiny models under the embedder name `embedder` (same weights: a second model id, as when
    the machine's GPU goes away and the default CLIP changes), with a threshold only an identical crop clears."""
    data = tomllib.loads(tiny_config.read_text())
    custom = data["models"]["custom"]
    custom[embedder] = dict(custom[data["models"]["embedder"]])
    data["models"]["embedder"] = embedder
    data["retrieval"] = {"thresholds": {embedder: 0.9999}}
    path = tiny_config.parent / f"config-{embedder}.toml"  # beside it: model paths are relative to the file
    path.write_bytes(tomli_w.dumps(data).encode())
    return path


def _index(session: Session, album: Path):
    return Indexer(session.retriever(), for_home(session.home)).index([album])


def _decisions(session: Session) -> list[tuple]:
    """(photo, box, concept, status, region model) of every manual match."""
    return (
        session.store()
        .conn.execute(
            "SELECT p.sha256, r.x1, r.y1, r.x2, r.y2, c.name, m.status, r.model FROM matches m "
            "JOIN regions r ON r.id = m.region_id JOIN photos p ON p.id = r.photo_id "
            "JOIN concepts c ON c.id = m.concept_id "
            "WHERE m.status != 'auto' ORDER BY c.name"
        )
        .fetchall()
    )


@pytest.mark.slow
def test_a_new_embedding_model_keeps_decisions_and_drawn_boxes(tmp_path: Path, home: Path, tiny_config: Path) -> None:
    album = tmp_path / "album"
    make_album(album, 3, seed=3, max_side=160)
    files = sorted(album.rglob("*.jpg"))
    first = Session.open(home, _config(tiny_config, "tiny-clip-a"))
    try:
        assert _index(first, album).indexed == 3
        store = first.store()
        store.add_concept("bo", files[0], "", "person")
        store.add_concept("mia", files[1], "", "cat")
        rematch.after_change(first)
        bo, mia = album_search.by_concept(store, "bo")[0], album_search.by_concept(store, "mia")[0]
        corrections.confirm(store, bo.sha256, bo.region)
        corrections.reject(store, mia.sha256, mia.region)
        drawn_on = load_image(files[2])
        drawn = first.retriever().add_box(drawn_on, (10.0, 12.0, 70.0, 90.0), "mug")
        before = _decisions(first)
        assert [d[5:] for d in before] == [("bo", "confirmed", "tiny-clip-a"), ("mia", "rejected", "tiny-clip-a")]
    finally:
        first.close()

    second = Session.open(home, _config(tiny_config, "tiny-clip-b"))
    try:
        report = _index(second, album)
        assert report.indexed == 3  # every photo detected and embedded again, with the new model
        store = second.store()
        conn = store.conn
        assert conn.execute("SELECT DISTINCT model FROM regions").fetchall() == [("tiny-clip-b",)]
        # the same decisions, on the same boxes, now on regions of the new model (one row per pair)
        assert _decisions(second) == [(*d[:7], "tiny-clip-b") for d in before]
        users = conn.execute(
            "SELECT p.sha256, x1, y1, x2, y2, label FROM regions r JOIN photos p ON p.id = r.photo_id "
            "WHERE source = 'user'"
        ).fetchall()
        assert users == [(drawn_on.sha256, *drawn.box, "mug")]
        # the rejection's negative still names its (new) region; the log names live regions only
        rejected_region = conn.execute("SELECT region_id FROM matches WHERE status = 'rejected'").fetchone()[0]
        assert conn.execute("SELECT region_id FROM negatives").fetchall() == [(rejected_region,)]
        logged = [json.loads(p)["region"] for (p,) in conn.execute("SELECT payload FROM corrections ORDER BY id")]
        assert all(conn.execute("SELECT 1 FROM regions WHERE id = ?", (r,)).fetchone() for r in logged)
        assert bo.sha256 in {h.sha256 for h in album_search.by_concept(store, "bo") if h.confirmed}
        assert mia.sha256 not in {h.sha256 for h in album_search.by_concept(store, "mia")}

        # undo takes back the rejection, then the confirmation, on the new rows
        corrections.undo(store)
        assert conn.execute("SELECT COUNT(*) FROM negatives").fetchone() == (0,)
        assert [d[5:7] for d in _decisions(second)] == [("bo", "confirmed")]
        corrections.undo(store)
        assert _decisions(second) == []
        assert conn.execute("SELECT COUNT(*) FROM exemplars WHERE source = 'confirmed'").fetchone() == (0,)
        rematch.after_change(second)
        assert mia.sha256 in {h.sha256 for h in album_search.by_concept(store, "mia")}  # accepted again
    finally:
        second.close()
