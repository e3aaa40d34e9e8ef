"""A hidden stranger's looks, on a real store with vectors of known similarity: the bar, what survives a
re-detection, another model, and a stranger the user confirmed after all."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from rap_desktop.core.regions import Proposal
from rap_desktop.core.store import Store, photos
from rap_desktop.core.store import concepts as concepts_table
from rap_desktop.core.store import corrections as log_table
from rap_desktop.core.store import hidden as hidden_table
from rap_desktop.core.store.hidden_vectors import LOOKALIKE, lookalike_mask

DIM = 16
MODEL = "model-a"
STRANGER_BOX = (10.0, 10.0, 60.0, 80.0)


def _at(similarity: float, axis: int = 1) -> np.ndarray:
    """A unit vector whose cosine similarity to the stranger's (the first axis) is `similarity`."""
    v = np.zeros(DIM, np.float32)
    v[0], v[axis] = similarity, np.sqrt(1 - similarity**2)
    return v


STRANGER = _at(1.0)


@pytest.fixture
def bare(tmp_path: Path):
    opened = Store(tmp_path / "store", None)
    yield opened
    opened.close()


def _photo(store: Store, sha: str, boxes, vectors, model: str = MODEL) -> list[int]:
    """A photo with regions of the given boxes and vectors (as indexing writes them); their ids."""
    photo = photos.photo_id(store, sha * 64, f"/album/{sha}.jpg", (200, 200))
    proposals = [Proposal(box, "person", 0.9, "detector") for box in boxes]
    stored = photos.replace_regions(store, photo, proposals, np.array(vectors, np.float32).reshape(-1, DIM), model, "d")
    return [r.id for r in stored]


def _hide_stranger(store: Store) -> tuple[int, int]:
    (region,) = _photo(store, "a", [STRANGER_BOX], [STRANGER])
    with store.transaction():
        (row,) = hidden_table.hide(store, [region], 7)
    return region, row["id"]


def test_the_bar_is_the_groups_never_looser_than_lookalike(bare: Store) -> None:
    _hide_stranger(bare)
    same, family, edge = _at(0.97), _at(0.85, 2), _at(LOOKALIKE + 1e-3, 3)
    queries = np.stack([same, family, edge, _at(-0.2, 4)])
    assert lookalike_mask(bare, MODEL, queries).tolist() == [True, False, True, False]
    # a loose grouping (threshold 0.5) does not loosen the bar: the family member still shows
    assert lookalike_mask(bare, MODEL, queries, threshold=0.5).tolist() == [True, False, True, False]
    # a stricter grouping is a stricter bar
    assert lookalike_mask(bare, MODEL, queries, threshold=0.98).tolist() == [False, False, False, False]
    # nothing hidden under another model, and no query: nothing kept out
    assert not lookalike_mask(bare, "model-b", queries).any()
    assert lookalike_mask(bare, MODEL, np.zeros((0, DIM), np.float32)).shape == (0,)


def test_the_looks_survive_the_photo_detected_again(bare: Store) -> None:
    _hide_stranger(bare)
    # the stranger's photo detected again: another box far from the hidden one, another vector
    _photo(bare, "a", [(120.0, 120.0, 190.0, 190.0)], [_at(0.1, 5)])
    assert not hidden_table.hidden_region_ids(bare, [r for (r,) in bare.conn.execute("SELECT id FROM regions")])
    assert lookalike_mask(bare, MODEL, _at(0.97)[None]).tolist() == [True]


def test_a_box_hidden_before_another_model_indexed_it_lends_that_models_looks(bare: Store) -> None:
    _hide_stranger(bare)
    # the photo indexed again under model b: the region under the hidden box speaks for the stranger
    looks_b = _at(0.3, 6)
    _photo(bare, "a", [(11.0, 9.0, 61.0, 79.0)], [looks_b], model="model-b")
    near_b = 0.95 * looks_b + np.sqrt(1 - 0.95**2) * _at(0.0, 7)
    assert lookalike_mask(bare, "model-b", near_b[None]).tolist() == [True]
    assert lookalike_mask(bare, "model-b", _at(0.97)[None]).tolist() == [False]  # model a's looks stay a's


def test_unhide_and_a_stranger_confirmed_after_all_bring_the_lookalikes_back(bare: Store) -> None:
    region, _ = _hide_stranger(bare)
    query = _at(0.97)[None]
    with bare.transaction():
        rows = hidden_table.rows_of_group(bare, 7)
        hidden_table.remove(bare, [r["id"] for r in rows])
    assert lookalike_mask(bare, MODEL, query).tolist() == [False]
    with bare.transaction():  # the undo of the unhide: the same row id, the same looks
        hidden_table.restore(bare, rows)
    assert lookalike_mask(bare, MODEL, query).tolist() == [True]
    with bare.transaction():  # the user says the hidden box is Anna after all
        anna = concepts_table.insert_concept(bare, "Anna", "", "person", time.time(), time.time())
        log_table.set_match_status(bare, region, anna, "confirmed", True)
    assert lookalike_mask(bare, MODEL, query).tolist() == [False]
