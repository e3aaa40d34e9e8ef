"""Reads for `check` (core/health.py): SQLite's own checks and the rows whose soundness it judges.

Text can be read as raw bytes (`raw_text`), so a row that is not UTF-8 is reported, not a crash.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from .base import Store


def integrity_problems(store: Store, limit: int = 20) -> list[str]:
    """SQLite's integrity check: ["ok"] when sound."""
    return [r[0] for r in store.conn.execute(f"PRAGMA integrity_check({int(limit)})").fetchall()]


def dangling_references(store: Store) -> list[tuple]:
    """SQLite's foreign key check: one row per row pointing to a missing row (its table first)."""
    return store.conn.execute("PRAGMA foreign_key_check").fetchall()


def table_names(store: Store) -> list[str]:
    return [r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]


@contextlib.contextmanager
def text_as(store: Store, factory: Callable[[bytes], object]) -> Iterator[None]:
    """Text columns read through `factory` meanwhile (bytes: as they are stored)."""
    before = store.conn.text_factory
    store.conn.text_factory = factory
    try:
        yield
    finally:
        store.conn.text_factory = before


def raw_text(store: Store):
    """Text read as bytes meanwhile."""
    return text_as(store, bytes)


def table_columns(store: Store, table: str) -> list[tuple]:
    """PRAGMA table_info rows (cid, name, type, notnull, default, pk) of a table."""
    return store.conn.execute(f'PRAGMA table_info("{table}")').fetchall()


def table_rows(store: Store, table: str) -> Iterator[tuple]:
    """Every row of a table as (rowid, *columns), lazily: a damaged page raises where it is met."""
    yield from store.conn.execute(f'SELECT rowid, * FROM "{table}"')


def exemplar_files(store: Store) -> list[tuple]:
    """(exemplar id, image, concept name or None) of every exemplar, by id."""
    return store.conn.execute(
        "SELECT e.id, e.image, c.name FROM exemplars e LEFT JOIN concepts c ON c.id = e.concept_id ORDER BY e.id"
    ).fetchall()


def embedding_sizes(store: Store) -> list[tuple]:
    """(exemplar id, model, dim, vector length in bytes) of every embedding."""
    return store.conn.execute(
        "SELECT exemplar_id, model, dim, length(vector) FROM embeddings ORDER BY exemplar_id"
    ).fetchall()


def broken_vectors(store: Store, table: str) -> int:
    """How many rows of `table` (regions, negatives) hold a vector whose length is no whole float32 count."""
    return store.conn.execute(
        f"SELECT COUNT(*) FROM {table} WHERE vector IS NOT NULL AND length(vector) % 4 != 0"
    ).fetchone()[0]


def embedding_models(store: Store) -> list[str]:
    return [r[0] for r in store.conn.execute("SELECT DISTINCT model FROM embeddings")]


def embedded_exemplars(store: Store, model: str) -> set[int]:
    """Ids of the exemplars holding a vector of `model`."""
    return {r[0] for r in store.conn.execute("SELECT exemplar_id FROM embeddings WHERE model=?", (model,))}


def embedding_widths(store: Store) -> dict[str, int]:
    """model -> the (smallest) vector width stored for it."""
    return dict(store.conn.execute("SELECT model, MIN(dim) FROM embeddings GROUP BY model").fetchall())
