"""Rows behind the "Who's this?" queue: matches a person should look at, and a group's nearest concept."""

from __future__ import annotations

from collections.abc import Sequence

from .base import Store
from .hidden import IS_HIDDEN

_RUNNER_UP = (
    "(SELECT o.similarity FROM matches o WHERE o.region_id = m.region_id AND o.concept_id != m.concept_id "
    " AND o.status = 'auto' ORDER BY o.similarity DESC LIMIT 1) AS second, "
    "(SELECT o.concept_id FROM matches o WHERE o.region_id = m.region_id AND o.concept_id != m.concept_id "
    " AND o.status = 'auto' ORDER BY o.similarity DESC LIMIT 1) AS other "
)
_UNDECIDED = (
    "r.model = ? AND r.source != 'whole' "
    "AND NOT EXISTS (SELECT 1 FROM matches d WHERE d.region_id = m.region_id AND d.status != 'auto') "
    f"AND NOT {IS_HIDDEN}"
)
# The candidates, through the matches_unsure index (core/store/review_cache.py): accepted automatic
# matches under threshold + margin, and regions whose runner-up (never accepted: a region holds one
# concept) comes within `close` of an accepted match at or over threshold + margin.
_CANDIDATES = (
    "SELECT region_id FROM matches WHERE accepted = 1 AND status = 'auto' AND similarity < ? "
    "UNION SELECT region_id FROM matches WHERE accepted = 0 AND status = 'auto' AND similarity >= ?"
)


def _candidates(store: Store, model: str, below: float, runner_up: float) -> list[tuple]:
    """The rows `uncertain_matches` tests, for the candidates only: each candidate's own accepted match
    with its other automatic rows joined (one pass instead of two sorted sub-queries per match)."""
    sql = f"WITH unsure(region_id) AS ({_CANDIDATES}) SELECT m.region_id, m.concept_id, m.similarity, "
    sql += "o.similarity, o.concept_id FROM unsure u JOIN matches m ON m.region_id = u.region_id "
    sql += "JOIN regions r ON r.id = m.region_id "
    sql += "LEFT JOIN matches o ON o.region_id = m.region_id AND o.concept_id != m.concept_id AND o.status = 'auto' "
    # unary +: the candidate's own rows come through the primary key, not the whole accepted range
    sql += f"WHERE +m.accepted = 1 AND +m.status = 'auto' AND {_UNDECIDED}"
    best: dict[tuple[int, int], tuple] = {}
    for region, concept, similarity, second, other in store.conn.execute(sql, (below, runner_up, model)):
        key = (region, concept)
        held = best.get(key)
        if held is None or (second is not None and (held[3] is None or (-second, other) < (-held[3], held[4]))):
            best[key] = (region, concept, similarity, second, other)
    return list(best.values())


def uncertain_matches(
    store: Store, model: str, threshold: float, margin: float, close: float, limit: int, scan: bool = False
) -> list[tuple[int, int, float, float | None, int | None]]:
    """(region id, concept id, similarity, runner-up similarity, runner-up concept) of the automatic,
    accepted matches a person has not decided on, that are either within `margin` of the threshold or
    within `close` of another concept; least sure first (hidden and whole-photo regions left out).
    `scan`: test every accepted match (the way before the index; kept to compare)."""
    if scan:
        sql = f"SELECT m.region_id, m.concept_id, m.similarity, {_RUNNER_UP} FROM matches m "
        sql += f"JOIN regions r ON r.id = m.region_id WHERE m.accepted = 1 AND m.status = 'auto' AND {_UNDECIDED}"
        rows = store.conn.execute(sql, (model,)).fetchall()
    else:
        rows = _candidates(store, model, threshold + margin, threshold + margin - close)
    unsure = []
    for region, concept, similarity, second, other in rows:
        gap = similarity - second if second is not None else 1.0
        if similarity < threshold + margin or gap <= close:
            unsure.append((min(similarity - threshold, gap), region, concept, similarity, second, other))
    unsure.sort()
    return [(r, c, s, second, other) for _, r, c, s, second, other in unsure[:limit]]


def nearest_concept(store: Store, region_ids: Sequence[int]) -> tuple[int, float] | None:
    """(concept id, mean similarity over all the regions) of the concept the regions are closest to
    where no region was said not to be it, or None when none is a candidate."""
    ids = list(region_ids)
    if not ids:
        return None
    marks = ",".join("?" * len(ids))
    row = store.conn.execute(
        f"SELECT m.concept_id, SUM(m.similarity) / ? AS mean FROM matches m WHERE m.region_id IN ({marks}) "
        f"AND m.status = 'auto' AND m.concept_id NOT IN (SELECT d.concept_id FROM matches d "
        f"WHERE d.region_id IN ({marks}) AND d.status != 'auto') "
        "GROUP BY m.concept_id ORDER BY mean DESC, m.concept_id LIMIT 1",
        [len(ids), *ids, *ids],
    ).fetchone()
    return (int(row[0]), float(row[1])) if row else None


def region_match(store: Store, region_id: int) -> tuple[int, float] | None:
    """(concept id, similarity) of the region's automatic accepted match, or None."""
    row = store.conn.execute(
        "SELECT concept_id, similarity FROM matches WHERE region_id = ? AND accepted = 1 AND status = 'auto' "
        "ORDER BY similarity DESC LIMIT 1",
        (region_id,),
    ).fetchone()
    return (int(row[0]), float(row[1])) if row else None


def region_photo(store: Store, region_id: int) -> tuple[str, str, int] | None:
    """(photo sha256, region name "rN", photo id) of a region, or None."""
    row = store.conn.execute(
        "SELECT p.sha256, r.ordinal, p.id FROM regions r JOIN photos p ON p.id = r.photo_id WHERE r.id = ?",
        (region_id,),
    ).fetchone()
    return (row[0], f"r{row[1]}", int(row[2])) if row else None
