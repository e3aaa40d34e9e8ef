"""Retrieve: detect -> crop -> embed (one batch) -> search -> decide; plus the name route.

Unlike the reference, which always injects its top-K concepts, a region only names a concept when
the similarity clears the embedding model's threshold, the region is not closer to a rejected
example (negative) of that concept than to the concept itself, and no better region took it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .images import LoadedImage, crop_box, working_box
from .mentions import mentioned
from .models.embedder import ImageEmbedder
from .regions import Proposal, propose
from .store import Store, photos
from .store.matches import exemplar_owners

# Cosine similarity a crop needs to name a concept, per embedding model. Provisional: set from
# CLIP's usual same-instance vs same-category ranges, to be recalibrated per model with
# `rap-desktop eval retrieval` (its threshold curve); override in [retrieval.thresholds].
DEFAULT_THRESHOLDS = {"clip-vit-l-14-336": 0.75, "clip-vit-b-32": 0.80}
FALLBACK_THRESHOLD = 0.75
TIE = 1e-4  # FAISS and numpy round differently; a tie with a negative counts as "as close as"

GENERIC_CLASSES = ("person", "dog", "cat", "bird", "toy", "cup", "car", "building")

ACCEPTED = "accepted"
CONFIRMED = "confirmed"  # the user said so: accepted whatever the similarity
BELOW = "below_threshold"
SUPPRESSED = "suppressed"  # closer to a rejected example than to the concept
REJECTED = "rejected"  # the user said no for this very region
TAKEN = "taken"  # a better region already holds this concept
LOWER = "lower_rank"  # the region already holds a better concept


@dataclass(frozen=True)
class Candidate:
    concept: str
    concept_id: int
    exemplar_id: int
    similarity: float
    decision: str
    negative_similarity: float | None = None

    @property
    def accepted(self) -> bool:
        return self.decision in (ACCEPTED, CONFIRMED)


@dataclass(frozen=True)
class RegionResult:
    id: str  # "r1", "r2", ... stable per photo
    db_id: int
    box: tuple[float, float, float, float]
    label: str
    score: float
    source: str  # detector | whole | user
    candidates: tuple[Candidate, ...]
    embedding: np.ndarray = field(repr=False, compare=False)

    @property
    def accepted(self) -> Candidate | None:
        return next((c for c in self.candidates if c.accepted), None)


@dataclass(frozen=True)
class ChosenConcept:
    name: str
    concept_id: int
    reason: str  # "mention" or "region"
    region: str | None = None
    similarity: float | None = None


@dataclass(frozen=True)
class RetrievalResult:
    photo: str  # sha256 of the photo file
    size: tuple[int, int]
    regions: tuple[RegionResult, ...]
    concepts: tuple[ChosenConcept, ...]  # in the order they go to the generator
    threshold: float
    model: str
    timings: dict[str, float] = field(default_factory=dict, compare=False)  # seconds: detect, embed, search


@dataclass(frozen=True)
class Detected:
    """A photo's regions before the write: the stored ones (reused), or fresh proposals with their
    vectors and, per proposal, the old region whose decisions it carries on (`photos.carry_plan`)."""

    key: str  # the detector key the regions are stored under
    stored: list[photos.StoredRegion]
    proposals: list[Proposal] = field(default_factory=list)
    embedded: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32), repr=False)
    origins: list[int | None] = field(default_factory=list)

    def to_rank(self) -> np.ndarray:
        """The vectors to rank, in the order the regions are (or will be) stored."""
        return np.stack([r.vector for r in self.stored]) if self.stored else np.asarray(self.embedded, np.float32)


class Retriever:
    def __init__(
        self,
        store: Store,
        embedder: ImageEmbedder,
        detector=None,
        threshold: float = 0.75,
        limit: int = 2,
        neighbours: int = 5,
        generic_classes: Sequence[str] = GENERIC_CLASSES,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.detector = detector
        self.threshold = threshold
        self.limit = limit
        self.neighbours = neighbours
        self.generic_classes = tuple(generic_classes)
        self._timings: dict[str, float] = {}

    def classes(self) -> list[str]:
        """Detector prompts: every concept category plus a generic set (re-read on each call)."""
        categories = {c.category.strip().lower() for c in self.store.list_concepts() if c.category.strip()}
        return sorted(categories | set(self.generic_classes))

    def detector_key(self) -> tuple[list[str], str]:
        """(detector prompts, the key regions are stored under): regions depend on the detector and
        its prompts, so new categories mean detect again."""
        classes = self.classes()
        prompts = hashlib.sha256("\n".join(classes).encode()).hexdigest()[:12]
        return classes, f"{getattr(self.detector, 'model_id', 'none')}#{prompts}"

    def _detect(self, loaded: LoadedImage, photo: int | None, refresh: bool) -> Detected:
        """The photo's stored regions when this encoder and these prompts made them (no detector or
        encoder run), else fresh detections embedded in one batch, not yet stored. Only reads."""
        model = self.embedder.model_id
        classes, detector_key = self.detector_key()
        stored = [] if refresh or photo is None else photos.regions(self.store, photo, model, detector_key)
        if stored:
            return Detected(detector_key, stored)
        width, height = loaded.size
        detections = []
        start = time.perf_counter()
        if self.detector is not None:
            detections = detect_original(self.detector.detect(loaded.image, classes), loaded)
        # detected again (new prompts, another encoder, refresh): what the user drew or decided carries on
        old = [] if photo is None else photos.all_regions(self.store, photo)
        decided = photos.decided(self.store, [r.id for r in old])
        proposals, origins = photos.carry_plan(old, decided, propose(detections, width, height))
        self._timings["detect"] = time.perf_counter() - start
        start = time.perf_counter()
        vectors = embed_regions(self.embedder, loaded, [p.box for p in proposals])  # one batch
        self._timings["embed"] = time.perf_counter() - start
        return Detected(detector_key, [], proposals, vectors, origins)

    def add_box(self, loaded: LoadedImage, box, label: str = "") -> photos.StoredRegion:
        """Store a region the user drew; it is matched on the next `retrieve`."""
        vector = embed_regions(self.embedder, loaded, [box])[0]
        proposal = Proposal(tuple(float(v) for v in box), label or "user", 1.0, "user")
        with self.store.transaction():
            photo = photos.photo_row(self.store, loaded.sha256, None, loaded.size)
            ordinal = photos.write_region(self.store, photo, proposal, vector, self.embedder.model_id)
        return photos.region(self.store, photo, f"r{ordinal}")

    def retrieve(
        self,
        loaded: LoadedImage,
        question: str | None = None,
        top_k: int | None = None,
        path: str | None = None,
        refresh: bool = False,
    ) -> RetrievalResult:
        """Detect (or reuse the stored regions), rank, decide, and store the photo, its regions and
        their matches in one write transaction: the models and the search run before it, so no
        writer waits on them, and a crash leaves the photo's rows as they were or wholly new."""
        self._timings = {"detect": 0.0, "embed": 0.0}
        self.store.embed_missing()
        found = self._detect(loaded, photos.known_photo(self.store, loaded.sha256), refresh)
        start = time.perf_counter()
        ranked = self._rank(found.to_rank())
        self._timings["search"] = time.perf_counter() - start
        with self.store.transaction():
            photo = photos.photo_row(self.store, loaded.sha256, path, loaded.size)
            stored = found.stored or self._store_regions(photo, found)
            regions = self._decide(stored, ranked)
            photos.write_matches(
                self.store,
                [
                    photos.StoredMatch(r.db_id, c.concept_id, c.similarity, match_status(c), c.accepted)
                    for r in regions
                    for c in r.candidates
                ],
            )
        limit = min(top_k or self.limit, self.limit)
        return RetrievalResult(
            loaded.sha256,
            loaded.size,
            tuple(regions),
            self.choose(regions, question, limit),
            self.threshold,
            self.embedder.model_id,
            dict(self._timings),
        )

    def _store_regions(self, photo: int, found: Detected) -> list[photos.StoredRegion]:
        """Inside the write: the fresh regions replace the photo's old ones (decisions carried on)."""
        model = self.embedder.model_id
        photos.write_regions(self.store, photo, found.proposals, found.embedded, model, found.key, found.origins)
        return photos.regions(self.store, photo, model)

    def _rank(self, vectors: np.ndarray) -> list[list[tuple[int, int, str, float]]]:
        if not len(vectors):
            return []
        return rank(self.store, vectors, self.neighbours)

    def _decide(self, stored, ranked) -> list[RegionResult]:
        manual = photos.manual_statuses(self.store, [r.id for r in stored])
        return decide(stored, ranked, self.threshold, manual, Negatives.load(self.store, self.embedder.model_id))

    def choose(self, regions: Sequence[RegionResult], question: str | None, limit: int) -> tuple[ChosenConcept, ...]:
        """The concepts that go to the generator: those the question names, then accepted regions'."""
        chosen: list[ChosenConcept] = []
        if question:
            by_name = {c.name: c.id for c in self.store.list_concepts()}
            chosen += [ChosenConcept(n, by_name[n], "mention") for n in mentioned(question, by_name)]
        accepted = sorted(((r, r.accepted) for r in regions if r.accepted), key=lambda pair: -pair[1].similarity)
        for region, candidate in accepted:
            if all(c.concept_id != candidate.concept_id for c in chosen):
                chosen.append(
                    ChosenConcept(candidate.concept, candidate.concept_id, "region", region.id, candidate.similarity)
                )
        return tuple(chosen[:limit])


