"""Remove -> restore gives back the concept with everything that named it, on the real store."""

from __future__ import annotations

import pytest

from rap_desktop.core import corrections, health, removal
from rap_desktop.core.errors import ConflictError
from rap_desktop.core.images import load_image
from rap_desktop.core.retrieval import Retriever
from rap_desktop.core.store import Store


def _state(store: Store, concept_id: int) -> dict:
    """Every row that belongs to or names the concept."""
    q = store.conn.execute
    exemplars = q(
        "SELECT id, image, width, height, box, source, created FROM exemplars WHERE concept_id = ?", (concept_id,)
    )
    return {
        "concept": q("SELECT id, name, info, category, created FROM concepts WHERE id = ?", (concept_id,)).fetchall(),
        "exemplars": exemplars.fetchall(),
        "embeddings": q(
            "SELECT e.exemplar_id, e.model, e.vector FROM embeddings e JOIN exemplars x ON x.id = e.exemplar_id "
            "WHERE x.concept_id = ? ORDER BY 1, 2",
            (concept_id,),
        ).fetchall(),
        "negatives": q(
            "SELECT id, model, vector, region_id FROM negatives WHERE concept_id = ?", (concept_id,)
        ).fetchall(),
        "matches": q(
            "SELECT region_id, similarity, status, accepted FROM matches WHERE concept_id = ? ORDER BY 1", (concept_id,)
        ).fetchall(),
    }


def test_remove_then_restore_brings_back_corrections_and_matches(store: Store, photos) -> None:
    retriever = Retriever(store, store.embedder, detector=None, threshold=0.999, limit=2)
    mochi = store.add_concept("mochi", photos["chelsea"], "<mochi> is our cat.", "cat").concept
    store.add_concept("mug", photos["coffee"], category="cup")
    cat = retriever.retrieve(load_image(photos["chelsea"]), path=str(photos["chelsea"]))
    corrections.confirm(store, cat.photo, "r1")  # a confirmed exemplar + a confirmed match
    bus = retriever.retrieve(load_image(photos["bus"]), path=str(photos["bus"]))
    corrections.reassign(store, bus.photo, "r1", "mochi")  # another confirmed crop
    rocket = retriever.retrieve(load_image(photos["rocket"]), path=str(photos["rocket"]))
    corrections.reassign(store, rocket.photo, "r1", "mug")
    rejected = corrections.reject(store, rocket.photo, "r1", "mochi")  # a negative + a rejected match
    before = _state(store, mochi.id)
    assert len(before["exemplars"]) == 3 and len(before["negatives"]) == 1
    assert {m[2] for m in before["matches"]} == {"confirmed", "rejected"}
    files = {store.image_path(row[1]) for row in before["exemplars"]}

    saved = removal.remove(store, ["mochi"])
    assert store.find_concept("mochi") is None
    assert all(rows == [] for rows in _state(store, mochi.id).values())
    assert not any(f.exists() for f in files if f.name.split(".")[0] != load_image(photos["coffee"]).sha256)

    assert removal.restore(store, saved) == ["mochi"]
    assert _state(store, mochi.id) == before  # same ids, same vectors, same corrections
    assert all(f.is_file() for f in files)
    hit = retriever.retrieve(load_image(photos["chelsea"]), path=str(photos["chelsea"]))
    assert hit.regions[0].accepted.concept == "mochi"  # the FAISS index has the vectors again
    # the correction log names the old ids: undoing the reject after the restore is exact
    assert corrections.undo(store).id == rejected.id
    assert _state(store, mochi.id)["negatives"] == []
    assert health.check(store) == []


def test_restore_refuses_a_name_taken_meanwhile_and_changes_nothing(store: Store, photos) -> None:
    store.add_concept("mochi", photos["chelsea"])
    saved = removal.remove(store, ["mochi"])
    store.add_concept("Mochi", photos["coffee"])
    with pytest.raises(ConflictError, match="mochi"):
        removal.restore(store, saved)
    assert [c.name for c in store.list_concepts()] == ["Mochi"]
    assert health.check(store) == []


def test_remove_is_all_or_nothing(store: Store, photos) -> None:
    store.add_concept("mochi", photos["chelsea"])
    with pytest.raises(Exception, match="nobody"):
        removal.remove(store, ["mochi", "nobody"])
    assert store.find_concept("mochi") is not None
