"""Rows for the unknown groups: the regions no concept claims (hidden ones left out), and the last
listing (album_groups) with its stable group ids (the next new id is kept in `meta`, so no id is reused)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from . import review_cache
from .base import Store
from .hidden import IS_HIDDEN
from .photos import chunks

RETIRED = 200  # named or hidden groups remembered (an undo gives one its id back)


def _unmatched_sql(columns: str, include_whole: bool) -> str:
    # NOT INDEXED: walking the ids down stops at the `limit`-th unmatched region; through the model's index
    # SQLite would test every region of the model and sort them all (20x slower at 160,000 regions)
    whole = "" if include_whole else "AND r.source != 'whole'"
    return (
        f"SELECT {columns} FROM regions r NOT INDEXED WHERE r.model = ? AND r.vector IS NOT NULL "
        f"{whole} AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.region_id = r.id "
        f"AND (m.accepted = 1 OR m.status = 'confirmed')) AND NOT {IS_HIDDEN} "
        "ORDER BY r.id DESC LIMIT ?"
    )


def unmatched_regions(store: Store, model: str, include_whole: bool, limit: int) -> list[tuple[int, int, bytes]]:
    """(region id, photo id, vector blob) of the newest `limit` regions of `model` that no concept
    claims and the user did not hide, newest first. A region the user confirmed is claimed even where
    it is not accepted."""
    sql = _unmatched_sql("r.id, r.photo_id, r.vector", include_whole)
    return store.conn.execute(sql, (model, limit)).fetchall()


def unmatched_ids(store: Store, model: str, include_whole: bool, limit: int) -> dict[int, int]:
    """Region id -> photo id of the same regions as `unmatched_regions` (no vectors read)."""
    sql = _unmatched_sql("r.id, r.photo_id", include_whole)
    return dict(store.conn.execute(sql, (model, limit)).fetchall())


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
    for gid, regions in live_listing(store):
        if gone & set(regions):
            retire(store, gid)
    review_cache.forget(store, gone)


def live_listing(store: Store) -> list[tuple[int, list[int]]]:
    """(id, region ids founder first) of the groups listed now (not the retired ones), in id order."""
    rows = store.conn.execute("SELECT id, regions FROM album_groups WHERE id > 0 ORDER BY id").fetchall()
    return [(int(gid), json.loads(regions)) for gid, regions in rows]


def retire(store: Store, group_id: int) -> None:
    """Inside a transaction: the listed group leaves the listing; its id is remembered for an undo."""
    store.conn.execute("DELETE FROM album_groups WHERE id = ?", (-group_id,))
    store.conn.execute("UPDATE album_groups SET id = ?, created = ? WHERE id = ?", (-group_id, time.time(), group_id))


def set_regions(store: Store, group_id: int, regions: Sequence[int]) -> None:
    """Inside a transaction: the listed group holds only `regions` now (others were named or hidden)."""
    store.conn.execute("UPDATE album_groups SET regions = ? WHERE id = ?", (json.dumps(list(regions)), group_id))


def listed_group(store: Store, group_id: int) -> tuple[str, list[int]] | None:
    """(model, region ids) of entry `group_id` of the stored listing, or None."""
    if group_id < 1:  # retired groups are kept under negated ids: never named by them
        return None
    row = store.conn.execute("SELECT model, regions FROM album_groups WHERE id = ?", (group_id,)).fetchone()
    return (row[0], json.loads(row[1])) if row else None


def vectors(store: Store, ids: Sequence[int]) -> dict[int, bytes]:
    """id -> vector blob of the regions of `ids` that exist and have one."""
    out: dict[int, bytes] = {}
    for chunk in chunks(list(ids)):
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT id, vector FROM regions WHERE id IN ({marks}) AND vector IS NOT NULL"
        out.update(store.conn.execute(sql, chunk).fetchall())
    return out


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
    for chunk in chunks(list(ids)):
        marks = ",".join("?" * len(chunk))
        for row in store.conn.execute(
            f"SELECT id, photo_id, x1, y1, x2, y2, label FROM regions WHERE id IN ({marks})", chunk
        ):
            rows[row[0]] = row
    return rows
