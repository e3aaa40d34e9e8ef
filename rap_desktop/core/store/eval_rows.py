"""Reads for turning the album into a test set (core/eval)."""

from __future__ import annotations

from .base import Store


def confirmed_labels(store: Store) -> list[tuple]:
    """(photo path, photo sha256, concept name, x1, y1, x2, y2) of every confirmed match, by photo
    then concept name."""
    return store.conn.execute(
        "SELECT p.path, p.sha256, c.name, r.x1, r.y1, r.x2, r.y2 FROM matches m "
        "JOIN regions r ON r.id = m.region_id JOIN photos p ON p.id = r.photo_id "
        "JOIN concepts c ON c.id = m.concept_id WHERE m.status = 'confirmed' ORDER BY p.id, c.name"
    ).fetchall()
