"""The whole retrieval pipeline (tiny YOLO-World -> crops -> tiny CLIP -> FAISS) on package photos."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from rap_desktop.core.images import load_image
from rap_desktop.core.regions import iou
from rap_desktop.core.retrieval import Retriever
from rap_desktop.core.session import Session


@pytest.fixture
def retriever(session: Session) -> Retriever:
    made = session.retriever()
    made.threshold = 0.999  # random weights: only (nearly) the same pixels are "the same thing"
    return made


def test_result_shapes_and_invariants(retriever: Retriever, session: Session, photos) -> None:
    session.store().add_concept("player", photos["zidane"], category="person")
    loaded = load_image(photos["zidane"])
    result = retriever.retrieve(loaded, "Is <player> on the pitch?")
    width, height = loaded.size
    assert len(result.regions) >= 2
    whole = (0.0, 0.0, float(width), float(height))  # the whole photo: a region, or a detection covers it
    assert result.regions[-1].source == "whole" or any(iou(r.box, whole) > 0.9 for r in result.regions)
    assert [r.id for r in result.regions] == [f"r{i}" for i in range(1, len(result.regions) + 1)]
    for region in result.regions:
        x1, y1, x2, y2 = region.box
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
        assert region.embedding.shape == (512,)
        sims = [c.similarity for c in region.candidates]
        assert sims == sorted(sims, reverse=True)
        assert len({c.concept_id for c in region.candidates}) == len(region.candidates)
        assert sum(c.accepted for c in region.candidates) <= 1
    accepted = [r.accepted.concept_id for r in result.regions if r.accepted]
    assert len(accepted) == len(set(accepted))  # one concept fills at most one slot
    assert [c.reason for c in result.concepts][:1] == ["mention"]
    assert set(result.timings) == {"detect", "embed", "search"}


def test_empty_store_and_unrelated_photo_yield_no_concept(retriever: Retriever, session: Session, photos) -> None:
    assert retriever.retrieve(load_image(photos["bus"])).concepts == ()
    session.store().add_concept("cat", photos["chelsea"])
    assert retriever.retrieve(load_image(photos["bus"])).concepts == ()


def test_planted_region_is_found_in_a_copy_of_the_photo(
    retriever: Retriever, session: Session, photos, tmp_path: Path
) -> None:
    store = session.store()
    store.add_concept("cat", photos["chelsea"])  # a distractor
    first = retriever.retrieve(load_image(photos["bus"]))
    planted = next(r for r in first.regions if r.source == "detector")
    store.add_concept("my-bus", photos["bus"], category="bus", box=planted.box)
    copy = tmp_path / "bus-copy.png"  # same pixels, another file and format
    Image.open(photos["bus"]).save(copy)
    result = retriever.retrieve(load_image(copy))
    assert "my-bus" in [c.name for c in result.concepts]
    best = max((c for r in result.regions for c in r.candidates if c.concept == "my-bus"), key=lambda c: c.similarity)
    assert best.similarity > 0.999


def test_concepts_added_and_removed_mid_session_count_at_once(retriever: Retriever, session: Session, photos) -> None:
    store = session.store()
    loaded = load_image(photos["coffee"])
    assert retriever.retrieve(loaded).concepts == ()
    store.add_concept("mug", photos["coffee"])
    assert [c.name for c in retriever.retrieve(loaded).concepts] == ["mug"]
    store.remove_concept("mug")
    assert retriever.retrieve(loaded).concepts == ()
