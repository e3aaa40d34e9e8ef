"""Unknown groups: regions that match no concept but look alike, offered as "new concept?".

Clustering is greedy and deterministic over the stored embeddings (no model run): each region's
nearest neighbours come from one batched FAISS search; the region with the most neighbours above
the similarity threshold founds a group with its still-free neighbours, and so on. A group is at
most `neighbours` regions: naming it registers its founder as an exemplar, confirms the others,
and the re-match that follows finds the look-alikes beyond it.

The last listing is stored (album_groups), so `groups name ID` names exactly what was shown.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass

import faiss
import numpy as np

from . import album_store, names, photos
from .corrections import _crop_png, _log, _previous, _set_match
from .errors import ConflictError, NotFoundError, RapError
from .store import NewExemplar, Store


@dataclass(frozen=True)
class Group:
    id: int
    regions: tuple[int, ...]  # region ids, the founder first
    photos: int
    cohesion: float  # mean similarity of the members to the founder

    @property
    def size(self) -> int:
        return len(self.regions)


@dataclass(frozen=True)
class Named:
    concept: str
    created: bool
    exemplar_region: int
    confirmed: int


def _unmatched(store: Store, model: str, include_whole: bool, limit: int):
    # a region the user confirmed is known even where it is not accepted (one slot per concept and photo)
    whole = "" if include_whole else "AND r.source != 'whole'"
    rows = store.conn.execute(
        "SELECT r.id, r.photo_id, r.vector FROM regions r WHERE r.model = ? AND r.vector IS NOT NULL "
        f"{whole} AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.region_id = r.id "
        "AND (m.accepted = 1 OR m.status = 'confirmed')) "
        "ORDER BY r.id DESC LIMIT ?",
        (model, limit),
    ).fetchall()
    rows.reverse()  # oldest first: stable ids for tie-breaking
    ids = np.array([r[0] for r in rows], np.int64)
    photo_ids = np.array([r[1] for r in rows], np.int64)
    vectors = np.stack([np.frombuffer(r[2], np.float32) for r in rows]) if rows else np.zeros((0, 1), np.float32)
    return ids, photo_ids, vectors


def find_groups(
    store: Store,
    model: str,
    threshold: float = 0.9,
    min_size: int = 3,
    neighbours: int = 32,
    limit: int = 10_000,
    include_whole: bool = False,
) -> list[Group]:
    """Cluster the newest `limit` unmatched regions (whole-photo regions left out unless asked);
    groups of at least `min_size`, largest first. Stores the listing for `name_group`."""
    ids, photo_ids, vectors = _unmatched(store, model, include_whole, limit)
    found: list[tuple[list[int], float]] = []
    if len(ids) >= min_size:
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(np.ascontiguousarray(vectors))
        sims, nbrs = index.search(np.ascontiguousarray(vectors), min(neighbours, len(ids)))
        close = [
            [int(j) for s, j in zip(srow, nrow, strict=True) if j >= 0 and s >= threshold]
            for srow, nrow in zip(sims, nbrs, strict=True)
        ]
        order = sorted(range(len(ids)), key=lambda i: (-len(close[i]), i))
        taken = np.zeros(len(ids), bool)
        for i in order:
            if taken[i]:
                continue
            members = [i] + [j for j in close[i] if j != i and not taken[j]]
            if len(members) < min_size:
                continue
            taken[members] = True
            cohesion = float(np.mean(vectors[members[1:]] @ vectors[i]))
            found.append((members, cohesion))
    found.sort(key=lambda g: (-len(g[0]), int(ids[g[0][0]])))
    groups = [
        Group(n, tuple(int(ids[m]) for m in members), len({int(photo_ids[m]) for m in members}), cohesion)
        for n, (members, cohesion) in enumerate(found, 1)
    ]
    with store.transaction():
        store.conn.execute("DELETE FROM album_groups")
        store.conn.executemany(
            "INSERT INTO album_groups(id, model, regions, created) VALUES (?,?,?,?)",
            [(g.id, model, json.dumps(g.regions), time.time()) for g in groups],
        )
    return groups


def stored_group(store: Store, group_id: int) -> tuple[str, list[int]]:
    row = store.conn.execute("SELECT model, regions FROM album_groups WHERE id = ?", (group_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no group {group_id}; list them again with `rap-desktop groups list`")
    return row[0], json.loads(row[1])


def _regions(store: Store, ids: list[int]) -> list[tuple[photos.StoredRegion, str, str | None]]:
    """(region, photo sha256, photo path) of the regions that still exist, in the order given."""
    out = {}
    marks = ",".join("?" * len(ids))
    for row in store.conn.execute(
        "SELECT r.id, r.photo_id, r.ordinal, r.x1, r.y1, r.x2, r.y2, r.label, r.score, r.source, r.vector, p.sha256 "
        f"FROM regions r JOIN photos p ON p.id = r.photo_id WHERE r.id IN ({marks})",
        ids,
    ):
        out[row[0]] = (photos._region(row[:11]), row[11])
    paths = album_store.photo_paths(store, sorted({r.photo_id for r, _ in out.values()}))
    return [(out[i][0], out[i][1], paths.get(out[i][0].photo_id)) for i in ids if i in out]


def name_group(store: Store, group_id: int, name: str, info: str = "", category: str | None = None) -> Named:
    """The stored listing entry `group_id` becomes `name` (see `name_members`)."""
    model, ids = stored_group(store, group_id)
    return name_members(store, model, ids, name, info, category, what=f"group {group_id}")


def name_members(
    store: Store,
    model: str,
    ids: list[int],
    name: str,
    info: str = "",
    category: str | None = None,
    what: str = "the group",
) -> Named:
    """The regions `ids` (founder first) become `name` (a new concept, or more of an existing one)
    in one transaction: the founder's crop is registered as an exemplar (its stored embedding
    reused), every member gets a confirmed match, and one correction-log row says how to take it
    all back. The stored listing is cleared: it is stale now."""
    members = _regions(store, ids)
    if not members:
        raise RapError(f"{what} no longer exists (its photos were re-indexed); list the groups again")
    founder, sha256, path = next(((r, s, p) for r, s, p in members if p), members[0])
    crop = _crop_png(store, path, founder, sha256)  # read before the write lock: no I/O while holding it
    shown = names.clean_name(name)
    existing = store.find_concept(shown)
    with store.transaction():
        if existing is not None:
            concept_id = existing.id
        else:
            now = time.time()
            store.refuse_lookalike(shown)
            try:
                cur = store.conn.execute(
                    "INSERT INTO concepts(name, name_key, info, category, created, updated) VALUES (?,?,?,?,?,?)",
                    (shown, shown.casefold(), info.strip(), names.clean_category(category or founder.label), now, now),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(f"a concept named {names.tag(shown)} was added meanwhile; try again") from None
            concept_id = int(cur.lastrowid)
        exemplar = store._insert_exemplar(
            concept_id, NewExemplar(crop, None, "confirmed", {model: founder.vector}), None, time.time()
        )
        confirmed = []
        for region, _, _ in members:
            confirmed.append(
                {"region": region.id, "concept": concept_id, "previous": _previous(store, region.id, concept_id)}
            )
            _set_match(store, region, concept_id, "confirmed", True)
        created = concept_id if existing is None else None  # `match undo` takes it all back, as one correction
        _log(store, "name_group", {"exemplar": exemplar.id, "created": created, "members": confirmed})
        store.conn.execute("DELETE FROM album_groups")  # the listing is stale now
    return Named(existing.name if existing else shown, existing is None, founder.id, len(members))
