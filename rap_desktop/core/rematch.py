"""Re-match every stored region from its stored embedding: no detector or encoder run.

Called after anything that can change a decision: a concept added, edited or removed, an exemplar
added, a correction made or undone. All region vectors of the current embedder are ranked against
the concept index in one batched FAISS search, then each photo's regions go through the same
decision function as retrieval (threshold, negatives, one slot per concept); the user's own
decisions (confirmed, rejected, reassigned) are inputs, never overwritten.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import region_vectors
from .photos import StoredRegion
from .retrieval import Negatives, decide, match_status, rank
from .store import Store


@dataclass(frozen=True)
class RematchReport:
    regions: int
    photos: int
    accepted: int  # (region, concept) pairs accepted after
    changed: int  # accepted pairs that appeared or went
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    written: int = 0  # match rows inserted, updated or deleted


def rematch(store: Store, model: str, threshold: float, neighbours: int = 5) -> RematchReport:
    clock: dict[str, float] = {}
    start = tick = time.perf_counter()
    matrix = region_vectors.load(store, model)
    clock["load"] = time.perf_counter() - tick
    if not len(matrix.rows):
        return RematchReport(0, 0, 0, 0, time.perf_counter() - start, clock)
    tick = time.perf_counter()
    ranked = rank(store, matrix.vectors, neighbours, model)
    clock["search"] = time.perf_counter() - tick
    tick = time.perf_counter()
    manual = {
        (r, c): s
        for r, c, s in store.conn.execute(
            "SELECT m.region_id, m.concept_id, m.status FROM matches m JOIN regions g ON g.id = m.region_id "
            "WHERE m.status != 'auto' AND g.model = ?",
            (model,),
        )
    }
    negatives = Negatives.load(store, model)
    order = np.argsort(matrix.photo_ids, kind="stable")  # decide one photo at a time
    bounds = np.flatnonzero(np.diff(matrix.photo_ids[order])) + 1
    rows = []
    box = (0.0, 0.0, 0.0, 0.0)  # decisions do not look at boxes
    for group in np.split(order, bounds):
        stored = [
            StoredRegion(int(rid), int(pid), int(ordinal), box, "", 0.0, "", matrix.vectors[i])
            for i, (rid, pid, ordinal) in zip(group.tolist(), matrix.rows[group].tolist(), strict=True)
        ]
        for result in decide(stored, [ranked[i] for i in group], threshold, manual, negatives):
            rows += [
                (result.db_id, c.concept_id, c.similarity, match_status(c), int(c.accepted)) for c in result.candidates
            ]
    clock["decide"] = time.perf_counter() - tick
    tick = time.perf_counter()
    changed, written = _save(store, model, rows)
    clock["write"] = time.perf_counter() - tick
    accepted = sum(row[4] for row in rows)
    return RematchReport(
        len(matrix.rows), len(bounds) + 1, accepted, changed, time.perf_counter() - start, clock, written
    )


def _save(store: Store, model: str, rows: list[tuple]) -> tuple[int, int]:
    """Bring the model's matches in line with `rows` in one transaction, writing only what differs
    (after a single edit most decisions are unchanged). Returns (accepted pairs that changed, rows written)."""
    in_model = "SELECT id FROM regions WHERE model = ?"
    with store._write():
        existing = {
            (r, c): (sim, status, accepted)
            for r, c, sim, status, accepted in store.conn.execute(
                "SELECT region_id, concept_id, similarity, status, accepted FROM matches "
                f"WHERE region_id IN ({in_model})",
                (model,),
            )
        }
        wanted = {(r[0], r[1]) for r in rows}
        stale = [key for key, (_, status, _) in existing.items() if status == "auto" and key not in wanted]
        store.conn.executemany("DELETE FROM matches WHERE region_id = ? AND concept_id = ?", stale)
        fresh = []
        for row in rows:
            old = existing.get((row[0], row[1]))
            if old is None or old[2] != row[4] or abs(old[0] - row[2]) > 1e-6:
                fresh.append(row)
        store.conn.executemany(
            "INSERT INTO matches(region_id, concept_id, similarity, status, accepted) VALUES (?,?,?,?,?) "
            "ON CONFLICT(region_id, concept_id) DO UPDATE SET similarity = excluded.similarity, "
            "accepted = excluded.accepted",
            fresh,
        )
    before = {key for key, (_, _, accepted) in existing.items() if accepted}
    after = {(r[0], r[1]) for r in rows if r[4]}
    return len(before ^ after), len(stale) + len(fresh)


def after_change(session) -> RematchReport | None:
    """Re-match the album after a concept or correction change (the CLI and the GUI call this).
    None when nothing is stored to re-match."""
    store = session.store()
    model = session.embedder.model_id
    if not store.conn.execute("SELECT 1 FROM regions WHERE model = ? LIMIT 1", (model,)).fetchone():
        return None
    threshold, _ = session.retrieval_settings()
    return rematch(store, model, threshold)