def detect_original(found, loaded: LoadedImage) -> list[tuple[tuple[float, float, float, float], str, float]]:
    """Detections on `loaded.image` (maybe a reduced decode) as (box, label, score), the boxes in the
    original photo's pixels: what is stored and shown."""
    s = loaded.scale
    return [((d.box[0] * s, d.box[1] * s, d.box[2] * s, d.box[3] * s), d.label, d.score) for d in found]


def embed_regions(embedder: ImageEmbedder, loaded: LoadedImage, boxes) -> np.ndarray:
    """Crop embeddings of `boxes` (original photo pixels), cut from the working image, in one batch;
    an encoder that prepares crops itself (`embed_boxes`: tensor ops, on the GPU there) gets the image
    and the boxes."""
    inner = [working_box(loaded, box) if loaded.scale != 1.0 else tuple(box) for box in boxes]
    if hasattr(embedder, "embed_boxes"):
        return embedder.embed_boxes([(loaded.image, inner)])
    return embedder.embed_images([crop_box(loaded.image, box) for box in inner])  # type: ignore[arg-type]


Ranked = list[tuple[int, int, str, float]]  # (concept id, best exemplar id, name, similarity), best first


def rank(store: Store, vectors: np.ndarray, neighbours: int, model: str | None = None) -> list[Ranked]:
    """Per query vector: one row per concept (its best exemplar), best first, at most `neighbours`.

    One batched FAISS search for all vectors (the album re-matches 10^5 regions through here)."""
    return rank_with_floor(store, vectors, neighbours, model)[0]


