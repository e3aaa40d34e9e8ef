"""Match rows as the album's re-match and the searches read them, and what their decisions are made
from (exemplar vectors, negatives, the user's decisions). The per-photo rows retrieval writes are in
`photos`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .base import Store
from .photos import chunks

MatchRow = tuple[int, int, float, str, int]  # region id, concept id, similarity, status, accepted


def exemplar_owners(store: Store, exemplar_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """exemplar id -> (concept id, concept name) for each of these exemplars that exists."""
    owner: dict[int, tuple[int, str]] = {}
    for chunk in chunks(exemplar_ids):
        marks = ",".join("?" * len(chunk))
        for eid, cid, name in store.conn.execute(
            f"SELECT e.id, c.id, c.name FROM exemplars e JOIN concepts c ON c.id = e.concept_id "
            f"WHERE e.id IN ({marks})",
            chunk,
        ):
            owner[eid] = (cid, name)
    return owner


def exemplar_vectors(store: Store, model: str) -> list[tuple[int, int, bytes]]:
    """(exemplar id, concept id, vector bytes) of every exemplar embedded by `model`, by exemplar id."""
    return store.conn.execute(
        "SELECT m.exemplar_id, e.concept_id, m.vector FROM embeddings m JOIN exemplars e ON e.id = m.exemplar_id "
        "WHERE m.model = ? ORDER BY m.exemplar_id",
        (model,),
    ).fetchall()


def negative_vectors(store: Store, model: str) -> list[tuple[int, int, bytes]]:
    """(negative id, concept id, vector bytes) of every negative of `model`, by id."""
    return store.conn.execute(
        "SELECT id, concept_id, vector FROM negatives WHERE model = ? ORDER BY id", (model,)
    ).fetchall()


def model_decisions(store: Store, model: str) -> dict[tuple[int, int], str]:
    """(region, concept) -> confirmed | rejected | reassigned, over every region of `model`."""
    rows = store.conn.execute(
        "SELECT m.region_id, m.concept_id, m.status FROM matches m JOIN regions g ON g.id = m.region_id "
        "WHERE m.status != 'auto' AND g.model = ?",
        (model,),
    )
    return {(r, c): s for r, c, s in rows}


def concept_ids(store: Store) -> frozenset[int]:
    return frozenset(r[0] for r in store.conn.execute("SELECT id FROM concepts"))


def regions_matching(store: Store, concept_ids: Sequence[int]) -> set[int]:
    """The regions with a match row (of any status) of one of these concepts."""
    found: set[int] = set()
    for chunk in chunks(concept_ids):
        marks = ",".join("?" * len(chunk))
        found.update(
            r for (r,) in store.conn.execute(f"SELECT region_id FROM matches WHERE concept_id IN ({marks})", chunk)
        )
    return found


def match_rows(store: Store, model: str, regions: Sequence[int] | None = None) -> Iterator[MatchRow]:
    """The match rows of these regions (default: every region of `model`)."""
    if regions is None:
        yield from store.conn.execute(
            "SELECT region_id, concept_id, similarity, status, accepted FROM matches "
            "WHERE region_id IN (SELECT id FROM regions WHERE model = ?)",
            (model,),
        )
        return
    for chunk in chunks(regions):
        marks = ",".join("?" * len(chunk))
        yield from store.conn.execute(
            f"SELECT region_id, concept_id, similarity, status, accepted FROM matches WHERE region_id IN ({marks})",
            chunk,
        )


def delete_matches(store: Store, pairs: Sequence[tuple[int, int]]) -> None:
    """Inside a write: drop these (region, concept) rows."""
    store.conn.executemany("DELETE FROM matches WHERE region_id = ? AND concept_id = ?", pairs)


def upsert_matches(store: Store, rows: Sequence[MatchRow]) -> None:
    """Inside a write: add these rows; an existing (region, concept) row takes the new similarity and
    accepted flag and keeps its status (a decision of the user's stays one)."""
    store.conn.executemany(
        "INSERT INTO matches(region_id, concept_id, similarity, status, accepted) VALUES (?,?,?,?,?) "
        "ON CONFLICT(region_id, concept_id) DO UPDATE SET similarity = excluded.similarity, "
        "accepted = excluded.accepted",
        rows,
    )


def accepted_regions(store: Store, concept_id: int) -> list[tuple]:
    """(photo id, ordinal, x1, y1, x2, y2, similarity, confirmed) of every region where the concept is accepted."""
    return store.conn.execute(
        "SELECT r.photo_id, r.ordinal, r.x1, r.y1, r.x2, r.y2, m.similarity, m.status = 'confirmed' "
        "FROM matches m JOIN regions r ON r.id = m.region_id WHERE m.concept_id = ? AND m.accepted = 1",
        (concept_id,),
    ).fetchall()


def accepted_in_photo(store: Store, photo_id: int) -> list[tuple]:
    """(concept id, name, category, ordinal, x1, y1, x2, y2, similarity, confirmed) of the photo's accepted
    matches, confirmed first, then by similarity, then by region."""
    return store.conn.execute(
        "SELECT c.id, c.name, c.category, r.ordinal, r.x1, r.y1, r.x2, r.y2, m.similarity, m.status = 'confirmed' "
        "FROM matches m JOIN regions r ON r.id = m.region_id JOIN concepts c ON c.id = m.concept_id "
        "WHERE r.photo_id = ? AND m.accepted = 1 ORDER BY m.status = 'confirmed' DESC, m.similarity DESC, r.ordinal",
        (photo_id,),
    ).fetchall()
