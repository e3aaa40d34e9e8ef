"""Photos seen by retrieval, their regions (box + crop embedding) and the matches proposed for them.

Regions are kept so that a photo looked at again needs no detector or encoder run, corrections
can name a region (`r1`, `r2`, ... per photo), and later album features can re-match from stored
embeddings. Rows only (and `carry_plan`, which says which old region's rows move where); the
decisions are made in retrieval.py. Functions named `write_*` / `*_row` run inside the caller's
`store.transaction()`; the others that write open their own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import NotFoundError
from ..regions import USER, Box, Proposal, iou
from .base import Store

MANUAL = ("confirmed", "rejected", "reassigned")
CARRY_IOU = 0.5  # a decided region's decisions go to the new detection overlapping it at least this much


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
    with store.transaction():
        return photo_row(store, sha256, path, size)


def photo_row(store: Store, sha256: str, path: str | None, size: tuple[int, int]) -> int:
    """Inside a write: `photo_id`'s row."""
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


def known_photo(store: Store, sha256: str) -> int | None:
    """The id of the photo with this content hash, or None: a read, nothing is added."""
    row = store.conn.execute("SELECT id FROM photos WHERE sha256 = ?", (sha256,)).fetchone()
    return None if row is None else int(row[0])


def photo_sha256(store: Store, photo: int) -> str | None:
    """The content hash of photo `photo`, or None when it is gone."""
    row = store.conn.execute("SELECT sha256 FROM photos WHERE id = ?", (photo,)).fetchone()
    return None if row is None else row[0]


def photo_info(store: Store, photo_ids: Sequence[int]) -> dict[int, tuple[str, float | None]]:
    """photo id -> (sha256, taken) for each of these photos that exists."""
    out = {}
    for chunk in chunks(photo_ids):
        marks = ",".join("?" * len(chunk))
        for pid, sha, taken in store.conn.execute(f"SELECT id, sha256, taken FROM photos WHERE id IN ({marks})", chunk):
            out[pid] = (sha, taken)
    return out


def chunks(ids: Sequence[int], size: int = 900) -> list[list[int]]:
    """`ids` in pieces under SQLite's bound-parameter limit."""
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]


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


def region_from_row(row: tuple) -> StoredRegion:
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
    return [region_from_row(r) for r in rows]


def region(store: Store, photo: int, name: str) -> StoredRegion:
    ordinal = name[1:] if name.lower().startswith("r") else name
    row = store.conn.execute(
        f"SELECT {_REGION_COLUMNS} FROM regions WHERE photo_id = ? AND ordinal = ?",
        (photo, int(ordinal) if ordinal.isdigit() else -1),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"the photo has no region {name!r}")
    return region_from_row(row)


def all_regions(store: Store, photo: int) -> list[StoredRegion]:
    """Every region of the photo, whichever model embedded it."""
    rows = store.conn.execute(f"SELECT {_REGION_COLUMNS} FROM regions WHERE photo_id = ? ORDER BY ordinal", (photo,))
    return [region_from_row(r) for r in rows.fetchall()]


def decided(store: Store, region_ids: Sequence[int]) -> set[int]:
    """The regions the user said something about: a confirmed, rejected or reassigned match, or a
    negative made from the region."""
    found: set[int] = set()
    for start in range(0, len(region_ids), 900):
        chunk = list(region_ids[start : start + 900])
        marks = ",".join("?" * len(chunk))
        found.update(
            r[0]
            for r in store.conn.execute(
                f"SELECT region_id FROM matches WHERE status != 'auto' AND region_id IN ({marks}) "
                f"UNION SELECT region_id FROM negatives WHERE region_id IN ({marks})",
                chunk + chunk,
            )
        )
    return found


