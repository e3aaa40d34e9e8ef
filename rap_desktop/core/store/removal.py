"""Rows for removing concepts so that they can be put back exactly (see core/removal.py): read
everything a concept owns as plain row tuples, and write those rows back under their old ids."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .base import Store


def concept_record(store: Store, concept_id: int) -> tuple:
    """(id, name, name_key, info, category, created, updated)."""
    return tuple(
        store.conn.execute(
            "SELECT id, name, name_key, info, category, created, updated FROM concepts WHERE id = ?", (concept_id,)
        ).fetchone()
    )


def exemplar_records(store: Store, concept_id: int) -> list[tuple]:
    """(id, image, width, height, box, source, created) of the concept's exemplars, by id."""
    rows = store.conn.execute(
        "SELECT id, image, width, height, box, source, created FROM exemplars WHERE concept_id = ? ORDER BY id",
        (concept_id,),
    ).fetchall()
    return [tuple(r) for r in rows]


def exemplar_vectors(store: Store, exemplar_id: int) -> dict[str, np.ndarray]:
    """model -> the exemplar's stored vector (a copy)."""
    rows = store.conn.execute("SELECT model, vector FROM embeddings WHERE exemplar_id = ?", (exemplar_id,))
    return {model: np.frombuffer(blob, np.float32).copy() for model, blob in rows}


def negative_records(store: Store, concept_id: int) -> list[tuple]:
    """(id, model, vector, region_id, created) of the concept's negatives, by id."""
    rows = store.conn.execute(
        "SELECT id, model, vector, region_id, created FROM negatives WHERE concept_id = ? ORDER BY id", (concept_id,)
    ).fetchall()
    return [tuple(r) for r in rows]


def match_records(store: Store, concept_id: int) -> list[tuple]:
    """(region_id, similarity, status, accepted) of the concept's matches."""
    rows = store.conn.execute(
        "SELECT region_id, similarity, status, accepted FROM matches WHERE concept_id = ?", (concept_id,)
    ).fetchall()
    return [tuple(r) for r in rows]


def decided_places(store: Store, concept_id: int) -> dict[int, tuple]:
    """Region id -> (photo_id, box) of each region the user decided about for this concept
    (a match that is not automatic, or a negative)."""
    rows = store.conn.execute(
        "SELECT id, photo_id, x1, y1, x2, y2 FROM regions WHERE id IN (SELECT region_id FROM matches "
        "WHERE concept_id = ? AND status != 'auto' UNION SELECT region_id FROM negatives WHERE concept_id = ?)",
        (concept_id, concept_id),
    )
    return {int(r[0]): (int(r[1]), tuple(r[2:])) for r in rows}


def name_or_id_taken(store: Store, name_key: str, concept_id: int) -> str | None:
    """The name of a concept holding this name key or this id, or None."""
    row = store.conn.execute(
        "SELECT name FROM concepts WHERE name_key = ? OR id = ?", (name_key, concept_id)
    ).fetchone()
    return str(row[0]) if row else None


def insert_concept_record(store: Store, row: tuple) -> None:
    """A concept row back under its old id (row as `concept_record` gave it)."""
    store.conn.execute(
        "INSERT INTO concepts(id, name, name_key, info, category, created, updated) VALUES (?,?,?,?,?,?,?)", row
    )


def insert_exemplar_record(store: Store, concept_id: int, row: tuple) -> None:
    """An exemplar row back under its old id (row as `exemplar_records` gave it; its file stored first)."""
    store.conn.execute(
        "INSERT INTO exemplars(id, concept_id, image, width, height, box, source, created) VALUES (?,?,?,?,?,?,?,?)",
        (row[0], concept_id, *row[1:]),
    )


def insert_negative_record(store: Store, concept_id: int, row: tuple, region_id: int | None) -> None:
    """A negative back under its old id, naming `region_id` (where its region is now)."""
    negative_id, model, vector, _, created = row
    store.conn.execute(
        "INSERT INTO negatives(id, concept_id, model, vector, region_id, created) VALUES (?,?,?,?,?,?)",
        (negative_id, concept_id, model, vector, region_id, created),
    )


def insert_matches(store: Store, rows: Sequence[tuple]) -> None:
    """Match rows (region_id, concept_id, similarity, status, accepted)."""
    store.conn.executemany(
        "INSERT INTO matches(region_id, concept_id, similarity, status, accepted) VALUES (?,?,?,?,?)", list(rows)
    )


def photo_region_boxes(store: Store, photo_id: int) -> list[tuple[int, tuple]]:
    """(region id, box) of every region of the photo."""
    rows = store.conn.execute("SELECT id, x1, y1, x2, y2 FROM regions WHERE photo_id = ?", (photo_id,))
    return [(int(r[0]), tuple(r[1:])) for r in rows]


def existing_regions(store: Store, ids: Sequence[int | None]) -> set[int]:
    """Those of `ids` that are still region ids."""
    wanted = sorted({int(i) for i in ids if i is not None})
    found: set[int] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(r[0] for r in store.conn.execute(f"SELECT id FROM regions WHERE id IN ({marks})", chunk))
    return found
