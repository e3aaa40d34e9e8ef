"""Rows for the unknown groups: the regions no concept claims, and the last listing (album_groups)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from .base import Store


def unmatched_regions(store: Store, model: str, include_whole: bool, limit: int) -> list[tuple[int, int, bytes]]:
    """(region id, photo id, vector blob) of the newest `limit` regions of `model` that no concept
    claims, newest first. A region the user confirmed is claimed even where it is not accepted."""
    whole = "" if include_whole else "AND r.source != 'whole'"
    return store.conn.execute(
        "SELECT r.id, r.photo_id, r.vector FROM regions r WHERE r.model = ? AND r.vector IS NOT NULL "
        f"{whole} AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.region_id = r.id "
        "AND (m.accepted = 1 OR m.status = 'confirmed')) "
        "ORDER BY r.id DESC LIMIT ?",
        (model, limit),
    ).fetchall()


def replace_listing(store: Store, model: str, groups: Sequence[Sequence[int]]) -> None:
    """Inside a transaction: the stored listing becomes `groups` (region ids, founder first), numbered from 1."""
    store.conn.execute("DELETE FROM album_groups")
    store.conn.executemany(
        "INSERT INTO album_groups(id, model, regions, created) VALUES (?,?,?,?)",
        [(n, model, json.dumps(list(regions)), time.time()) for n, regions in enumerate(groups, 1)],
    )


def clear_listing(store: Store) -> None:
    store.conn.execute("DELETE FROM album_groups")


def listed_group(store: Store, group_id: int) -> tuple[str, list[int]] | None:
    """(model, region ids) of entry `group_id` of the stored listing, or None."""
    row = store.conn.execute("SELECT model, regions FROM album_groups WHERE id = ?", (group_id,)).fetchone()
    return (row[0], json.loads(row[1])) if row else None


def regions_with_photo(store: Store, ids: Sequence[int]) -> list[tuple]:
    """The region rows of `ids` that exist (id, photo_id, ordinal, x1, y1, x2, y2, label, score,
    source, vector) each followed by its photo's sha256."""
    marks = ",".join("?" * len(ids))
    return store.conn.execute(
        "SELECT r.id, r.photo_id, r.ordinal, r.x1, r.y1, r.x2, r.y2, r.label, r.score, r.source, r.vector, p.sha256 "
        f"FROM regions r JOIN photos p ON p.id = r.photo_id WHERE r.id IN ({marks})",
        list(ids),
    ).fetchall()


def region_boxes(store: Store, ids: Sequence[int]) -> dict[int, tuple]:
    """id -> (id, photo_id, x1, y1, x2, y2, label) of the regions of `ids` that exist."""
    rows: dict[int, tuple] = {}
    wanted = list(ids)
    for start in range(0, len(wanted), 900):
        chunk = wanted[start : start + 900]
        marks = ",".join("?" * len(chunk))
        for row in store.conn.execute(
            f"SELECT id, photo_id, x1, y1, x2, y2, label FROM regions WHERE id IN ({marks})", chunk
        ):
            rows[row[0]] = row
    return rows