def carry_plan(
    old: Sequence[StoredRegion], decided_ids: set[int], proposals: Sequence[Proposal]
) -> tuple[list[Proposal], list[int | None]]:
    """What a re-detection stores, and which old region each new one takes the decisions of.

    A region the user drew stays at its box. A region holding a decision passes it to the new
    detection overlapping its box by IoU >= CARRY_IOU (best overlaps first, one to one); when the
    new detections have none, it stays at its own box (the user's word outranks the detector's).
    Returns the proposals to embed (the new ones, then the kept ones) and per proposal the old
    region id it carries on, or None."""
    out, origins = list(proposals), [None] * len(proposals)
    kept = [r for r in old if r.source == USER or r.id in decided_ids]
    pairs = sorted(
        (-iou(r.box, p.box), i, j)
        for i, r in enumerate(kept)
        if r.source != USER
        for j, p in enumerate(proposals)
        if p.source != USER
    )
    carried: set[int] = set()
    for negative_overlap, i, j in pairs:
        if -negative_overlap < CARRY_IOU:
            break
        if i not in carried and origins[j] is None:
            carried.add(i)
            origins[j] = kept[i].id
    for i, r in enumerate(kept):
        if i not in carried:
            out.append(Proposal(r.box, r.label, r.score, r.source))
            origins.append(r.id)
    return out, origins  # type: ignore[return-value]


def replace_regions(
    store: Store,
    photo: int,
    proposals: Sequence[Proposal],
    vectors: np.ndarray,
    model: str,
    detector: str | None,
    origins: Sequence[int | None] | None = None,
) -> list[StoredRegion]:
    """Store fresh regions for the photo (old ones and their automatic matches go). `origins`
    (from `carry_plan`) names per proposal an old region whose user decisions move to the new row:
    its confirmed / rejected / reassigned matches, its negatives' link, and the region ids in the
    correction log, so that undo still finds what it takes back."""
    with store.transaction():
        write_regions(store, photo, proposals, vectors, model, detector, origins)
    return regions(store, photo, model)


