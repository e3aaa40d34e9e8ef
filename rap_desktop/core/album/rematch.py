"""Re-match stored regions from their stored embeddings: no detector or encoder run.

Called after anything that can change a decision: a concept added, edited or removed, an exemplar
added, a correction made or undone. `rematch` is the full pass: every region of the model is ranked
against the concept index in one batched FAISS search, then each photo's regions go through the
same decision function as retrieval (threshold, negatives, one slot per concept); the user's own
decisions (confirmed, rejected, reassigned) are inputs, never overwritten. `update` gives the same
rows by re-deciding only what changed since the last pass (`rematch_state` records its inputs):

- an exemplar added, removed or changed can only alter the ranking of a region if it is at least as
  similar as the region's last ranked concept (or, with fewer ranked, the last exemplar hit its
  ranking looked at): a reverse search of the changed vectors against the region matrix finds those
  regions, and they are searched again;
- a region whose ranking changed only among pairs that cannot take a slot (below the threshold,
  suppressed, rejected) keeps its slot, so only its own rows change; one whose eligible pairs
  changed, or that ranks a concept at or above the threshold no closer than a negative of it added
  or removed, or with a decision of the user's changed, or new, or gone, or holding rows of a
  concept that came back, is re-decided with its whole photo (slots compete within a photo);
- the full pass stays for a new threshold, a new model, an approximate (IVF) concept index, a lost
  record, a change that reaches much of the album, and as the check (`rap-desktop rematch --full`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import faiss
import numpy as np

from ..retrieval import (
    ACCEPTED,
    CONFIRMED,
    TAKEN,
    TIE,
    Candidate,
    Negatives,
    Ranked,
    decide,
    match_status,
    rank_with_floor,
    verdict,
)
from ..store import Store, matches
from ..store.photos import StoredRegion, has_regions
from . import region_vectors, rematch_state
from .rematch_state import Inputs, Record, Regions

MARGIN = 1e-4  # numpy and FAISS round differently: a region this close to a bound is looked at again
SAME = 1e-6  # similarities closer than this are the same (as when writing rows)
FULL_SHARE = 0.3  # past this share of the regions to search again, one full pass is as quick
ELIGIBLE = (ACCEPTED, CONFIRMED)


@dataclass(frozen=True)
class RematchReport:
    regions: int
    photos: int
    accepted: int  # (region, concept) pairs accepted after
    changed: int  # accepted pairs that appeared or went
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    written: int = 0  # match rows inserted, updated or deleted
    full: bool = True  # every region re-decided (False: only what the change could affect)
    redecided: int = 0  # regions whose rows were decided again
    searched: int = 0  # regions ranked again (FAISS search)


def rematch(store: Store, model: str, threshold: float, neighbours: int = 5) -> RematchReport:
    """The full pass: every region of `model` ranked and decided again."""
    clock: dict[str, float] = {}
    start = tick = time.perf_counter()
    matrix = region_vectors.load(store, model)
    clock["load"] = time.perf_counter() - tick
    if not len(matrix.rows):
        rematch_state.forget(store, model)
        return RematchReport(0, 0, 0, 0, time.perf_counter() - start, clock)
    tick = time.perf_counter()
    inputs = Inputs.read(store, model)  # before the search: a change meanwhile is seen by the next update
    ranked, floor = rank_with_floor(store, matrix.vectors, neighbours, model)
    clock["search"] = time.perf_counter() - tick
    tick = time.perf_counter()
    order = np.argsort(matrix.photo_ids, kind="stable")  # decide one photo at a time
    bounds = np.flatnonzero(np.diff(matrix.photo_ids[order])) + 1
    held = np.full(len(matrix.rows), -1, np.int64)
    rows = _decide_photos(matrix, np.split(order, bounds), ranked, threshold, inputs, held)
    clock["decide"] = time.perf_counter() - tick
    tick = time.perf_counter()
    rematch_state.forget(store, model)  # rows and record change together: a crash between means a full pass
    changed, written = _save(store, model, rows)
    clock["write"] = time.perf_counter() - tick
    concepts, sims = _arrays(ranked, neighbours)
    regions = Regions(matrix.ids.copy(), matrix.photo_ids.copy(), floor, concepts, sims, held)
    rematch_state.save(store, Record(model, threshold, neighbours, inputs, regions))
    clock["record"] = time.perf_counter() - tick - clock["write"]
    accepted = sum(row[4] for row in rows)
    return RematchReport(
        len(matrix.rows),
        len(bounds) + 1,
        accepted,
        changed,
        time.perf_counter() - start,
        clock,
        written,
        True,
        len(matrix.rows),
        len(matrix.rows),
    )


def update(
    store: Store, model: str, threshold: float, neighbours: int = 5, full_share: float = FULL_SHARE
) -> RematchReport:
    """The rows `rematch` would write, deciding again only what changed since the last pass can
    affect (a full pass when there is no usable record of it, or when more than `full_share` of the
    regions would be searched again)."""
    clock: dict[str, float] = {}
    start = tick = time.perf_counter()
    record = rematch_state.load(store, model)
    matrix = region_vectors.load(store, model)
    index = store.index(model)
    if (
        record is None
        or not len(matrix.rows)
        or not len(record.regions.ids)
        or not record.fits(model, threshold, neighbours, matrix.vectors.shape[1])
        or not isinstance(index.index, faiss.IndexIDMap2)  # approximate search: no exact floor
    ):
        return rematch(store, model, threshold, neighbours)
    inputs = Inputs.read(store, model)
    clock["load"] = time.perf_counter() - tick
    tick = time.perf_counter()
    regions, photos = _align(record.regions, matrix)
    photos = np.union1d(photos, _changed_photos(store, matrix, regions, record.inputs, inputs, threshold))
    in_photos = np.isin(matrix.photo_ids, photos)
    candidates = _candidates(matrix, _bound(regions), record.inputs, inputs, neighbours) & ~in_photos
    if np.count_nonzero(candidates | in_photos) > full_share * len(matrix.rows):
        return rematch(store, model, threshold, neighbours)
    clock["plan"] = time.perf_counter() - tick
    tick = time.perf_counter()
    work = _Work(store, model, neighbours, matrix, regions)
    work.search(np.flatnonzero(candidates | in_photos))
    clock["search"] = time.perf_counter() - tick
    tick = time.perf_counter()
    negatives = Negatives(inputs.negatives.concepts, inputs.negatives.vectors)
    rows, more, changed = _region_rows(work, np.flatnonzero(candidates), threshold, inputs.manual, negatives)
    if len(more):  # regions whose eligible pairs changed: their whole photos, searched first
        photos = np.union1d(photos, more)
        extra = np.isin(matrix.photo_ids, more)
        work.search(np.flatnonzero(extra & ~in_photos & ~candidates))
        in_photos |= extra
        rows = [r for r in rows if not in_photos[work.position(r[0])]]
    positions = np.flatnonzero(in_photos)
    order = positions[np.argsort(matrix.photo_ids[positions], kind="stable")]
    groups = np.split(order, np.flatnonzero(np.diff(matrix.photo_ids[order])) + 1) if len(order) else []
    rows += _decide_photos(matrix, groups, work.ranked, threshold, inputs, work.held)
    clock["decide"] = time.perf_counter() - tick
    tick = time.perf_counter()
    changed = changed[~in_photos[changed]]
    touched = sorted(set(matrix.ids[changed].tolist()) | set(matrix.ids[positions].tolist()))
    rematch_state.forget(store, model)  # rows and record change together: a crash between means a full pass
    changed, written = _save(store, model, rows, touched)
    clock["write"] = time.perf_counter() - tick
    tick = time.perf_counter()
    rematch_state.save(store, record.renewed(inputs, work.regions()))
    clock["record"] = time.perf_counter() - tick
    return RematchReport(
        len(matrix.rows),
        _photo_count(matrix),
        int(np.count_nonzero(work.held >= 0)),
        changed,
        time.perf_counter() - start,
        clock,
        written,
        False,
        len(touched),
        work.searched,
    )


class _Work:
    """The aligned per-region record, updated in place by new searches and decisions."""

    def __init__(self, store: Store, model: str, neighbours: int, matrix, regions: Regions) -> None:
        self.store, self.model, self.neighbours, self.matrix = store, model, neighbours, matrix
        self.floor = regions.floor.copy()
        self.concepts, self.sims = regions.concepts.copy(), regions.sims.copy()
        self.old_concepts, self.old_sims = regions.concepts, regions.sims
        self.held = regions.held.copy()
        self.ranked: dict[int, Ranked] = {}
        self.searched = 0

    def search(self, positions: np.ndarray) -> None:
        if not len(positions):
            return
        self.searched += len(positions)
        ranked, floor = rank_with_floor(self.store, self.matrix.vectors[positions], self.neighbours, self.model)
        self.floor[positions] = floor
        self.concepts[positions], self.sims[positions] = _arrays(ranked, self.neighbours)
        self.ranked.update(zip(positions.tolist(), ranked, strict=True))

    def position(self, region_id: int) -> int:
        return int(np.searchsorted(self.matrix.ids, region_id))

    def regions(self) -> Regions:
        ids, photos = self.matrix.ids.copy(), self.matrix.photo_ids.copy()
        return Regions(ids, photos, self.floor, self.concepts, self.sims, self.held)


def _decide_photos(matrix, groups, ranked, threshold: float, inputs: Inputs, held: np.ndarray) -> list[tuple]:
    """Rows for every region of these photos (positions in the matrix, grouped by photo); the concept
    each region holds goes to `held`."""
    negatives = Negatives(inputs.negatives.concepts, inputs.negatives.vectors)
    box = (0.0, 0.0, 0.0, 0.0)  # decisions do not look at boxes
    rows = []
    for group in groups:
        stored = [
            StoredRegion(int(rid), int(pid), int(ordinal), box, "", 0.0, "", matrix.vectors[i])
            for i, (rid, pid, ordinal) in zip(group.tolist(), matrix.rows[group].tolist(), strict=True)
        ]
        for i, result in zip(
            group.tolist(),
            decide(stored, [ranked[i] for i in group.tolist()], threshold, inputs.manual, negatives),
            strict=True,
        ):
            taken = result.accepted
            held[i] = taken.concept_id if taken is not None else -1
            rows += [
                (result.db_id, c.concept_id, c.similarity, match_status(c), int(c.accepted)) for c in result.candidates
            ]
    return rows


def _region_rows(
    work: _Work, positions: np.ndarray, threshold: float, manual, negatives
) -> tuple[list, np.ndarray, np.ndarray]:
    """Rows of regions searched again whose ranking changed but whose eligible pairs did not (they
    keep their slot); the photos of those whose eligible pairs changed (decided whole); and the
    positions of all whose ranking changed (their rows are replaced, even by none)."""
    if not len(positions):
        return [], np.zeros(0, np.int64), positions
    same = (work.concepts[positions] == work.old_concepts[positions]).all(1) & (
        np.abs(work.sims[positions] - work.old_sims[positions]) <= SAME
    ).all(1)
    changed = positions[~same]
    plain = _plain(work, changed, threshold, manual)
    rows = _plain_rows(work, changed[plain])
    photos: list[int] = []
    matrix = work.matrix
    for i in changed[~plain].tolist():
        region_id, vector = int(matrix.ids[i]), matrix.vectors[i]
        old = [(int(c), float(s)) for c, s in zip(work.old_concepts[i], work.old_sims[i], strict=True) if c >= 0]
        new = [(cid, sim) for cid, _, _, sim in work.ranked[i]]
        before = _eligible(region_id, vector, old, threshold, manual, negatives)
        after = _eligible(region_id, vector, new, threshold, manual, negatives)
        if len(before) != len(after) or any(
            a[:2] != b[:2] or abs(a[2] - b[2]) > SAME for a, b in zip(before, after, strict=True)
        ):
            photos.append(int(matrix.photo_ids[i]))
            continue
        for cid, eid, name, sim in work.ranked[i]:
            worth = verdict(manual.get((region_id, cid)), negatives.similarity(cid, vector), sim, threshold)
            kept = worth in ELIGIBLE and cid == work.held[i]
            decision = TAKEN if worth in ELIGIBLE and not kept else worth  # a slot it does not hold: auto
            rows.append((region_id, cid, sim, match_status(Candidate(name, cid, eid, sim, decision)), int(kept)))
    return rows, np.unique(np.array(photos, np.int64)), changed


def _plain(work: _Work, positions: np.ndarray, threshold: float, manual) -> np.ndarray:
    """Regions with nothing that can take a slot, before or after: no decision of the user's, no held
    concept, every ranked similarity below the threshold (below it, suppressed or not, a pair is
    stored as automatic and not accepted). Most regions a change reaches are such."""
    decided = np.array(sorted({r for r, _ in manual}), np.int64)
    below = np.where(work.concepts[positions] >= 0, work.sims[positions], -np.inf).max(1, initial=-np.inf) < threshold
    was = np.where(work.old_concepts[positions] >= 0, work.old_sims[positions], -np.inf).max(1, initial=-np.inf)
    return below & (was < threshold) & (work.held[positions] < 0) & ~np.isin(work.matrix.ids[positions], decided)


def _plain_rows(work: _Work, positions: np.ndarray) -> list[tuple]:
    """`_plain` regions' rows: each ranked concept, automatic, not accepted."""
    at, slot = np.nonzero(work.concepts[positions] >= 0)
    ids = work.matrix.ids[positions][at].tolist()
    concepts = work.concepts[positions][at, slot].tolist()
    sims = work.sims[positions][at, slot].tolist()
    return [(r, c, s, "auto", 0) for r, c, s in zip(ids, concepts, sims, strict=True)]


