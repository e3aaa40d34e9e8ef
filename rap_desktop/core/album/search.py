"""Album search: photos where concepts are accepted (one, several "together", or "only them"), and
photos by a text description (CLIP text embedding against the stored region and whole-photo
embeddings), optionally within those concepts' photos.

A text search scores every photo (its best region) and returns the photos above a relevance cut
(`relevance_cut`), not a re-ordering of the whole album; the photos below the cut stay reachable
("show more"), and the count is always the number of photos returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..store import Store, concept_sets, matches
from ..store import album as album_store
from ..store.photos import region_boxes
from . import region_vectors

TOGETHER = "together"  # photos where every one of the concepts is accepted
ONLY = "only"  # photos with exactly these concepts accepted and no other known concept
HOW = (TOGETHER, ONLY)

# The relevance cut (see `relevance_cut`): scale-free, so it holds for any embedding model.
RATIO = 0.5  # found: at least half as far above the typical photo as the best one is
GAP = 0.15  # a drop of this share of the best's lead, after the second photo or later, ends the results
MORE = 24  # photos one "show more" adds


@dataclass(frozen=True)
class PhotoHit:
    photo_id: int
    sha256: str
    path: str | None
    score: float  # similarity of the best region (concept) or of the best region to the text
    region: str  # "r1": the region that scored
    box: tuple[float, float, float, float]
    confirmed: bool = False  # the user confirmed this concept (every one of them) here
    taken: float | None = None


@dataclass(frozen=True)
class Cut:
    """Where a ranked list of scores stops being "found"."""

    found: int  # photos above the cut
    best: float
    typical: float  # the median score: what an unrelated photo scores for this query
    line: float  # the lowest score above the cut
    rule: str  # "relative", "gap", "all" (nothing stands out: every photo is as good), "none"


def relevance_cut(scores: np.ndarray) -> Cut:
    """The cut for `scores` sorted best first.

    - Relative to the best and to the typical photo: a photo is found when it stands at least
      RATIO as far above the median score as the best one does (CLIP similarities of unrelated
      photos sit close together; what matters is how far a photo stands out, not the raw number,
      which differs per model and per query).
    - A gap: a clear drop (at least GAP of the best's lead) inside those photos ends the results
      there: a plateau of real matches, then a cliff. Only from the second photo on, so one
      outstanding photo does not hide the other good ones.
    - The floor: nothing at or below the median is ever found, and the best photo always is
      (an album with photos never answers "0 photos" to a search; "show more" goes on from it).
    """
    n = len(scores)
    if n == 0:
        return Cut(0, 0.0, 0.0, 0.0, "none")
    best, typical = float(scores[0]), float(np.median(scores))
    lead = best - typical
    if lead <= 1e-9 * max(1.0, abs(best)):
        return Cut(n, best, typical, float(scores[-1]), "all")
    found = max(1, int(np.count_nonzero(scores >= typical + RATIO * lead)))
    rule = "relative"
    if found > 2:
        drops = scores[1 : found - 1] - scores[2:found]  # drops after the 2nd, 3rd, ... photo
        at = int(np.argmax(drops))
        if drops[at] >= GAP * lead:
            found, rule = at + 2, "gap"
    return Cut(found, best, typical, float(scores[found - 1]), rule)


@dataclass(frozen=True)
class Ranking:
    """Every searched photo, best first, with its best region."""

    photo_ids: np.ndarray
    scores: np.ndarray
    regions: np.ndarray  # the best region's id per photo
    cut: Cut


@dataclass(frozen=True)
class Found:
    """What a search returns: the photos above the cut, plus `shown_more` of those below it."""

    hits: list[PhotoHit]
    found: int  # above the cut
    more: int  # below the cut and not returned ("show N more")
    cut: Cut | None = None  # None for a concept search: the matches are already decisions

    @property
    def total(self) -> int:
        return len(self.hits) + self.more


def _best_regions(store: Store, concept_id: int) -> dict[int, tuple]:
    """photo id -> its best accepted region row of the concept (confirmed first, then similarity)."""
    best: dict[int, tuple] = {}
    for row in matches.accepted_regions(store, concept_id):
        if row[0] not in best or (row[7], row[6]) > (best[row[0]][7], best[row[0]][6]):
            best[row[0]] = row
    return best


def _hits(store: Store, rows: list[tuple]) -> list[PhotoHit]:
    ids = [r[0] for r in rows]
    info, paths = album_store.dated_info(store, ids), album_store.photo_paths(store, ids)
    return [
        PhotoHit(pid, info[pid][0], paths.get(pid), float(sim), f"r{ordinal}", tuple(box), bool(sure), info[pid][1])
        for pid, ordinal, *box, sim, sure in rows
        if pid in info
    ]


def by_concept(store: Store, name: str, limit: int | None = None) -> list[PhotoHit]:
    """Photos where `name` is accepted: confirmed first, then by similarity."""
    return by_concepts(store, [name])[:limit]


def concept_photos(store: Store, names: Sequence[str], how: str = TOGETHER) -> list[int]:
    """Ids of the photos where every one of `names` is accepted (`how` = ONLY: and no other known concept)."""
    if how not in HOW:
        raise ValueError(f"how: {how!r}")
    ids = [store.get_concept(n).id for n in dict.fromkeys(names)]  # NotFoundError for an unknown name
    if not ids:
        return []
    wanted = set(ids)
    accepted = concept_sets.accepted_sets(store, concept_sets.photos_with_any(store, ids))
    return sorted(p for p, have in accepted.items() if (have == wanted if how == ONLY else wanted <= have))


def by_concepts(store: Store, names: Sequence[str], how: str = TOGETHER) -> list[PhotoHit]:
    """Photos where all of `names` are accepted ("together"), or exactly them ("only"): photos where
    every one is confirmed first, then by the weakest of their similarities. The hit's region is
    the first concept's."""
    allowed = set(concept_photos(store, names, how))
    if not allowed:
        return []
    per_concept = [_best_regions(store, store.get_concept(n).id) for n in dict.fromkeys(names)]
    rows = []
    for pid in allowed:
        picked = [best[pid] for best in per_concept]
        first = picked[0]
        rows.append((*first[:6], min(r[6] for r in picked), all(r[7] for r in picked)))
    rows.sort(key=lambda r: (-r[7], -r[6], r[0]))
    return _hits(store, rows)


def found_by_concepts(store: Store, names: Sequence[str], how: str = TOGETHER) -> Found:
    hits = by_concepts(store, names, how)
    return Found(hits, len(hits), 0)


@dataclass(frozen=True)
class _Groups:
    """The region matrix's rows grouped by photo (computed once per matrix)."""

    order: np.ndarray  # rows sorted by photo
    photos: np.ndarray  # the distinct photo ids
    starts: np.ndarray  # where each photo's rows begin in `order`
    segment: np.ndarray  # per sorted row, its photo's position in `photos`
    region_ids: np.ndarray  # per sorted row, the region id


class TextSearch:
    def __init__(self, store: Store, embedder) -> None:
        self.store = store
        self.embedder = embedder
        self._key: str | None = None
        self._groups: _Groups | None = None

    def _load(self) -> tuple[region_vectors.RegionVectors, _Groups]:
        matrix = region_vectors.load(self.store, self.embedder.model_id)
        if matrix.key != self._key or self._groups is None:  # regions grouped by photo, kept while they last
            order = np.argsort(matrix.photo_ids, kind="stable")
            photos, starts = np.unique(matrix.photo_ids[order], return_index=True)
            segment = np.repeat(np.arange(len(photos)), np.diff(np.append(starts, len(order))))
            self._groups, self._key = _Groups(order, photos, starts, segment, matrix.ids[order]), matrix.key
        return matrix, self._groups

    def rank(self, text: str, photo_ids: Sequence[int] | None = None) -> Ranking:
        """Every photo (or those of `photo_ids`) scored by its best region against `text`, best first."""
        matrix, groups = self._load()
        photos, segment = groups.photos, groups.segment
        query = np.ascontiguousarray(self.embedder.embed_texts([text]), np.float32)[0]
        if not len(matrix.rows):
            empty = np.zeros(0, np.int64)
            return Ranking(empty, np.zeros(0, np.float32), empty, relevance_cut(np.zeros(0)))
        sims = (matrix.vectors @ query)[groups.order]  # every region: the cut needs every photo's score
        best = np.maximum.reduceat(sims, groups.starts)
        # the best region of each photo: the first region whose similarity is its photo's best
        at = np.flatnonzero(sims >= best[segment])
        regions = groups.region_ids[at[np.unique(segment[at], return_index=True)[1]]]
        if photo_ids is not None:
            keep = np.isin(photos, np.asarray(list(photo_ids), np.int64))
            photos, best, regions = photos[keep], best[keep], regions[keep]
        ranked = np.lexsort((photos, -best))  # best first; ties by photo id (stable across calls)
        scores = best[ranked]
        return Ranking(photos[ranked], scores, regions[ranked], relevance_cut(scores))

    def hits(self, ranking: Ranking, start: int, stop: int) -> list[PhotoHit]:
        ids = [int(p) for p in ranking.photo_ids[start:stop]]
        rids = [int(r) for r in ranking.regions[start:stop]]
        info, paths = album_store.dated_info(self.store, ids), album_store.photo_paths(self.store, ids)
        boxes = region_boxes(self.store, rids)
        return [
            PhotoHit(pid, info[pid][0], paths.get(pid), s, f"r{boxes[rid][0]}", boxes[rid][1], taken=info[pid][1])
            for pid, rid, s in zip(ids, rids, ranking.scores[start:stop].tolist(), strict=True)
            if pid in info and rid in boxes
        ]

    def search(self, text: str, concepts: Sequence[str] = (), how: str = TOGETHER, more: int = 0) -> Found:
        """The photos above the relevance cut for `text`, plus `more` of those below it; with
        `concepts`, only among the photos where they are accepted (`how`)."""
        allowed = concept_photos(self.store, concepts, how) if concepts else None
        ranking = self.rank(text, allowed)
        shown = min(len(ranking.photo_ids), ranking.cut.found + max(0, more))
        hits = self.hits(ranking, 0, shown)
        return Found(hits, ranking.cut.found, len(ranking.photo_ids) - shown, ranking.cut)
