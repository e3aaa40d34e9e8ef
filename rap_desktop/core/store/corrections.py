"""Rows of the correction log and what a correction writes: match states, negatives, the log entry.

Every writing function here runs inside an open `store.transaction()`; the caller decides.
"""

from __future__ import annotations

import json
import time

import numpy as np

from .base import Store


def accepted_concept(store: Store, region_id: int) -> int | None:
    """The concept a region is taken to show (a confirmed one before an automatic one), or None."""
    row = store.conn.execute(
        "SELECT concept_id FROM matches WHERE region_id = ? AND accepted = 1 ORDER BY status = 'confirmed' DESC",
        (region_id,),
    ).fetchone()
    return int(row[0]) if row else None


def match_state(store: Store, region_id: int, concept_id: int) -> dict | None:
    """The match of region and concept as an undo payload keeps it (None when there is none)."""
    row = store.conn.execute(
        "SELECT similarity, status, accepted FROM matches WHERE region_id = ? AND concept_id = ?",
        (region_id, concept_id),
    ).fetchone()
    return {"similarity": row[0], "status": row[1], "accepted": row[2]} if row else None


def set_match_status(store: Store, region_id: int, concept_id: int, status: str, accepted: bool) -> None:
    """The user's word on region and concept (a new match gets similarity 0)."""
    store.conn.execute(
        "INSERT INTO matches(region_id, concept_id, similarity, status, accepted) VALUES (?, ?, 0, ?, ?) "
        "ON CONFLICT(region_id, concept_id) DO UPDATE SET status = excluded.status, accepted = excluded.accepted",
        (region_id, concept_id, status, int(accepted)),
    )


def restore_match(store: Store, region_id: int, concept_id: int, previous: dict | None) -> None:
    """Put a match back as `match_state` saw it (None: there was none, so it goes)."""
    if previous is None:
        store.conn.execute("DELETE FROM matches WHERE region_id = ? AND concept_id = ?", (region_id, concept_id))
    else:
        store.conn.execute(
            "UPDATE matches SET similarity = ?, status = ?, accepted = ? WHERE region_id = ? AND concept_id = ?",
            (previous["similarity"], previous["status"], previous["accepted"], region_id, concept_id),
        )


def add_negative(store: Store, concept_id: int, model: str, vector: np.ndarray, region_id: int) -> int:
    """A rejection's negative (region embedding, concept); returns its id."""
    cur = store.conn.execute(
        "INSERT INTO negatives(concept_id, model, vector, region_id, created) VALUES (?, ?, ?, ?, ?)",
        (concept_id, model, vector.tobytes(), region_id, time.time()),
    )
    return int(cur.lastrowid)


def delete_negative(store: Store, negative_id: int) -> None:
    store.conn.execute("DELETE FROM negatives WHERE id = ?", (negative_id,))


def log(store: Store, action: str, payload: dict) -> int:
    """One correction-log row; its payload says exactly what to take back on undo. Returns its id."""
    cur = store.conn.execute(
        "INSERT INTO corrections(at, action, payload) VALUES (?, ?, ?)", (time.time(), action, json.dumps(payload))
    )
    return int(cur.lastrowid)


def newest_open(store: Store) -> tuple[int, str, dict] | None:
    """(id, action, payload) of the newest correction not yet undone, or None."""
    row = store.conn.execute(
        "SELECT id, action, payload FROM corrections WHERE undone = 0 ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return (int(row[0]), str(row[1]), json.loads(row[2])) if row else None


def newest_open_id(store: Store) -> int | None:
    """The id of the newest correction not yet undone, or None."""
    row = store.conn.execute("SELECT id FROM corrections WHERE undone = 0 ORDER BY id DESC LIMIT 1").fetchone()
    return int(row[0]) if row else None


def mark_undone(store: Store, correction_id: int) -> None:
    store.conn.execute("UPDATE corrections SET undone = 1 WHERE id = ?", (correction_id,))


def mark_naming_undone(store: Store, concept_id: int) -> None:
    """The group naming that created `concept_id` is taken back: `match undo` must not take it back again."""
    store.conn.execute(
        "UPDATE corrections SET undone = 1 WHERE action = 'name_group' AND undone = 0 "
        "AND json_extract(payload, '$.created') = ?",
        (concept_id,),
    )
