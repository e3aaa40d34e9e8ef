"""Retrieval decisions and corrections on the real store, FAISS and tiny CLIP (whole-image regions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rap_desktop.core import corrections, health
from rap_desktop.core.errors import RapError
from rap_desktop.core.images import load_image
from rap_desktop.core.retrieval import BELOW, CONFIRMED, REJECTED, SUPPRESSED, Retriever, result_dict
from rap_desktop.core.store import Store


@pytest.fixture
def retriever(store: Store) -> Retriever:
    # Random tiny weights put unrelated photos at ~0.97 cosine; only the same pixels reach 0.999.
    return Retriever(store, store.embedder, detector=None, threshold=0.999, limit=2)


def _run(retriever: Retriever, path: Path, question: str | None = None):
    return retriever.retrieve(load_image(path), question, path=str(path))


def test_same_photo_is_accepted_other_photo_is_not(retriever: Retriever, store: Store, photos) -> None:
    store.add_concept("mochi", photos["chelsea"], category="cat")
    hit = _run(retriever, photos["chelsea"])
    (region,) = hit.regions
    assert region.id == "r1" and region.source == "whole"
    assert region.accepted.concept == "mochi"
    assert [(c.name, c.reason, c.region) for c in hit.concepts] == [("mochi", "region", "r1")]
    miss = _run(retriever, photos["coffee"])
    assert miss.regions[0].candidates[0].decision == BELOW
    assert miss.concepts == ()  # the reference would inject <mochi> here anyway


def test_name_route_goes_first_and_limit_holds(retriever: Retriever, store: Store, photos) -> None:
    for name in ("mochi", "mug", "rocket"):
        store.add_concept(name, photos[{"mochi": "chelsea", "mug": "coffee", "rocket": "rocket"}[name]])
    result = _run(retriever, photos["chelsea"], "Is <rocket> bigger than Mug?")
    assert [(c.name, c.reason) for c in result.concepts] == [("rocket", "mention"), ("mug", "mention")]
    doc = result_dict(result)
    assert doc["concepts"] == [{"name": "rocket", "reason": "mention"}, {"name": "mug", "reason": "mention"}]
    assert doc["regions"][0]["matches"][0] == {**doc["regions"][0]["matches"][0], "concept": "mochi", "accepted": True}


def test_regions_are_reused_not_recomputed(retriever: Retriever, store: Store, photos) -> None:
    store.add_concept("mochi", photos["chelsea"])
    first = _run(retriever, photos["chelsea"])
    second = _run(retriever, photos["chelsea"])
    assert first.regions[0].db_id == second.regions[0].db_id
    third = retriever.retrieve(load_image(photos["chelsea"]), refresh=True)
    assert third.regions[0].db_id != first.regions[0].db_id


def test_reject_suppresses_at_once_and_undo_restores(retriever: Retriever, store: Store, photos) -> None:
    store.add_concept("mochi", photos["chelsea"])
    result = _run(retriever, photos["chelsea"])
    corrections.reject(store, result.photo, "r1")
    again = _run(retriever, photos["chelsea"])
    assert again.regions[0].candidates[0].decision == REJECTED and again.concepts == ()
    corrections.undo(store)
    assert _run(retriever, photos["chelsea"]).concepts[0].name == "mochi"


def test_negative_suppresses_lookalike_regions(retriever: Retriever, store: Store, photos, tmp_path) -> None:
    from PIL import Image

    store.add_concept("mochi", photos["chelsea"])
    first = _run(retriever, photos["chelsea"])
    corrections.reject(store, first.photo, "r1")
    twin = tmp_path / "twin.bmp"  # same pixels, different file (different hash, new region)
    Image.open(photos["chelsea"]).save(twin)
    result = _run(retriever, twin)
    candidate = result.regions[0].candidates[0]
    assert candidate.decision == SUPPRESSED
    assert candidate.negative_similarity == pytest.approx(candidate.similarity, abs=1e-4)
    assert result.concepts == ()


def test_confirm_and_reassign_teach_and_undo_is_exact(retriever: Retriever, store: Store, photos) -> None:
    store.add_concept("mochi", photos["chelsea"])
    mug = _run(retriever, photos["coffee"])
    assert mug.concepts == ()
    with pytest.raises(RapError, match="no accepted concept"):
        corrections.confirm(store, mug.photo, "r1")
    done = corrections.reassign(store, mug.photo, "r1", "my-mug", info="<my-mug> is white.", category="cup")
    assert "new" in done.summary
    concept = store.get_concept("my-mug")
    assert (concept.category, concept.exemplar_count) == ("cup", 1)
    result = _run(retriever, photos["coffee"])
    assert result.regions[0].accepted.decision == CONFIRMED
    assert [c.name for c in result.concepts] == ["my-mug"]
    before_files = {p.name for p in store.images_dir.rglob("*") if p.is_file()}
    corrections.undo(store)
    assert store.find_concept("my-mug") is None
    assert {p.name for p in store.images_dir.rglob("*") if p.is_file()} < before_files
    assert health.check(store) == []
    assert _run(retriever, photos["coffee"]).concepts == ()
    with pytest.raises(RapError, match="nothing to undo"):
        corrections.undo(store)


def test_confirm_with_named_concept_adds_exemplar(retriever: Retriever, store: Store, photos) -> None:
    store.add_concept("mochi", photos["chelsea"])
    other = _run(retriever, photos["astronaut"])
    corrections.confirm(store, other.photo, "r1", "mochi")
    assert store.get_concept("mochi").exemplar_count == 2
    assert {e.source for e in store.exemplars("mochi")} == {"registered", "confirmed"}
    assert _run(retriever, photos["astronaut"]).concepts[0].name == "mochi"


def test_new_categories_mean_new_detection(retriever: Retriever, store: Store, photos) -> None:
    store.add_concept("mochi", photos["chelsea"], category="cat")
    first = _run(retriever, photos["chelsea"])
    assert _run(retriever, photos["chelsea"]).regions[0].db_id == first.regions[0].db_id
    store.add_concept("rocket", photos["rocket"], category="spaceship")  # a new prompt for the detector
    assert _run(retriever, photos["chelsea"]).regions[0].db_id != first.regions[0].db_id
