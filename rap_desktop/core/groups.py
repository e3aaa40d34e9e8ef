"""Unknown groups: regions that match no concept but look alike, offered as "new concept?".

Clustering is greedy and deterministic over the stored embeddings (no model run): each region's
nearest neighbours come from one batched FAISS search; the region with the most neighbours above
the similarity threshold founds a group with its still-free neighbours, and so on. A group is at
most `neighbours` regions: naming it registers its founder as an exemplar, confirms the others,
and the re-match that follows finds the look-alikes beyond it.

The last listing is stored (album_groups), so `groups name ID` names exactly what was shown. Ids are
stable: a group found again takes the id of the listed group it shares most regions with (at least
half of the smaller one), a new group a fresh id (never one given before). Naming or hiding a group
drops only its own entry: the others keep their ids, and `groups name ID` still works without
listing again.

Asking the next question must not cluster again (seconds at 10,000 regions): what the listing was
clustered from is stored too (core/store/review_cache.py), and the stored listing is reused, trimmed of
the regions that left the unmatched set (named, hidden, matched by the re-match after an answer), while
no region joined it that looks like another unmatched one. Such a region (new photos indexed, a match
rejected or undone, an unhide) has the groups clustered again; one that looks like no one cannot change
any group and is let in. A set of unmatched regions one of the last two clusterings saw (the undo of an
answer) gets that clustering's groups back as they were, without clustering.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import faiss
import numpy as np

from . import names
from .corrections import _crop_png
from .errors import ConflictError, NotFoundError, RapError
from .store import NewExemplar, Store, hidden_vectors, photos, review_cache
from .store import album as album_store
from .store import concepts as concepts_table
from .store import corrections as log_table
from .store import groups as groups_table


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


def _stacked(blobs: list[bytes]) -> np.ndarray:
    """Stored vector blobs as the rows of one float32 matrix."""
    return np.stack([np.frombuffer(blob, np.float32) for blob in blobs])


def _unmatched(store: Store, model: str, include_whole: bool, limit: int):
    # a region the user confirmed is known even where it is not accepted (one slot per concept and photo)
    rows = groups_table.unmatched_regions(store, model, include_whole, limit)
    rows.reverse()  # oldest first: stable ids for tie-breaking
    ids = np.array([r[0] for r in rows], np.int64)
    photo_ids = np.array([r[1] for r in rows], np.int64)
    vectors = _stacked([r[2] for r in rows]) if rows else np.zeros((0, 1), np.float32)
    return ids, photo_ids, vectors


def find_groups(
    store: Store,
    model: str,
    threshold: float = 0.9,
    min_size: int = 3,
    neighbours: int = 32,
    limit: int = 10_000,
    include_whole: bool = False,
    reuse: bool = True,
) -> list[Group]:
    """Cluster the newest `limit` unmatched regions (whole-photo regions left out unless asked);
    groups of at least `min_size`, largest first. Stores the listing for `name_group`; reuses the
    stored one while it holds (`_kept`), unless `reuse` is False."""
    settings = _settings(model, threshold, min_size, neighbours, limit, include_whole)
    kept = _kept(store, settings) if reuse else None
    if kept is not None:
        return kept
    basis = groups_table.unmatched_ids(store, model, include_whole, limit)  # read first: a later joiner is seen
    ids, photo_ids, vectors = _unmatched(store, model, include_whole, limit)
    shown = ~hidden_vectors.lookalike_mask(store, model, vectors, threshold)  # not a hidden stranger's look-alike
    ids, photo_ids, vectors = ids[shown], photo_ids[shown], vectors[shown]
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
    members = [tuple(int(ids[m]) for m in ms) for ms, _ in found]
    photos_of = {**basis, **dict(zip(ids.tolist(), photo_ids.tolist(), strict=True))}
    clustered = [(regions, cohesion) for regions, (_, cohesion) in zip(members, found, strict=True)]
    return _listed(store, settings, basis, photos_of, clustered, new=True)


def _listed(
    store: Store,
    settings: dict,
    basis: dict[int, int],
    photos_of: dict[int, int],
    found: list[tuple[tuple[int, ...], float]],
    new: bool,
) -> list[Group]:
    """`found` (regions founder first, cohesion) becomes the stored listing under stable ids, with what
    it was found in (`basis`: the unmatched regions' ids); `new`: a clustering ran (the generation)."""
    members = [regions for regions, _ in found]
    with store.transaction():
        numbers = stable_ids(groups_table.listing(store), members, groups_table.next_group_id(store))
        groups_table.replace_listing(store, settings["model"], list(zip(numbers, members, strict=True)))
        floor = min(basis, default=0) if len(basis) >= settings["limit"] else 0
        cohesion = {n: c for n, (_, c) in zip(numbers, found, strict=True)}
        clustering = review_cache.Clustering(frozenset(basis), tuple(found))
        review_cache.save_basis(store, settings, list(basis), floor, cohesion, clustering, new)
    return [
        Group(n, regions, len({photos_of[r] for r in regions}), cohesion)
        for n, (regions, cohesion) in zip(numbers, found, strict=True)
    ]


def _settings(model: str, threshold: float, min_size: int, neighbours: int, limit: int, include_whole: bool) -> dict:
    return {
        "model": model,
        "threshold": float(threshold),
        "min_size": int(min_size),
        "neighbours": int(neighbours),
        "limit": int(limit),
        "include_whole": bool(include_whole),
    }


def _kept(store: Store, settings: dict) -> list[Group] | None:
    """The stored listing, when it holds: clustered with these settings, and no region joined the
    unmatched set since that could be in a group. Regions that left it are trimmed from their groups;
    a set of regions one of the last two clusterings saw (an undo) gets that clustering's groups back;
    regions older than the clustered ones, let in by the limit, wait for the next clustering (unless
    every group is gone). None: cluster again."""
    basis = review_cache.basis(store)
    if basis is None or basis.settings != settings:
        return None
    now = groups_table.unmatched_ids(store, settings["model"], settings["include_whole"], settings["limit"])
    current = np.sort(np.fromiter(now, np.int64, len(now)))
    if not np.array_equal(current, basis.regions):
        for earlier in basis.clusterings:
            if earlier.regions == frozenset(now):
                return _listed(store, settings, now, now, list(earlier.groups), new=False)
    waiting = current[current < basis.floor]
    joined = np.setdiff1d(current[current >= basis.floor], basis.regions)
    if len(joined) and not _apart(store, settings["threshold"], list(now), joined.tolist()):
        return None
    listing = groups_table.live_listing(store)
    live = set(now) - _lookalikes(store, settings, [r for _, regions in listing for r in regions])
    kept, trimmed = [], []
    for gid, regions in listing:
        present = tuple(r for r in regions if r in live)
        if len(present) < len(regions) or gid not in basis.cohesion:
            trimmed.append(gid)
        if len(present) >= settings["min_size"]:
            kept.append((gid, present))
    if not kept and len(waiting):
        return None
    cohesion = {gid: basis.cohesion.get(gid, 0.0) for gid, _ in kept}
    standing = current[current >= basis.floor]
    if trimmed or not np.array_equal(standing, basis.regions):
        cohesion.update(_cohesion(store, [(gid, regions) for gid, regions in kept if gid in trimmed]))
        with store.transaction():
            for gid, regions in listing:
                if gid in trimmed:
                    present = [r for r in regions if r in live]
                    if len(present) >= settings["min_size"]:
                        groups_table.set_regions(store, gid, present)
                    else:
                        groups_table.retire(store, gid)
            review_cache.shrink(store, standing, cohesion)
    kept.sort(key=lambda g: (-len(g[1]), g[1][0]))
    return [Group(gid, regions, len({now[r] for r in regions}), cohesion[gid]) for gid, regions in kept]


def _lookalikes(store: Store, settings: dict, listed: list[int]) -> set[int]:
    """The listed regions that look like a hidden stranger now: a hide (or a restored backup) since the
    clustering leaves the unmatched set as it was but must still take the stranger's look-alikes out."""
    blobs = groups_table.vectors(store, listed) if listed and hidden_vectors.any_hidden(store) else {}
    if not blobs:
        return set()
    ids = list(blobs)
    vectors = _stacked([blobs[i] for i in ids])
    mask = hidden_vectors.lookalike_mask(store, settings["model"], vectors, settings["threshold"])
    return {i for i, hidden in zip(ids, mask.tolist(), strict=True) if hidden}


def _apart(store: Store, threshold: float, unmatched: list[int], joined: list[int]) -> bool:
    """No region of `joined` looks like another unmatched one (similarity under `threshold` to each):
    clustering again would put none of them in a group and change no group (it only follows pairs over
    the threshold), as when a re-match lets go of a region that looks like no one else."""
    blobs = groups_table.vectors(store, unmatched)
    if any(r not in blobs for r in joined):
        return False
    ids = [r for r in unmatched if r in blobs]
    place = {r: n for n, r in enumerate(ids)}
    everyone = _stacked([blobs[r] for r in ids])
    sims = everyone[[place[r] for r in joined]] @ everyone.T
    sims[np.arange(len(joined)), [place[r] for r in joined]] = -1.0  # a region is not its own look-alike
    return bool(np.all(sims < threshold))


def _cohesion(store: Store, found: list[tuple[int, tuple[int, ...]]]) -> dict[int, float]:
    """Group id -> mean similarity of the members to the founder, from the stored vectors."""
    blobs = groups_table.vectors(store, [r for _, regions in found for r in regions])
    out = {}
    for gid, regions in found:
        vectors = _stacked([blobs[r] for r in regions])
        out[gid] = float(np.mean(vectors[1:] @ vectors[0]))
    return out


def stable_ids(previous: dict[int, list[int]], found: list[tuple[int, ...]], fresh: int) -> list[int]:
    """An id per group of `found`: the previous group's it overlaps most (one to one, by at least half
    of the smaller of the two), else a fresh one counting up from `fresh`."""
    pairs = []
    for n, regions in enumerate(found):
        mine = set(regions)
        for gid, theirs in previous.items():
            shared = len(mine & set(theirs))
            if shared and 2 * shared >= min(len(mine), len(theirs)):
                pairs.append((-shared, n, gid))
    out: list[int | None] = [None] * len(found)
    used: set[int] = set()
    for _, n, gid in sorted(pairs):
        if out[n] is None and gid not in used:
            out[n] = gid
            used.add(gid)
    for n in range(len(found)):
        if out[n] is None:
            out[n] = fresh
            fresh += 1
    return out  # type: ignore[return-value]


def stored_group(store: Store, group_id: int) -> tuple[str, list[int]]:
    found = groups_table.listed_group(store, group_id)
    if found is None:
        raise NotFoundError(f"no group {group_id}; list them again with `rap-desktop groups list`")
    return found


def member_regions(store: Store, ids: list[int]) -> list[tuple[photos.StoredRegion, str, str | None]]:
    """(region, photo sha256, photo path) of the regions that still exist, in the order given."""
    out = {}
    for row in groups_table.regions_with_photo(store, ids):
        out[row[0]] = (photos.region_from_row(row[:11]), row[11])
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
    all back. The listing entries holding these regions go; the other groups keep their ids."""
    members = member_regions(store, ids)
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
            kind = names.clean_category(category or founder.label)
            try:
                concept_id = concepts_table.insert_concept(store, shown, info.strip(), kind, now, now)
            except ConflictError:
                raise ConflictError(f"a concept named {names.tag(shown)} was added meanwhile; try again") from None
        exemplar = store.insert_exemplar(
            concept_id, NewExemplar(crop, None, "confirmed", {model: founder.vector}), None, time.time()
        )
        confirmed = []
        for region, _, _ in members:
            previous = log_table.match_state(store, region.id, concept_id)
            confirmed.append({"region": region.id, "concept": concept_id, "previous": previous})
            log_table.set_match_status(store, region.id, concept_id, "confirmed", True)
        created = concept_id if existing is None else None  # `match undo` takes it all back, as one correction
        log_table.log(store, "name_group", {"exemplar": exemplar.id, "created": created, "members": confirmed})
        groups_table.drop_groups_with(store, [r.id for r, _, _ in members])
    return Named(existing.name if existing else shown, existing is None, founder.id, len(members))
