"""The retrieval decision rules as a table, with synthetic vectors whose similarities are exact.

Concept photos and negatives are basis vectors; a region is a unit vector with chosen float32
coordinates on those axes (the rest of its length on an axis of its own), so each cosine similarity
FAISS and numpy compute is exactly the coordinate the case names. Every case runs through both users
of the decision function: `Retriever.retrieve` on each photo, and the album re-match (`rematch`,
through its public function and the matches it stores only), on the real store, FAISS index and tiny
CLIP session (whose encoder is never run: every vector is given)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rap_desktop.core import corrections
from rap_desktop.core.album.rematch import rematch
from rap_desktop.core.images import load_image
from rap_desktop.core.regions import Proposal
from rap_desktop.core.retrieval import (
    ACCEPTED,
    BELOW,
    CONFIRMED,
    LOWER,
    REJECTED,
    SUPPRESSED,
    TAKEN,
    TIE,
    Retriever,
)
from rap_desktop.core.store import NewConcept, NewExemplar, Store, photos

AXES = {"ada": 0, "bo": 1, "cy": 2, "dot": 3}  # concept -> its exemplar's axis
NEG = 10  # the axis of a rejected example (a negative)
ACCEPTING = (ACCEPTED, CONFIRMED)


def f32(value: float) -> float:
    return float(np.float32(value))


def below(value: float) -> float:
    """The float32 just under `value` (one unit in the last place)."""
    return float(np.nextafter(np.float32(value), np.float32(0)))


def above(value: float) -> float:
    return float(np.nextafter(np.float32(value), np.float32(1)))


@dataclass
class World:
    store: Store
    folder: Path
    threshold: float

    def __post_init__(self) -> None:
        self.model = self.store.embedder.model_id
        self.dim = self.store.embedder.dim
        self.own_axis = itertools.count(self.dim - 1, -1)  # filler axes, from the top down
        self.colour = itertools.count(1)
        self.photos: dict[str, tuple[str, str]] = {}  # label -> (sha256, path)
        self.retriever = Retriever(self.store, self.store.embedder, detector=None, threshold=self.threshold)

    def basis(self, axis: int) -> np.ndarray:
        vector = np.zeros(self.dim, np.float32)
        vector[axis] = 1.0
        return vector

    def vector(self, coords: dict[int, float]) -> np.ndarray:
        """A unit vector with exactly these float32 coordinates; the rest of its length on an own axis."""
        vector = np.zeros(self.dim, np.float32)
        for axis, value in coords.items():
            vector[axis] = np.float32(value)
        rest = 1.0 - float(np.sum(vector.astype(np.float64) ** 2))
        assert rest >= -1e-6, coords
        vector[next(self.own_axis)] = np.float32(np.sqrt(max(rest, 0.0)))
        return vector

    def _image(self, label: str) -> Path:
        shade = next(self.colour)
        path = self.folder / f"{label}.png"
        Image.new("RGB", (64, 48), (shade * 7 % 256, shade * 13 % 256, shade * 29 % 256)).save(path)
        return path

    def concepts(self, *names: str) -> None:
        photo = {n: load_image(self._image(n)) for n in names}
        exemplar = {n: NewExemplar(photo[n], vectors={self.model: self.basis(AXES[n])}) for n in names}
        self.store.add_many([NewConcept(n, exemplars=(exemplar[n],)) for n in names])

    def photo(self, label: str, *regions: dict[str, float], negative: float | None = None) -> None:
        """A photo whose region i (r1, r2, ...) has similarity regions[i][name] to concept `name`
        (and `negative` to the rejected example, when given)."""
        path = self._image(label)
        loaded = load_image(path)
        pid = photos.photo_id(self.store, loaded.sha256, str(path), loaded.size)
        vectors = []
        for sims in regions:
            coords = {AXES[n]: s for n, s in sims.items()}
            if negative is not None:
                coords[NEG] = negative
            vectors.append(self.vector(coords))
        boxes = [Proposal((i, i, 20.0 + i, 20.0 + i), "thing", 0.9, "detector") for i in range(len(regions))]
        photos.replace_regions(self.store, pid, boxes, np.stack(vectors), self.model, self.retriever.detector_key()[1])
        self.photos[label] = (loaded.sha256, str(path))

    def reject_lookalike(self, concept: str) -> None:
        """The user rejects `concept` for a region that is exactly the NEG axis (a negative example)."""
        path = self._image("decoy")
        loaded = load_image(path)
        pid = photos.photo_id(self.store, loaded.sha256, str(path), loaded.size)
        box = Proposal((0.0, 0.0, 10.0, 10.0), "thing", 0.9, "detector")
        photos.replace_regions(
            self.store, pid, [box], self.basis(NEG)[None], self.model, self.retriever.detector_key()[1]
        )
        corrections.reject(self.store, loaded.sha256, "r1", concept)

    # --- the two users of the decision function --------------------------------------------------

    def via_retrieve(self, label: str, question: str | None = None):
        _, path = self.photos[label]
        return self.retriever.retrieve(load_image(path), question, path=path)

    def stored(self, label: str) -> dict[tuple[str, str], tuple[str, bool]]:
        """(region, concept) -> (status, accepted) as the matches table holds them."""
        sha, _ = self.photos[label]
        rows = self.store.conn.execute(
            "SELECT g.ordinal, c.name, m.status, m.accepted FROM matches m JOIN regions g ON g.id = m.region_id "
            "JOIN concepts c ON c.id = m.concept_id JOIN photos p ON p.id = g.photo_id WHERE p.sha256 = ?",
            (sha,),
        ).fetchall()
        return {(f"r{o}", name): (status, bool(accepted)) for o, name, status, accepted in rows}

    def run(self, via: str) -> dict[str, dict[tuple[str, str], tuple[str, bool]]]:
        """Per photo label: (region, concept) -> (status, accepted) after deciding through `via`."""
        if via == "retrieve":
            for label in self.photos:
                self.via_retrieve(label)
        else:
            rematch(self.store, self.model, self.threshold)
        return {label: self.stored(label) for label in self.photos}


def _candidates(result) -> dict[tuple[str, str], str]:
    return {(r.id, c.concept): c.decision for r in result.regions for c in r.candidates}


@pytest.fixture
def world(store: Store, tmp_path: Path):
    def make(threshold: float = 0.75) -> World:
        return World(store, tmp_path, threshold)

    return make


def _expect(world: World, via: str, table: dict[str, dict[tuple[str, str], str]]) -> None:
    """Check the decisions of `table` (photo -> (region, concept) -> decision) through `via`: all of
    them through retrieve; through the re-match, what it stores (accepted or not, the user's status)."""
    if via == "retrieve":
        for label, wanted in table.items():
            got = _candidates(world.via_retrieve(label))
            assert {key: got.get(key) for key in wanted} == wanted, label
    stored = world.run(via)
    for label, wanted in table.items():
        got = {key: stored[label].get(key, (None, False))[1] for key in wanted}
        assert got == {key: decision in ACCEPTING for key, decision in wanted.items()}, (via, label)


VIA = pytest.mark.parametrize("via", ["retrieve", "rematch"])


@VIA
@pytest.mark.parametrize(
    ("threshold", "similarity", "decision"),
    [
        (0.75, 0.75, ACCEPTED),  # reaching the threshold is enough (README)
        (0.75, below(0.75), BELOW),
        (0.75, above(0.75), ACCEPTED),
        (0.8, f32(0.8), ACCEPTED),  # the float32 nearest 0.8 lies above it
        (0.8, below(f32(0.8)), BELOW),
        (0.8, 0.9, ACCEPTED),
    ],
)
def test_threshold_edge(world, via: str, threshold: float, similarity: float, decision: str) -> None:
    w = world(threshold)
    w.concepts("ada")
    w.photo("p", {"ada": similarity})
    _expect(w, via, {"p": {("r1", "ada"): decision}})


@VIA
def test_one_region_per_concept_per_photo_best_wins(world, via: str) -> None:
    w = world(0.5)  # a unit vector cannot be close to two orthogonal concepts at 0.75
    w.concepts("ada", "bo")
    w.photo("best-second", {"ada": 0.9}, {"ada": 0.95})  # r2 is closer: it takes A
    w.photo("tie", {"ada": 0.875}, {"ada": 0.875})  # equal: the first region keeps it, every time
    w.photo("next", {"ada": 0.7, "bo": 0.6}, {"ada": 0.71})  # r1 loses A to r2 and names B instead
    w.photo("other", {"ada": 0.5})  # another photo: A again
    _expect(
        w,
        via,
        {
            "best-second": {("r1", "ada"): TAKEN, ("r2", "ada"): ACCEPTED},
            "tie": {("r1", "ada"): ACCEPTED, ("r2", "ada"): TAKEN},
            "next": {("r1", "ada"): TAKEN, ("r1", "bo"): ACCEPTED, ("r2", "ada"): ACCEPTED},
            "other": {("r1", "ada"): ACCEPTED},
        },
    )
    again = w.run(via)
    assert again["tie"][("r1", "ada")][1] and not again["tie"][("r2", "ada")][1]  # stable on a rerun


@VIA
def test_one_concept_per_region_best_wins(world, via: str) -> None:
    w = world(0.5)
    w.concepts("ada", "bo")
    w.photo("p", {"ada": 0.6, "bo": 0.7})
    _expect(w, via, {"p": {("r1", "ada"): LOWER, ("r1", "bo"): ACCEPTED}})


@VIA
@pytest.mark.parametrize(
    ("negative", "decision"),
    [
        (0.6, SUPPRESSED),  # as close to the rejected example as to the concept
        (f32(0.6 - TIE / 2), SUPPRESSED),  # inside the tie margin: still "as close as"
        (f32(0.6 - 2 * TIE), ACCEPTED),  # just outside it
        (0.7, SUPPRESSED),  # closer to the rejected example
        (0.3, ACCEPTED),
    ],
)
def test_negative_tie_margin(world, via: str, negative: float, decision: str) -> None:
    w = world(0.5)
    w.concepts("ada", "bo")
    w.reject_lookalike("ada")
    w.photo("p", {"ada": 0.6, "bo": 0.0}, negative=negative)
    w.photo("q", {"bo": 0.6}, negative=negative)  # a negative of A says nothing about B
    _expect(w, via, {"p": {("r1", "ada"): decision}, "q": {("r1", "bo"): ACCEPTED}})


@VIA
def test_confirmed_holds_its_concept_against_a_closer_region(world, via: str) -> None:
    w = world()
    w.concepts("ada")
    w.photo("p", {"ada": 0.1}, {"ada": 0.99})
    sha, _ = w.photos["p"]
    corrections.confirm(w.store, sha, "r1", "ada")
    # the confirmed crop became a photo of A; the user removes that photo again: r1 is back at 0.1
    added = max(e.id for e in w.store.exemplars("ada"))
    w.store.remove_exemplar(added)
    _expect(w, via, {"p": {("r1", "ada"): CONFIRMED, ("r2", "ada"): TAKEN}})
    assert w.stored("p")[("r1", "ada")] == ("confirmed", True)


@VIA
def test_rejected_and_reassigned_are_never_overwritten(world, via: str) -> None:
    w = world()
    w.concepts("ada", "bo")
    w.photo("rejected", {"ada": 0.99})
    w.photo("reassigned", {"ada": 0.96, "bo": 0.25})
    w.run(via)  # A accepted in both, then the user disagrees
    corrections.reject(w.store, w.photos["rejected"][0], "r1")
    corrections.reassign(w.store, w.photos["reassigned"][0], "r1", "bo")
    _expect(
        w,
        via,
        {
            "rejected": {("r1", "ada"): REJECTED},
            "reassigned": {("r1", "ada"): REJECTED, ("r1", "bo"): CONFIRMED},
        },
    )
    for _ in range(2):  # and again: the user's word stays as stored
        w.run(via)
        assert w.stored("rejected")[("r1", "ada")] == ("rejected", False)
        assert w.stored("reassigned")[("r1", "ada")] == ("reassigned", False)
        assert w.stored("reassigned")[("r1", "bo")] == ("confirmed", True)


@pytest.mark.parametrize(
    ("question", "limit", "chosen"),
    [
        (None, 2, [("ada", "region"), ("bo", "region")]),  # best similarity first
        (None, 3, [("ada", "region"), ("bo", "region"), ("cy", "region")]),
        ("Is <dot> here?", 2, [("dot", "mention"), ("ada", "region")]),  # a name mentioned goes first
        ("Where are dot and bo?", 3, [("dot", "mention"), ("bo", "mention"), ("ada", "region")]),
        ("What is <cy> doing?", 2, [("cy", "mention"), ("ada", "region")]),  # named and seen: once
        ("<ada> <bo> <cy> <dot>", 2, [("ada", "mention"), ("bo", "mention")]),  # the limit holds for mentions too
    ],
)
def test_mentions_first_then_regions_up_to_the_limit(world, question, limit: int, chosen) -> None:
    w = world()
    w.retriever.limit = limit
    w.concepts("ada", "bo", "cy", "dot")
    w.photo("p", {"cy": 0.8}, {"ada": 0.95}, {"bo": 0.9})
    result = w.via_retrieve("p", question)
    assert [(c.name, c.reason) for c in result.concepts] == chosen


@pytest.mark.parametrize(("top_k", "count"), [(1, 1), (2, 2), (4, 2)])
def test_a_callers_top_k_never_exceeds_the_concept_limit(world, top_k: int, count: int) -> None:
    w = world()
    w.concepts("ada", "bo", "cy")
    w.photo("p", {"cy": 0.8}, {"ada": 0.95}, {"bo": 0.9})
    _, path = w.photos["p"]
    result = w.retriever.retrieve(load_image(path), "<cy> and <dot>?", top_k=top_k, path=path)
    assert [c.name for c in result.concepts] == ["cy", "ada", "bo"][:count]  # the generator's limit is 2
