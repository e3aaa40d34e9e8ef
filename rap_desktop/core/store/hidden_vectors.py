"""What a hidden stranger looks like, so that the same stranger in another photo stays out of sight too.

A hidden row (core/store/hidden.py) keeps a photo's content and a box: that box stays hidden, but the
stranger in a photo added later is another region in another photo. So each hidden row also keeps the
embedding of the region it hid (`keep`, one row per embedder model). Those vectors, with the vectors of
the regions a hidden box covers now (a photo detected again under another model), are the strangers'
looks; an unmatched region at least `max(threshold, LOOKALIKE)` similar to one of them is a look-alike,
kept out of the unknown groups and so out of the review queue (`lookalike_mask`).

The bar: the unknown groups put a region in a group when it is that similar to the group's founder, so
a look-alike is a region that would have joined the group the user hid. It is never looser than
LOOKALIKE, the groups' default and well above every model's acceptance threshold (0.75 / 0.80 in
core/retrieval.py): a family member who merely looks a bit alike stays below it. Only regions no
concept claims are passed in (the callers' unmatched regions): a confirmed or matched region is never
kept out. A hidden row whose box the user has since confirmed as a concept is no stranger: its looks
are not used.

A vector counts only while its hidden row exists: an unhide (or the undo of a hide) removes the row and
its look-alikes come back at once; the undo of an unhide puts the same row id back (ids are never
reused) and they go again. The vector rows stay for that (one embedding each).

Writing functions run inside an open `store.transaction()`.
"""

from __future__ import annotations

import sqlite3
from typing import Protocol

import numpy as np

from .hidden_overlap import COVERS

LOOKALIKE = 0.9  # the least similarity to a hidden stranger that keeps a region out (= groups' default)
_CELLS = 1 << 22  # similarities computed per chunk (16 MB of float32)

SCHEMA = """
CREATE TABLE IF NOT EXISTS hidden_vectors (
    hidden_id INTEGER NOT NULL,
    model TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (hidden_id, model)
);
"""


class HasConn(Protocol):
    conn: sqlite3.Connection


def _claimed() -> str:
    """SQL: the user confirmed a region the hidden box `h` covers as a concept (a stranger after all known)."""
    return (
        "EXISTS (SELECT 1 FROM photos cp JOIN regions r ON r.photo_id = cp.id JOIN matches m ON m.region_id = r.id "
        f"WHERE cp.sha256 = h.sha256 AND {COVERS} AND m.status = 'confirmed')"
    )


def keep(store: HasConn, hidden_id: int, region_id: int) -> None:
    """The embedding of region `region_id` becomes the looks of hidden row `hidden_id`."""
    store.conn.execute(
        "INSERT OR REPLACE INTO hidden_vectors(hidden_id, model, dim, vector) "
        "SELECT ?, model, length(vector) / 4, vector FROM regions "
        "WHERE id = ? AND model IS NOT NULL AND vector IS NOT NULL AND length(vector) > 0",
        (hidden_id, region_id),
    )


def add(store: HasConn, hidden_id: int, model: str, vector: np.ndarray) -> None:
    """One looks vector of a hidden row (a restored backup)."""
    row = np.asarray(vector, np.float32)
    store.conn.execute(
        "INSERT OR REPLACE INTO hidden_vectors(hidden_id, model, dim, vector) VALUES (?,?,?,?)",
        (hidden_id, model, len(row), row.tobytes()),
    )


def any_hidden(store: HasConn) -> bool:
    """Something is hidden (a cheap check before reading any vector)."""
    return store.conn.execute("SELECT 1 FROM hidden_regions LIMIT 1").fetchone() is not None


def stranger_vectors(store: HasConn, model: str, dim: int) -> np.ndarray:
    """The looks of every hidden stranger under `model` (vectors of width `dim`), one per row."""
    claimed = _claimed()
    stored = store.conn.execute(
        "SELECT v.vector FROM hidden_vectors v JOIN hidden_regions h ON h.id = v.hidden_id "
        f"WHERE v.model = ? AND v.dim = ? AND length(v.vector) = 4 * v.dim AND NOT {claimed}",
        (model, dim),
    ).fetchall()
    # a box hidden before this model indexed its photo: the region it covers now speaks for it (CROSS JOIN:
    # SQLite keeps this order, from the few hidden rows out, instead of scanning every region of the model)
    covered = store.conn.execute(
        "SELECT r.vector FROM hidden_regions h CROSS JOIN photos p ON p.sha256 = h.sha256 "
        "CROSS JOIN regions r ON r.photo_id = p.id "
        "WHERE NOT EXISTS (SELECT 1 FROM hidden_vectors v WHERE v.hidden_id = h.id AND v.model = ?) "
        f"AND r.model = ? AND length(r.vector) = ? AND {COVERS} AND NOT {claimed}",
        (model, model, 4 * dim),
    ).fetchall()
    rows = [np.frombuffer(blob, np.float32) for (blob,) in stored + covered]
    return np.stack(rows) if rows else np.zeros((0, dim), np.float32)


def lookalike_mask(store: HasConn, model: str, vectors: np.ndarray, threshold: float = LOOKALIKE) -> np.ndarray:
    """Per row of `vectors` (unit embeddings of `model` of regions no concept claims): True where it is a
    hidden stranger's look-alike, at least max(threshold, LOOKALIKE) similar to one of their looks."""
    queries = np.asarray(vectors, np.float32)
    out = np.zeros(len(queries), bool)
    if not len(queries):
        return out
    looks = stranger_vectors(store, model, queries.shape[1])
    if not len(looks):
        return out
    bar = max(float(threshold), LOOKALIKE)
    step = max(1, _CELLS // len(looks))
    for start in range(0, len(queries), step):
        out[start : start + step] = (queries[start : start + step] @ looks.T).max(axis=1) >= bar
    return out
