"""What the album keeps out of sight: regions hidden for good ("a stranger") and review questions set aside.

A hidden region is stored by its photo's content (sha256) and its box, not by its region id: region
ids change whenever a photo is detected again (another model, the photo removed and added back), while
the content and the place in it do not. A region counts as hidden when its box overlaps a hidden box of
the same photo by IoU >= HIDE_IOU (hidden_overlap.py), the bar decisions use to carry over to a new
detection (CARRY_IOU), so a slightly different box from a new detector run stays hidden too. (The
region's vector would not survive a change of embedder; the sha256 survives a move or rename of the
file.) What the hidden region looks like is kept beside it (core/store/hidden_vectors.py), so the
same stranger in another photo is kept out too.

Writing functions run inside an open `store.transaction()`. This module imports nothing of the store
(the schema imports its SQL), so it takes anything with a `conn`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Protocol

from . import hidden_vectors
from .hidden_overlap import COVERS

SCHEMA = """
CREATE TABLE IF NOT EXISTS hidden_regions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL,
    x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
    group_id INTEGER,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS hidden_regions_photo ON hidden_regions(sha256);
CREATE TABLE IF NOT EXISTS review_skipped (
    question TEXT PRIMARY KEY,
    created REAL NOT NULL
);
"""

# the region `r` (an alias in the query around it) is hidden: a hidden box of its photo overlaps it enough
IS_HIDDEN = (
    "EXISTS (SELECT 1 FROM photos hp JOIN hidden_regions h ON h.sha256 = hp.sha256 "
    f"WHERE hp.id = r.photo_id AND {COVERS})"
)

_ROW = "h.id, h.sha256, h.x1, h.y1, h.x2, h.y2, h.group_id, h.created"


class HasConn(Protocol):
    conn: sqlite3.Connection


def _dict(row: tuple) -> dict:
    return {"id": row[0], "sha256": row[1], "box": list(row[2:6]), "group": row[6], "created": row[7]}


def hide(store: HasConn, region_ids: Sequence[int], group_id: int | None) -> list[dict]:
    """Hide the regions that exist among `region_ids` (one row each, a region already hidden is
    skipped); the rows written, as `restore` takes them back."""
    wanted = list(region_ids)
    if not wanted:
        return []
    marks = ",".join("?" * len(wanted))
    rows = store.conn.execute(
        f"SELECT r.id, p.sha256, r.x1, r.y1, r.x2, r.y2 FROM regions r JOIN photos p ON p.id = r.photo_id "
        f"WHERE r.id IN ({marks}) AND NOT {IS_HIDDEN}",
        wanted,
    ).fetchall()
    now, written = time.time(), []
    for rid, sha256, x1, y1, x2, y2 in rows:
        cur = store.conn.execute(
            "INSERT INTO hidden_regions(sha256, x1, y1, x2, y2, group_id, created) VALUES (?,?,?,?,?,?,?)",
            (sha256, x1, y1, x2, y2, group_id, now),
        )
        hidden_vectors.keep(store, int(cur.lastrowid), rid)  # what the stranger looks like, for look-alikes
        written.append(
            {"id": int(cur.lastrowid), "sha256": sha256, "box": [x1, y1, x2, y2], "group": group_id, "created": now}
        )
    return written


def remove(store: HasConn, ids: Sequence[int]) -> None:
    store.conn.executemany("DELETE FROM hidden_regions WHERE id = ?", [(i,) for i in ids])


def restore(store: HasConn, rows: Sequence[dict]) -> None:
    """Put rows back exactly (same ids), as `hide` or `rows_of_group` returned them."""
    store.conn.executemany(
        "INSERT OR REPLACE INTO hidden_regions(id, sha256, x1, y1, x2, y2, group_id, created) VALUES (?,?,?,?,?,?,?,?)",
        [(r["id"], r["sha256"], *r["box"], r["group"], r["created"]) for r in rows],
    )


def rows_of_group(store: HasConn, group_id: int) -> list[dict]:
    found = store.conn.execute(f"SELECT {_ROW} FROM hidden_regions h WHERE h.group_id = ? ORDER BY h.id", (group_id,))
    return [_dict(r) for r in found.fetchall()]


def hidden_sets(store: HasConn) -> list[tuple[int | None, int, int]]:
    """(group id or None for single regions, hidden boxes, photos) per hidden set, newest first."""
    return store.conn.execute(
        "SELECT group_id, COUNT(*), COUNT(DISTINCT sha256) FROM hidden_regions GROUP BY group_id ORDER BY MAX(id) DESC"
    ).fetchall()


def hidden_region_ids(store: HasConn, region_ids: Sequence[int]) -> set[int]:
    """Those of `region_ids` that are hidden."""
    out: set[int] = set()
    wanted = list(region_ids)
    for start in range(0, len(wanted), 900):
        chunk = wanted[start : start + 900]
        marks = ",".join("?" * len(chunk))
        rows = store.conn.execute(f"SELECT r.id FROM regions r WHERE r.id IN ({marks}) AND {IS_HIDDEN}", chunk)
        out.update(int(r[0]) for r in rows)
    return out


# --- review questions set aside ("skip": not asked again until asked to) -------------------------


def skip(store: HasConn, question: str) -> None:
    store.conn.execute(
        "INSERT OR REPLACE INTO review_skipped(question, created) VALUES (?, ?)", (question, time.time())
    )


def unskip(store: HasConn, question: str) -> None:
    store.conn.execute("DELETE FROM review_skipped WHERE question = ?", (question,))


def skipped(store: HasConn) -> set[str]:
    return {r[0] for r in store.conn.execute("SELECT question FROM review_skipped")}


def clear_skipped(store: HasConn) -> int:
    return store.conn.execute("DELETE FROM review_skipped").rowcount
