"""Rows an import of people tags reads and takes back: the indexed album photos with their sizes,
and the regions the import added (removed again on undo). Writing functions run inside the caller's
`store.transaction()`."""

from __future__ import annotations

from .base import Store
from .concepts import delete_exemplar
from .photos import StoredRegion, region_from_row


def album_photos(store: Store) -> list[tuple[int, str, str, int, int]]:
    """(photo id, first path, sha256, width, height as displayed) of every indexed album photo once,
    by path."""
    rows = store.conn.execute(
        "SELECT f.photo_id, MIN(f.path) AS first, p.sha256, p.width, p.height FROM album_files f "
        "JOIN photos p ON p.id = f.photo_id WHERE f.status = 'indexed' GROUP BY f.photo_id ORDER BY first"
    )
    return [(int(r[0]), str(r[1]), str(r[2]), int(r[3] or 0), int(r[4] or 0)) for r in rows.fetchall()]


def region_id(store: Store, photo: int, ordinal: int) -> int:
    row = store.conn.execute("SELECT id FROM regions WHERE photo_id = ? AND ordinal = ?", (photo, ordinal)).fetchone()
    return int(row[0])


def region_by_id(store: Store, region: int) -> StoredRegion:
    row = store.conn.execute(
        "SELECT id, photo_id, ordinal, x1, y1, x2, y2, label, score, source, vector FROM regions WHERE id = ?",
        (region,),
    ).fetchone()
    return region_from_row(row)


def take_back(store: Store, payload: dict) -> None:
    """Inside the undo's write: the concepts an import made (their exemplars and matches go with
    them) and the regions it added for tags no stored region held."""
    for concept_id in payload.get("import_concepts", ()):
        # photos added to it since go too, files and index entries included (not just by cascade)
        held = store.conn.execute("SELECT id FROM exemplars WHERE concept_id = ?", (concept_id,)).fetchall()
        for (exemplar,) in held:
            delete_exemplar(store, exemplar)
        store.conn.execute("DELETE FROM concepts WHERE id = ?", (concept_id,))
    for region in payload.get("import_regions", ()):
        store.conn.execute("DELETE FROM regions WHERE id = ?", (region,))