def _eligible(region_id: int, vector, pairs, threshold: float, manual, negatives) -> list[tuple[int, str, float]]:
    """The region's (concept, verdict, similarity) that compete for a slot, in ranked order."""
    out = []
    for cid, sim in pairs:
        worth = verdict(manual.get((region_id, cid)), negatives.similarity(cid, vector), sim, threshold)
        if worth in ELIGIBLE:
            out.append((cid, worth, sim))
    return out


def _align(old: Regions, matrix) -> tuple[Regions, np.ndarray]:
    """The record's per-region arrays in the matrix's order, and the photos with regions added or gone."""
    ids = matrix.ids
    if len(old.ids) == len(ids) and np.array_equal(old.ids, ids):
        return old, np.zeros(0, np.int64)
    at = np.clip(np.searchsorted(old.ids, ids), 0, len(old.ids) - 1)
    kept = old.ids[at] == ids
    gone = ~np.isin(old.ids, ids)
    photos = np.union1d(matrix.photo_ids[~kept], old.photos[gone])
    width = old.concepts.shape[1]
    aligned = Regions(
        ids.copy(),
        matrix.photo_ids.copy(),
        np.where(kept, old.floor[at], -np.inf).astype(np.float32),
        np.where(kept[:, None], old.concepts[at], -1).reshape(-1, width),
        np.where(kept[:, None], old.sims[at], 0.0).astype(np.float32).reshape(-1, width),
        np.where(kept, old.held[at], -1),
    )
    return aligned, photos