def rank_with_floor(
    store: Store, vectors: np.ndarray, neighbours: int, model: str | None = None
) -> tuple[list[Ranked], np.ndarray]:
    """`rank`, plus per query the similarity of the last exemplar hit the ranking looked at (the
    `neighbours * 4`-th), or -inf while fewer exemplars exist: an exemplar less similar than that
    cannot change the query's ranking (the album's incremental re-match relies on it)."""
    index = store.index(model)
    floor = np.full(len(vectors), -np.inf, np.float32)
    if index.count == 0 or len(vectors) == 0:
        return [[] for _ in range(len(vectors))], floor
    sims, ids = index.search(np.atleast_2d(vectors), neighbours * 4)
    if sims.shape[1] == neighbours * 4:
        floor = np.where(ids[:, -1] >= 0, sims[:, -1], -np.inf).astype(np.float32)
    owner = exemplar_owners(store, sorted({int(i) for i in np.unique(ids) if i >= 0}))
    # vectorised (10^5 regions): each hit's concept, then the first hit per (region, concept) in
    # best-first order, then at most `neighbours` concepts per region
    known = np.array(sorted(owner), np.int64)
    at = np.clip(np.searchsorted(known, ids), 0, max(len(known) - 1, 0))
    hit = (ids >= 0) & (known[at] == ids) if len(known) else np.zeros(ids.shape, bool)
    concept_of = np.array([owner[int(e)][0] for e in known] or [0], np.int64)
    concepts = np.where(hit, concept_of[at], -1)
    rows, cols = np.nonzero(hit)  # row-major: per region, best first
    keys = rows * (int(concepts.max()) + 1) + concepts[rows, cols]
    _, first = np.unique(keys, return_index=True)
    first.sort()
    rows, cols = rows[first], cols[first]
    starts = np.searchsorted(rows, rows, side="left")
    keep = (np.arange(len(rows)) - starts) < neighbours
    rows, cols = rows[keep], cols[keep]
    ranked: list[Ranked] = [[] for _ in range(len(ids))]
    for r, eid, sim in zip(rows.tolist(), ids[rows, cols].tolist(), sims[rows, cols].tolist(), strict=True):
        cid, name = owner[eid]
        ranked[r].append((cid, eid, name, sim))
    return ranked, floor