def write_regions(
    store: Store,
    photo: int,
    proposals: Sequence[Proposal],
    vectors: np.ndarray,
    model: str,
    detector: str | None,
    origins: Sequence[int | None] | None = None,
) -> list[int]:
    """Inside a write: `replace_regions`' rows (the album indexer writes its batches with it too);
    the new region ids, in proposal order."""
    origins = list(origins) if origins else [None] * len(proposals)
    kept = read_decisions(store, [o for o in origins if o is not None])  # read before the rows go
    store.conn.execute("DELETE FROM regions WHERE photo_id = ?", (photo,))
    ids: list[int] = []
    moved: dict[int, int] = {}
    for ordinal, (p, vector, origin) in enumerate(zip(proposals, vectors, origins, strict=True), 1):
        cur = store.conn.execute(
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
        ids.append(int(cur.lastrowid))
        if origin is not None:
            moved[origin] = ids[-1]
    move_decisions(store, kept, moved)
    return ids


def read_decisions(store: Store, region_ids: Sequence[int]) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """(manual matches, negatives' links, correction-log rows) of these regions, read before they go."""
    if not region_ids:
        return [], [], []
    marks = ",".join("?" * len(region_ids))
    ids = list(region_ids)
    matches = store.conn.execute(
        f"SELECT region_id, concept_id, similarity, status, accepted FROM matches "
        f"WHERE status != 'auto' AND region_id IN ({marks})",
        ids,
    ).fetchall()
    links = store.conn.execute(f"SELECT id, region_id FROM negatives WHERE region_id IN ({marks})", ids).fetchall()
    log = store.conn.execute(
        f"SELECT id, payload FROM corrections WHERE json_extract(payload, '$.region') IN ({marks}) "
        f"OR json_extract(payload, '$.rejected.region') IN ({marks}) "
        f"OR EXISTS (SELECT 1 FROM json_each(payload, '$.members') m "
        f"WHERE json_extract(m.value, '$.region') IN ({marks}))",
        ids + ids + ids,
    ).fetchall()
    return matches, links, log


def log_parts(payload: dict) -> list[dict]:
    """The pieces of a correction-log payload that each name a region or an exemplar: the
    correction itself, the rejection a reassign made, the members a group naming confirmed."""
    return [p for p in (payload, payload.get("rejected"), *payload.get("members", ())) if p]


def move_decisions(store: Store, kept: tuple[list[tuple], list[tuple], list[tuple]], moved: dict[int, int]) -> None:
    matches, links, log = kept
    store.conn.executemany(
        "INSERT INTO matches(region_id, concept_id, similarity, status, accepted) VALUES (?,?,?,?,?)",
        [(moved[r], c, sim, status, accepted) for r, c, sim, status, accepted in matches],
    )
    store.conn.executemany("UPDATE negatives SET region_id = ? WHERE id = ?", [(moved[r], n) for n, r in links])
    for log_id, raw in log:
        payload = json.loads(raw)
        for part in log_parts(payload):
            if part.get("region") in moved:
                part["region"] = moved[part["region"]]
        store.conn.execute("UPDATE corrections SET payload = ? WHERE id = ?", (json.dumps(payload), log_id))


def add_region(store: Store, photo: int, proposal: Proposal, vector: np.ndarray, model: str) -> StoredRegion:
    """A region the user drew (a box the detector missed)."""
    with store.transaction():
        ordinal = write_region(store, photo, proposal, vector, model)
    return region(store, photo, f"r{ordinal}")


def write_region(store: Store, photo: int, proposal: Proposal, vector: np.ndarray, model: str) -> int:
    """Inside a write: `add_region`'s row; its ordinal."""
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
    return int(ordinal)


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
    with store.transaction():
        write_matches(store, rows)


def write_matches(store: Store, rows: Sequence[StoredMatch]) -> None:
    """Inside a write: `save_matches`' rows."""
    for rid in sorted({m.region_id for m in rows}):
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


def has_regions(store: Store, model: str) -> bool:
    """Whether any region embedded by `model` is stored."""
    return store.conn.execute("SELECT 1 FROM regions WHERE model = ? LIMIT 1", (model,)).fetchone() is not None


def region_key(store: Store, model: str) -> tuple[int, int]:
    """(count, newest id) of the model's regions: regions are only ever added or deleted, so this
    changes whenever they do. Answered from the regions_model_photo index alone (no vector read)."""
    count, newest = store.conn.execute(
        "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM regions WHERE model = ?", (model,)
    ).fetchone()
    return int(count), int(newest)


def region_matrix(store: Store, model: str) -> tuple[np.ndarray, np.ndarray]:
    """Every region of `model` with a vector, by id: (n, 3) int64 rows (region id, photo id, ordinal)
    and the (n, dim) float32 vectors."""
    found = store.conn.execute(
        "SELECT id, photo_id, ordinal, vector FROM regions WHERE model = ? AND vector IS NOT NULL ORDER BY id", (model,)
    ).fetchall()
    rows = np.array([r[:3] for r in found], np.int64).reshape(-1, 3)
    dim = len(found[0][3]) // 4 if found else 1
    return rows, np.frombuffer(b"".join(r[3] for r in found), np.float32).reshape(-1, dim).copy()


def region_boxes(store: Store, region_ids: Sequence[int]) -> dict[int, tuple[int, Box]]:
    """region id -> (ordinal, box) for each of these regions that exists."""
    out = {}
    for chunk in chunks(region_ids):
        marks = ",".join("?" * len(chunk))
        for rid, ordinal, *box in store.conn.execute(
            f"SELECT id, ordinal, x1, y1, x2, y2 FROM regions WHERE id IN ({marks})", chunk
        ):
            out[rid] = (ordinal, tuple(box))
    return out


def photos_of_regions(store: Store, region_ids: Sequence[int]) -> list[int]:
    """The distinct photo ids these regions belong to."""
    found: set[int] = set()
    for chunk in chunks(region_ids):
        marks = ",".join("?" * len(chunk))
        rows = store.conn.execute(f"SELECT DISTINCT photo_id FROM regions WHERE id IN ({marks})", chunk)
        found.update(r[0] for r in rows)
    return sorted(found)
