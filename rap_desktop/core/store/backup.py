"""Reads for export (core/backup.py) that rescue what a damaged store still holds: each stops at,
or steps past, what SQLite cannot read and says so in `left_out` instead of raising."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from .base import Store


def _rows(store: Store, sql: str, args: tuple, what: str, left_out: list[str]) -> Iterator[tuple]:
    """The rows of a query up to the first one SQLite cannot read (a damaged page); that is reported."""
    try:
        yield from store.conn.execute(sql, args)
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        left_out.append(f"{what}: the rest cannot be read ({exc})")


def _table(store: Store, columns: str, table: str, left_out: list[str]) -> Iterator[tuple]:
    """Every readable row of a table in id order (`columns` starts with id). Past a damaged page the
    reading goes on at ever larger id steps, so the rows after the damage are rescued too."""
    sql = f"SELECT {columns} FROM {table} WHERE id > ? ORDER BY id"
    try:
        last = store.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        top = int(last[0]) if last else 0
    except (sqlite3.DatabaseError, UnicodeDecodeError, TypeError, ValueError):
        top = 0
    after, step, failed = 0, 1, None
    while True:
        try:
            for row in store.conn.execute(sql, (after,)):
                after, step = row[0], 1
                yield row
            break
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            failed = failed or exc
            if after >= top:
                break
            after, step = after + step, step * 2
    if failed is not None:
        left_out.append(f"table {table}: some rows cannot be read ({failed}); the readable ones are exported")


def readable_concepts(store: Store, left_out: list[str]) -> Iterator[tuple]:
    """(id, name, info, category, created) of every readable concept, by id."""
    return _table(store, "id, name, info, category, created", "concepts", left_out)


def readable_exemplars(store: Store, left_out: list[str]) -> Iterator[tuple]:
    """(id, concept_id, image, box, source, created) of every readable exemplar, by id."""
    return _table(store, "id, concept_id, image, box, source, created", "exemplars", left_out)


def readable_embeddings(store: Store, exemplar_id: int, what: str, left_out: list[str]) -> Iterator[tuple]:
    """(model, dim, vector blob) of an exemplar's embeddings, up to the first unreadable one."""
    sql = "SELECT model, dim, vector FROM embeddings WHERE exemplar_id = ?"
    return _rows(store, sql, (exemplar_id,), what, left_out)


def readable_hidden(store: Store, left_out: list[str]) -> Iterator[tuple]:
    """(id, sha256, x1, y1, x2, y2, group_id, created) of every readable hidden region, by id."""
    return _table(store, "id, sha256, x1, y1, x2, y2, group_id, created", "hidden_regions", left_out)


def readable_hidden_vectors(store: Store, hidden_id: int, what: str, left_out: list[str]) -> Iterator[tuple]:
    """(model, dim, vector blob) of a hidden region's looks (core/store/hidden_vectors.py)."""
    sql = "SELECT model, dim, vector FROM hidden_vectors WHERE hidden_id = ? ORDER BY model"
    return _rows(store, sql, (hidden_id,), what, left_out)