class Negatives:
    """Rejected (region embedding, concept) pairs for one embedding model, grouped by concept."""

    def __init__(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.by_concept = {int(c): vectors[ids == c] for c in np.unique(ids)} if len(ids) else {}

    @classmethod
    def load(cls, store: Store, model: str) -> Negatives:
        return cls(*photos.negatives(store, model))

    def similarity(self, concept_id: int, vector: np.ndarray) -> float | None:
        """The closest rejected example of this concept to `vector`, or None when it has none."""
        found = self.by_concept.get(concept_id)
        return None if found is None else float((found @ vector).max())


def verdict(status: str | None, negative: float | None, similarity: float, threshold: float) -> str:
    """What one (region, concept) pair is worth on its own: the user's word, then a rejected
    example at least as close, then the threshold."""
    if status == "confirmed":
        return CONFIRMED
    if status in ("rejected", "reassigned"):
        return REJECTED
    if negative is not None and negative + TIE >= similarity:
        return SUPPRESSED
    return BELOW if similarity < threshold else ACCEPTED


def decide(
    stored: Sequence[photos.StoredRegion],
    ranked: Sequence[Ranked],
    threshold: float,
    manual: dict[tuple[int, int], str],
    negatives: Negatives,
) -> list[RegionResult]:
    """The decisions for one photo's regions: the user's word first, then negatives, threshold,
    and one concept per region, one region per concept, best similarity first."""
    # first pass: what each (region, concept) pair is worth on its own
    verdicts: dict[tuple[int, int], tuple[str, float | None]] = {}
    for region, rows in zip(stored, ranked, strict=True):
        for concept_id, _, _, similarity in rows:
            negative = negatives.similarity(concept_id, region.vector)
            verdicts[(region.id, concept_id)] = (
                verdict(manual.get((region.id, concept_id)), negative, similarity, threshold),
                negative,
            )
    # second pass: one concept per region, one region per concept, best similarity first
    eligible = sorted(
        (
            (region.id, row)
            for region, rows in zip(stored, ranked, strict=True)
            for row in rows
            if verdicts[(region.id, row[0])][0] in (ACCEPTED, CONFIRMED)
        ),
        key=lambda item: (verdicts[(item[0], item[1][0])][0] != CONFIRMED, -item[1][3]),
    )
    held_regions: set[int] = set()
    held_concepts: set[int] = set()
    for region_id, row in eligible:
        key = (region_id, row[0])
        if region_id in held_regions:
            verdicts[key] = (LOWER, verdicts[key][1])
        elif row[0] in held_concepts:
            verdicts[key] = (TAKEN, verdicts[key][1])
        else:
            held_regions.add(region_id)
            held_concepts.add(row[0])
    return [
        RegionResult(
            region.name,
            region.id,
            region.box,
            region.label,
            region.score,
            region.source,
            tuple(Candidate(name, cid, eid, sim, *verdicts[(region.id, cid)]) for cid, eid, name, sim in rows),
            region.vector,
        )
        for region, rows in zip(stored, ranked, strict=True)
    ]


def match_status(candidate: Candidate) -> str:
    """The matches-table status a decision is stored with (manual decisions keep theirs)."""
    return {CONFIRMED: "confirmed", REJECTED: "rejected"}.get(candidate.decision, "auto")


def result_dict(result: RetrievalResult) -> dict:
    """The `retrieve --json` document (CLI.md)."""
    return {
        "photo": result.photo,
        "model": result.model,
        "threshold": result.threshold,
        "regions": [
            {
                "id": r.id,
                "box": [round(v, 1) for v in r.box],
                "label": r.label,
                "score": round(r.score, 4),
                "source": r.source,
                "matches": [
                    {
                        "concept": c.concept,
                        "similarity": round(c.similarity, 4),
                        "accepted": c.accepted,
                        "decision": c.decision,
                        **(
                            {"negative_similarity": round(c.negative_similarity, 4)}
                            if c.negative_similarity is not None
                            else {}
                        ),
                    }
                    for c in r.candidates
                ],
            }
            for r in result.regions
        ],
        "concepts": [
            {"name": c.name, "reason": c.reason, **({"region": c.region} if c.region else {})} for c in result.concepts
        ],
    }
