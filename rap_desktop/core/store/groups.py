"""Rows for the unknown groups: the regions no concept claims (hidden ones left out), and the last
listing (album_groups) with its stable group ids (the next new id is kept in `meta`, so no id is reused)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from .base import Store
from .hidden import IS_HIDDEN

RETIRED = 200  # named or hidden groups remembered (an undo gives one its id back)


def unmatched_regions(store: Store, model: str, include_whole: bool, limit: int) -> list[tuple[int, int, bytes]]:
    """(region id, photo id, vector blob) of the newest `limit` regions of `model` that no concept
    claims and the user did not hide, newest first. A region the user confirmed is claimed even where
    it is not accepted."""
    whole = "" if include_whole else "AND r.source != 'whole'"
    return store.conn.execute(
        "SELECT r.id, r.photo_id, r.vector FROM regions r WHERE r.model = ? AND r.vector IS NOT NULL "
        f"{whole} AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.region_id = r.id "
        f"AND (m.accepted = 1 OR m.status = 'confirmed')) AND NOT {IS_HIDDEN} "
        "ORDER BY r.id DESC LIMIT ?",
        (model, limit),
    ).fetchall()


def listing(store: Store) -> dict[int, list[int]]:
    """Group id -> region ids (founder first) of the stored listing and of the groups retired from it
    (named or hidden: kept under their negated id, so a group that comes back by an undo gets its id back)."""
    return {abs(int(r[0])): json.loads(r[1]) for r in store.conn.execute("SELECT id, regions FROM album_groups")}


def next_group_id(store: Store) -> int:
    """The smallest id no group was ever given."""
    row = store.conn.execute("SELECT value FROM meta WHERE key = 'next_group_id'").fetchone()
    top = store.conn.execute("SELECT COALESCE(MAX(abs(id)), 0) + 1 FROM album_groups").fetchone()[0]
    return max(int(row[0]) if row else 1, int(top))


def replace_listing(store: Store, model: str, groups: Sequence[tuple[int, Sequence[int]]]) -> None:
    """Inside a transaction: the stored listing becomes `groups` ((id, region ids founder first)); a
    retired group whose id is given again is no longer retired; the newest RETIRED retired ones are kept."""
    ids = [gid for gid, _ in groups]
    store.conn.execute("DELETE FROM album_groups WHERE id > 0")
    store.conn.executemany("DELETE FROM album_groups WHERE id = ?", [(-gid,) for gid in ids])
    store.conn.execute(
        "DELETE FROM album_groups WHERE id < 0 AND id NOT IN "
        "(SELECT id FROM album_groups WHERE id < 0 ORDER BY created DESC, id LIMIT ?)",
        (RETIRED,),
    )
    now = time.time()
    store.conn.executemany(
        "INSERT INTO album_groups(id, model, regions, created) VALUES (?,?,?,?)",
        [(gid, model, json.dumps(list(regions)), now) for gid, regions in groups],
    )
    store.conn.execute(
        "INSERT INTO meta(key, value) VALUES ('next_group_id', ?) "
        "ON CONFLICT(key) DO UPDATE SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
        (str(max(ids, default=0) + 1),),
    )


def drop_groups_with(store: Store, region_ids: Sequence[int]) -> None:
    """Inside a transaction: listed groups holding any of these regions are retired (they were named or
    hidden); the others keep their ids, so `groups name ID` still names what was shown."""
    gone = set(region_ids)
    live = store.conn.execute("SELECT id, regions FROM album_groups WHERE id > 0").fetchall()
    for gid, regions in live:
        if gone & set(json.loads(regions)):
            store.conn.execute("DELETE FROM album_groups WHERE id = ?", (-gid,))
            store.conn.execute("UPDATE album_groups SET id = ?, created = ? WHERE id = ?", (-gid, time.time(), gid))


def listed_group(store: Store, group_id: int) -> tuple[str, list[int]] | None:
    """(model, region ids) of entry `group_id` of the stored listing, or None."""
    if group_id < 1:  # retired groups are kept under negated ids: never named by them
        return None
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
