"""Photos seen by retrieval, their regions (box + crop embedding) and the matches proposed for them.

Regions are kept so that a photo looked at again needs no detector or encoder run, corrections
can name a region (`r1`, `r2`, ... per photo), and later album features can re-match from stored
embeddings. Rows only; the decisions are made in retrieval.py.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .errors import NotFoundError
from .regions import Box, Proposal
from .store import Store

MANUAL = ("confirmed", "rejected", "reassigned")


@dataclass(frozen=True)
class StoredRegion:
    id: int
    photo_id: int
    ordinal: int
    box: Box
    label: str
    score: float
    source: str
    vector: np.ndarray = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"r{self.ordinal}"


@dataclass(frozen=True)
class StoredMatch:
    region_id: int
    concept_id: int
    similarity: float
    status: str
    accepted: bool


def photo_id(store: Store, sha256: str, path: str | None, size: tuple[int, int]) -> int:
    """The photo's row id, adding it (or refreshing its path) as needed."""
    with store._write():
        row = store.conn.execute("SELECT id FROM photos WHERE sha256 = ?", (sha256,)).fetchone()
        if row:
            if path:
                store.conn.execute("UPDATE photos SET path = ? WHERE id = ?", (path, row[0]))
            return int(row[0])
        cur = store.conn.execute(
            "INSERT INTO photos(sha256, path, width, height, added) VALUES (?,?,?,?,?)",
            (sha256, path, size[0], size[1], time.time()),
        )
        return int(cur.lastrowid)


def find_photo(store: Store, ref: str) -> tuple[int, str, str | None]:
    """(id, sha256, path) of a photo given by content hash (or a unique prefix of one) or path."""
    rows = store.conn.execute(
        "SELECT id, sha256, path FROM photos WHERE sha256 = ? OR path = ?", (ref.lower(), ref)
    ).fetchall()
    if not rows and len(ref) >= 8:
        rows = store.conn.execute(
            "SELECT id, sha256, path FROM photos WHERE sha256 LIKE ?", (ref.lower() + "%",)
        ).fetchall()
    if len(rows) != 1:
        raise NotFoundError(f"no retrieved photo {ref!r}; run `rap-desktop retrieve` on it first")
    return rows[0]


def _region(row: tuple) -> StoredRegion:
    rid, pid, ordinal, x1, y1, x2, y2, label, score, source, blob = row
    vector = np.frombuffer(blob, np.float32) if blob else np.zeros(0, np.float32)
    return StoredRegion(rid, pid, ordinal, (x1, y1, x2, y2), label or "", score or 0.0, source, vector)


_REGION_COLUMNS = "id, photo_id, ordinal, x1, y1, x2, y2, label, score, source, vector"


def regions(store: Store, photo: int, model: str, detector: str | None = None) -> list[StoredRegion]:
    """The photo's regions embedded by `model`; with `detector`, only if that detector (and
    prompts) made them. Regions the user drew go with whichever detector run they joined."""
    rows = store.conn.execute(
        f"SELECT {_REGION_COLUMNS} FROM regions WHERE photo_id = ? AND model = ? ORDER BY ordinal", (photo, model)
    ).fetchall()
    if detector is not None:
        made_by = {
            r[0] for r in store.conn.execute("SELECT DISTINCT detector FROM regions WHERE photo_id = ?", (photo,))
        } - {None}
        if made_by != {detector}:
            return []
    return [_region(r) for r in rows]


def region(store: Store, photo: int, name: str) -> StoredRegion:
    ordinal = name[1:] if name.lower().startswith("r") else name
    row = store.conn.execute(
        f"SELECT {_REGION_COLUMNS} FROM regions WHERE photo_id = ? AND ordinal = ?",
        (photo, int(ordinal) if ordinal.isdigit() else -1),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"the photo has no region {name!r}")
    return _region(row)


def replace_regions(
    store: Store, photo: int, proposals: Sequence[Proposal], vectors: np.ndarray, model: str, detector: str | None
) -> list[StoredRegion]:
    """Store fresh regions for the photo (old ones and their automatic matches go)."""
    with store._write():
        store.conn.execute("DELETE FROM regions WHERE photo_id = ?", (photo,))
        for ordinal, (p, vector) in enumerate(zip(proposals, vectors, strict=True), 1):
            store.conn.execute(
                "INSERT INTO regions(photo_id, ordinal, x1, y1, x2, y2, label, score, source, detector, model, vector) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    photo,
                    ordinal,
                    *p.box,
                    p.label,
                    p.score,
                    p.source,
                    detector,
                    model,
                    np.asarray(vector, np.float32).tobytes(),
                ),
            )
    return regions(store, photo, model)


def add_region(store: Store, photo: int, proposal: Proposal, vector: np.ndarray, model: str) -> StoredRegion:
    """A region the user drew (a box the detector missed)."""
    with store._write():
        ordinal = store.conn.execute(
            "SELECT COALESCE(MAX(ordinal), 0) + 1 FROM regions WHERE photo_id = ?", (photo,)
        ).fetchone()[0]
        store.conn.execute(
            "INSERT INTO regions(photo_id, ordinal, x1, y1, x2, y2, label, score, source, model, vector) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                photo,
                ordinal,
                *proposal.box,
                proposal.label,
                proposal.score,
                proposal.source,
                model,
                np.asarray(vector, np.float32).tobytes(),
            ),
        )
    return region(store, photo, f"r{ordinal}")


def manual_statuses(store: Store, region_ids: Sequence[int]) -> dict[tuple[int, int], str]:
    """(region, concept) -> confirmed | rejected | reassigned, for what the user decided."""
    if not region_ids:
        return {}
    marks = ",".join("?" * len(region_ids))
    rows = store.conn.execute(
        f"SELECT region_id, concept_id, status FROM matches WHERE status != 'auto' AND region_id IN ({marks})",
        list(region_ids),
    ).fetchall()
    return {(r, c): s for r, c, s in rows}


def save_matches(store: Store, rows: Sequence[StoredMatch]) -> None:
    """Replace the automatic matches of these regions; the user's decisions stay."""
    region_ids = sorted({m.region_id for m in rows})
    with store._write():
        for rid in region_ids:
            store.conn.execute("DELETE FROM matches WHERE region_id = ? AND status = 'auto'", (rid,))
        for m in rows:
            store.conn.execute(
                "INSERT INTO matches(region_id, concept_id, similarity, status, accepted) VALUES (?,?,?,?,?) "
                "ON CONFLICT(region_id, concept_id) DO UPDATE SET similarity = excluded.similarity, "
                "accepted = excluded.accepted",
                (m.region_id, m.concept_id, m.similarity, m.status, int(m.accepted)),
            )


def negatives(store: Store, model: str) -> tuple[np.ndarray, np.ndarray]:
    """(concept ids, vectors) of every rejected (region, concept) pair for this embedding model."""
    rows = store.conn.execute("SELECT concept_id, vector FROM negatives WHERE model = ?", (model,)).fetchall()
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    return np.array([r[0] for r in rows], np.int64), np.stack([np.frombuffer(r[1], np.float32) for r in rows])