def _changed_photos(store: Store, matrix, ranked: Regions, old: Inputs, new: Inputs, threshold: float) -> np.ndarray:
    """Photos to decide whole: a decision of the user's changed, a negative added or removed can
    change a verdict in one of their regions, or a concept came back with match rows (a removal undone)."""
    regions = {
        r
        for key in old.manual.keys() | new.manual.keys()
        if old.manual.get(key) != new.manual.get(key)
        for r in (key[0],)
    }
    regions |= matches.regions_matching(store, sorted(new.concepts - old.concepts))
    ids = np.array(sorted(regions), np.int64)
    at = np.clip(np.searchsorted(matrix.ids, ids), 0, len(matrix.ids) - 1)
    photos = [matrix.photo_ids[at[matrix.ids[at] == ids]]]
    moved = old.negatives.changed(new.negatives)
    if len(moved.ids):
        photos.append(matrix.photo_ids[_suppressible(matrix, ranked, moved, threshold)])
    return np.unique(np.concatenate(photos))


def _suppressible(matrix, ranked: Regions, negatives: rematch_state.Vectors, threshold: float) -> np.ndarray:
    """Regions where a negative added or removed can change a verdict: it ranks the negative's concept
    at or above the threshold, and the negative is as close (TIE) or closer. Checked against the
    recorded ranking: a pair that enters a ranking now is judged with today's negatives anyway."""
    out = np.zeros(len(matrix.rows), bool)
    for start in range(0, len(negatives.ids), 64):
        sims = matrix.vectors @ np.ascontiguousarray(negatives.vectors[start : start + 64].T, np.float32)
        for j, concept in enumerate(negatives.concepts[start : start + 64].tolist()):
            near = np.flatnonzero(sims[:, j] + TIE >= threshold - MARGIN)  # below it no pair can be accepted
            pairs = (ranked.concepts[near] == concept) & (ranked.sims[near] >= threshold - MARGIN)
            out[near[(pairs & (sims[near, j, None] + TIE >= ranked.sims[near] - MARGIN)).any(1)]] = True
    return out


