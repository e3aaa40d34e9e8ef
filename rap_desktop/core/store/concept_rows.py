"""Single concept and exemplar rows for callers that compose them inside their own transaction."""

from __future__ import annotations

import sqlite3

from .. import names
from ..errors import ConflictError
from .base import Store


def concept_exists(store: Store, concept_id: int) -> bool:
    return store.conn.execute("SELECT 1 FROM concepts WHERE id = ?", (concept_id,)).fetchone() is not None


def insert_concept(store: Store, name: str, info: str, category: str, created: float, updated: float) -> int:
    """A new concept row (name already cleaned); its id. A name in use is a ConflictError."""
    try:
        cur = store.conn.execute(
            "INSERT INTO concepts(name, name_key, info, category, created, updated) VALUES (?,?,?,?,?,?)",
            (name, name.casefold(), info, category, created, updated),
        )
    except sqlite3.IntegrityError:
        raise ConflictError(f"a concept named {names.tag(name)} already exists") from None
    return int(cur.lastrowid)


def delete_concept(store: Store, concept_id: int) -> None:
    """The concept row; its exemplars, embeddings, negatives and matches go with it (ON DELETE CASCADE).
    The caller queues the exemplars' index entries and files on the transaction."""
    store.conn.execute("DELETE FROM concepts WHERE id = ?", (concept_id,))


def delete_exemplar(store: Store, exemplar_id: int) -> None:
    """Inside a transaction: the exemplar row goes, its vectors leave the indexes and its file is
    removed once no row names it (after COMMIT)."""
    pending = store.pending()
    image = store.conn.execute("SELECT image FROM exemplars WHERE id = ?", (exemplar_id,)).fetchone()
    store.conn.execute("DELETE FROM exemplars WHERE id = ?", (exemplar_id,))
    pending.remove.append(exemplar_id)
    if image:
        pending.files.add(image[0])
