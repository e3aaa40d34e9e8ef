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


def _load(store: Store, model: str) -> list[StoredRegion]:
    rows = store.conn.execute(
        "SELECT id, photo_id, ordinal, x1, y1, x2, y2, label, score, source, vector FROM regions "
        "WHERE model = ? AND vector IS NOT NULL ORDER BY photo_id, ordinal",
        (model,),
    ).fetchall()
    return [
        StoredRegion(
            r[0], r[1], r[2], (r[3], r[4], r[5], r[6]), r[7] or "", r[8] or 0.0, r[9], np.frombuffer(r[10], np.float32)
        )
        for r in rows
    ]


def rematch(store: Store, model: str, threshold: float, neighbours: int = 5) -> RematchReport:
    clock: dict[str, float] = {}
    start = tick = time.perf_counter()
    regions = _load(store, model)
    clock["load"] = time.perf_counter() - tick
    if not regions:
        return RematchReport(0, 0, 0, 0, time.perf_counter() - start, clock)
    tick = time.perf_counter()
    ranked = rank(store, np.stack([r.vector for r in regions]), neighbours, model)
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
    rows = []
    photos = 0
    begin = 0
    while begin < len(regions):  # regions are sorted by photo: decide one photo at a time
        end = begin
        while end < len(regions) and regions[end].photo_id == regions[begin].photo_id:
            end += 1
        for result in decide(regions[begin:end], ranked[begin:end], threshold, manual, negatives):
            rows += [
                (result.db_id, c.concept_id, c.similarity, match_status(c), int(c.accepted)) for c in result.candidates
            ]
        photos += 1
        begin = end
    clock["decide"] = time.perf_counter() - tick
    tick = time.perf_counter()
    changed = _save(store, model, rows)
    clock["write"] = time.perf_counter() - tick
    accepted = sum(row[4] for row in rows)
    return RematchReport(len(regions), photos, accepted, changed, time.perf_counter() - start, clock)


def _save(store: Store, model: str, rows: list[tuple]) -> int:
    """Replace the automatic matches of the model's regions (one transaction); returns how many
    accepted (region, concept) pairs changed."""
    in_model = "SELECT id FROM regions WHERE model = ?"
    with store._write():
        before = set(
            store.conn.execute(
                f"SELECT region_id, concept_id FROM matches WHERE accepted = 1 AND region_id IN ({in_model})", (model,)
            ).fetchall()
        )
        store.conn.execute(f"DELETE FROM matches WHERE status = 'auto' AND region_id IN ({in_model})", (model,))
        store.conn.executemany(
            "INSERT INTO matches(region_id, concept_id, similarity, status, accepted) VALUES (?,?,?,?,?) "
            "ON CONFLICT(region_id, concept_id) DO UPDATE SET similarity = excluded.similarity, "
            "accepted = excluded.accepted",
            rows,
        )
    after = {(r[0], r[1]) for r in rows if r[4]}
    return len(before ^ after)


def after_change(session) -> RematchReport | None:
    """Re-match the album after a concept or correction change (the CLI and the GUI call this).
    None when nothing is stored to re-match."""
    store = session.store()
    model = session.embedder.model_id
    if not store.conn.execute("SELECT 1 FROM regions WHERE model = ? LIMIT 1", (model,)).fetchone():
        return None
    threshold, _ = session.retrieval_settings()
    return rematch(store, model, threshold)