def _bound(regions: Regions) -> np.ndarray:
    """Per region, the similarity below which an exemplar added or removed cannot change its ranking.

    With all `neighbours` concepts ranked: the last one's (an exemplar below it comes after the first
    hit of every ranked concept, so it adds no concept, raises none, and pushes out only hits below
    it). With fewer: the last exemplar hit the ranking looked at (its floor; -inf while fewer
    exemplars exist than it looks at), since any hit of another concept above it would be ranked."""
    full = regions.concepts[:, -1] >= 0
    return np.where(full, regions.sims[:, -1], regions.floor).astype(np.float32)


def _candidates(matrix, bound: np.ndarray, old: Inputs, new: Inputs, neighbours: int) -> np.ndarray:
    """Regions whose ranking an added, removed or changed exemplar can alter (`_bound`; every region
    while fewer exemplars exist than a ranking looks at)."""
    moved = old.exemplars.changed(new.exemplars).vectors
    if not len(moved):
        return np.zeros(len(matrix.rows), bool)
    if min(len(old.exemplars.ids), len(new.exemplars.ids)) < neighbours * 4:
        return np.ones(len(matrix.rows), bool)
    return _reaches(matrix.vectors, moved, bound)


def _reaches(vectors: np.ndarray, queries: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """Rows of `vectors` at least `bound` (per row, less MARGIN) similar to any of `queries`."""
    out = np.zeros(len(vectors), bool)
    for start in range(0, len(queries), 64):
        sims = vectors @ np.ascontiguousarray(queries[start : start + 64].T, np.float32)
        out |= (sims >= (bound - MARGIN)[:, None]).any(1)
    return out


def _arrays(ranked: Sequence[Ranked], neighbours: int) -> tuple[np.ndarray, np.ndarray]:
    concepts = np.full((len(ranked), neighbours), -1, np.int64)
    sims = np.zeros((len(ranked), neighbours), np.float32)
    for i, rows in enumerate(ranked):
        for j, (cid, _, _, sim) in enumerate(rows):
            concepts[i, j], sims[i, j] = cid, sim
    return concepts, sims


_PHOTOS: dict[str, int] = {}


def _photo_count(matrix) -> int:
    if matrix.key not in _PHOTOS:
        _PHOTOS.clear()
        _PHOTOS[matrix.key] = len(np.unique(matrix.photo_ids))
    return _PHOTOS[matrix.key]


def _save(store: Store, model: str, rows: list[tuple], regions: Sequence[int] | None = None) -> tuple[int, int]:
    """Bring the matches of `regions` (default: all of the model's) in line with `rows` in one
    transaction, writing only what differs (after a single edit most decisions are unchanged).
    Returns (accepted pairs that changed, rows written)."""
    with store.transaction():
        existing = {
            (r, c): (sim, status, accepted) for r, c, sim, status, accepted in matches.match_rows(store, model, regions)
        }
        wanted = {(r[0], r[1]) for r in rows}
        stale = [key for key, (_, status, _) in existing.items() if status == "auto" and key not in wanted]
        matches.delete_matches(store, stale)
        fresh = []
        for row in rows:
            old = existing.get((row[0], row[1]))
            if old is None or old[2] != row[4] or abs(old[0] - row[2]) > SAME:
                fresh.append(row)
        matches.upsert_matches(store, fresh)
    before = {key for key, (_, _, accepted) in existing.items() if accepted}
    after = {(r[0], r[1]) for r in rows if r[4]}
    return len(before ^ after), len(stale) + len(fresh)


def after_change(session, full: bool = False) -> RematchReport | None:
    """Re-match the album after a concept or correction change (the CLI and the GUI call this):
    only what the change can affect, or every region with `full`. None when nothing is stored."""
    store = session.store()
    model = session.embedder.model_id
    if not has_regions(store, model):
        return None
    threshold, _ = session.retrieval_settings()
    return (rematch if full else update)(store, model, threshold)
