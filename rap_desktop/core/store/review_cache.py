"""What keeps the "Who's this?" queue quick in a big album: the basis of the stored groups listing
(which unmatched regions it was clustered from, with which settings), so the next question after an
answer reuses the listing instead of clustering 10,000 regions again, and an index for the uncertain
matches (a few among 10^5-10^6 match rows).

Writing functions run inside an open `store.transaction()`. Like hidden.py this module imports nothing
of the store (the schema imports its SQL), so it takes anything with a `conn`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS album_groups_basis (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    settings TEXT NOT NULL,
    regions BLOB NOT NULL,
    floor INTEGER NOT NULL,
    cohesion TEXT NOT NULL,
    clusterings TEXT NOT NULL,
    generation INTEGER NOT NULL,
    created REAL NOT NULL
);
-- the automatic matches by acceptance and similarity: the ones just over the threshold, and the runners-up
-- almost as close as an accepted match, are two short ranges of it
CREATE INDEX IF NOT EXISTS matches_unsure ON matches(accepted, similarity) WHERE status = 'auto';
"""


class HasConn(Protocol):
    conn: sqlite3.Connection


@dataclass(frozen=True)
class Clustering:
    """The groups (region ids founder first, cohesion) one clustering found in a set of regions."""

    regions: frozenset[int]
    groups: tuple[tuple[tuple[int, ...], float], ...]


@dataclass(frozen=True)
class Basis:
    """What the stored listing was clustered from: `settings` (model and clustering parameters); the
    unmatched regions there were, less those that left the set since (ids, ascending); `floor`, the
    oldest region clustered when the limit cut the set (0: none was left out); each listed group's
    cohesion; the last two clusterings (an undo that restores the set one of them saw restores its
    groups); and how many clusterings this store has run (the generation)."""

    settings: dict
    regions: np.ndarray
    floor: int
    cohesion: dict[int, float]
    clusterings: tuple[Clustering, ...]
    generation: int
    created: float


def _ids(regions) -> bytes:
    return np.sort(np.asarray(list(regions), np.int64)).tobytes()


def _json(cohesion: Mapping[int, float]) -> str:
    return json.dumps({str(k): v for k, v in cohesion.items()})


def _clusterings(text: str) -> tuple[Clustering, ...]:
    return tuple(
        Clustering(frozenset(c["regions"]), tuple((tuple(g), float(h)) for g, h in c["groups"]))
        for c in json.loads(text)
    )


def basis(store: HasConn) -> Basis | None:
    row = store.conn.execute(
        "SELECT settings, regions, floor, cohesion, clusterings, generation, created FROM album_groups_basis "
        "WHERE id = 1"
    ).fetchone()
    if row is None:
        return None
    cohesion = {int(k): float(v) for k, v in json.loads(row[3]).items()}
    regions = np.frombuffer(row[1], np.int64)
    return Basis(json.loads(row[0]), regions, int(row[2]), cohesion, _clusterings(row[4]), int(row[5]), float(row[6]))


def save_basis(
    store: HasConn, settings: dict, regions, floor: int, cohesion: Mapping[int, float], found: Clustering, new: bool
) -> int:
    """Inside a transaction: the listing was just made from `regions` (`found`: the groups a clustering,
    `new` one, found in them); the generation."""
    row = store.conn.execute("SELECT clusterings, generation FROM album_groups_basis WHERE id = 1").fetchone()
    earlier = [c for c in _clusterings(row[0]) if c.regions != found.regions][:1] if row else []
    generation = (int(row[1]) if row else 0) + int(new)
    kept = [{"regions": sorted(c.regions), "groups": [[list(g), h] for g, h in c.groups]} for c in (found, *earlier)]
    store.conn.execute(
        "INSERT OR REPLACE INTO album_groups_basis(id, settings, regions, floor, cohesion, clusterings, generation, "
        "created) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
        (
            json.dumps(settings, sort_keys=True),
            _ids(regions),
            floor,
            _json(cohesion),
            json.dumps(kept),
            generation,
            time.time(),
        ),
    )
    return generation


def shrink(store: HasConn, regions, cohesion: Mapping[int, float]) -> None:
    """Inside a transaction: the regions unmatched now that the listing stands for (the basis's, less
    those that left, plus new ones no group can take) and the groups' cohesion after the listing was
    trimmed to them."""
    store.conn.execute(
        "UPDATE album_groups_basis SET regions = ?, cohesion = ? WHERE id = 1", (_ids(regions), _json(cohesion))
    )


def forget(store: HasConn, region_ids) -> None:
    """Inside a transaction: these regions leave the unmatched set (named or hidden with their group), so
    that should they come back (an undo), the groups are clustered again and theirs is offered again."""
    found = basis(store)
    if found is not None:
        kept = np.setdiff1d(found.regions, np.asarray(list(region_ids), np.int64))
        if len(kept) != len(found.regions):
            store.conn.execute("UPDATE album_groups_basis SET regions = ? WHERE id = 1", (_ids(kept),))
