"""Rows for merging concept OTHER into concept KEEP, and for taking the merge back exactly.

Everything runs inside an open `store.transaction()` (the caller's). Rows move rather than being
copied: an exemplar keeps its id, file and embeddings and changes owner, so the FAISS indexes need
no edit (they hold exemplar ids; the owner is read from SQLite at search time). The undo payload is
plain JSON (no vectors): the ids that moved and the rows as they were before.

A region with a match row for both concepts keeps one row (the primary key is region + concept):
- the user's word beats an automatic proposal (confirmed, then rejected or reassigned, then auto);
- between two decisions of the same rank KEEP's row stays (the name the user chose to keep);
- between two automatic rows the more similar one stays, accepted when either was.
A confirmed "yes" outranks a "no" because the merge itself says the two are one: a "this is OTHER"
next to "this is not KEEP" is a yes for the merged concept. OTHER's negatives all move to KEEP.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from ..errors import ConflictError
from ..names import tag
from .base import Store
from .photos import chunks, log_parts
from .removal import name_or_id_taken

ACTION = "merge"  # the correction-log action
_RANK = {"confirmed": 3, "rejected": 2, "reassigned": 2, "auto": 1}


def _ids(store: Store, table: str, concept_id: int) -> list[int]:
    rows = store.conn.execute(f"SELECT id FROM {table} WHERE concept_id = ? ORDER BY id", (concept_id,))
    return [int(r[0]) for r in rows]


def _concept_row(store: Store, concept_id: int) -> list:
    row = store.conn.execute(
        "SELECT id, name, name_key, info, category, created, updated FROM concepts WHERE id = ?", (concept_id,)
    ).fetchone()
    return list(row)


def _stronger(keep: tuple, other: tuple) -> tuple:
    """Of two rows (similarity, status, accepted) for one region, the one the merged concept keeps."""
    rank_keep, rank_other = _RANK.get(keep[1], 0), _RANK.get(other[1], 0)
    if rank_keep != rank_other:
        return keep if rank_keep > rank_other else other
    if keep[1] != "auto":
        return keep
    best = keep if keep[0] >= other[0] else other
    return (best[0], best[1], int(bool(keep[2]) or bool(other[2])))


def _match_rows(store: Store, keep: int, other: int) -> list[list]:
    """Every match row of OTHER, and KEEP's rows on the same regions, as they are."""
    rows = store.conn.execute(
        "SELECT region_id, concept_id, similarity, status, accepted FROM matches WHERE concept_id = ? "
        "OR (concept_id = ? AND region_id IN (SELECT region_id FROM matches WHERE concept_id = ?)) "
        "ORDER BY region_id, concept_id",
        (other, keep, other),
    )
    return [list(r) for r in rows]


def _move_matches(store: Store, rows: Sequence[Sequence], keep: int, other: int) -> None:
    by_region: dict[int, dict[int, tuple]] = {}
    for region, concept, similarity, status, accepted in rows:
        by_region.setdefault(region, {})[concept] = (similarity, status, accepted)
    store.conn.execute("DELETE FROM matches WHERE concept_id = ?", (other,))
    for region, held in by_region.items():
        if other not in held:
            continue
        similarity, status, accepted = _stronger(held[keep], held[other]) if keep in held else held[other]
        store.conn.execute(
            "INSERT OR REPLACE INTO matches(region_id, concept_id, similarity, status, accepted) VALUES (?,?,?,?,?)",
            (region, keep, similarity, status, accepted),
        )


def _renamed_parts(payload: dict, other: int, keep: int) -> bool:
    """Rewrite a correction payload's concept ids from OTHER to KEEP in place; True when it changed."""
    changed = False
    for part in log_parts(payload):
        if part.get("concept") == other:
            part["concept"] = keep
            changed = True
    if payload.get("created") == other:
        payload["created"] = keep
        changed = True
    return changed


def _move_corrections(store: Store, other: int, keep: int) -> list[list]:
    """Corrections naming OTHER name KEEP now (merges excepted: each keeps its own undo exact).
    Returns [id, payload as it was] of each one rewritten."""
    saved = []
    rows = store.conn.execute("SELECT id, payload FROM corrections WHERE action != ? ORDER BY id", (ACTION,))
    for log_id, raw in rows.fetchall():
        payload = json.loads(raw)
        if _renamed_parts(payload, other, keep):
            store.conn.execute("UPDATE corrections SET payload = ? WHERE id = ?", (json.dumps(payload), log_id))
            saved.append([int(log_id), raw])
    return saved


def retag(text: str, old: str, new: str) -> str:
    """`<old>` (any case) becomes `<new>` in a text."""
    return re.sub(re.escape(tag(old)), tag(new).replace("\\", r"\\"), text, flags=re.IGNORECASE)


def renamed_list(names: Sequence[str], old: str, new: str) -> list[str]:
    """A list of names with `old` (any case) replaced by `new`, none twice (the first place kept)."""
    key = old.casefold()
    return list(dict.fromkeys(new if n.casefold() == key else n for n in names))


def caption_rows(store: Store, name: str) -> list[list]:
    """[photo_id, text, concepts] of each stored caption that carries `name` (its tag or its list)."""
    pattern = f"%{name}%"  # LIKE narrows (ASCII case-insensitive); the exact test is below
    rows = store.conn.execute(
        "SELECT photo_id, text, concepts FROM album_captions WHERE text LIKE ? OR concepts LIKE ? ORDER BY photo_id",
        (pattern, pattern),
    )
    key = name.casefold()
    return [
        [int(pid), text, concepts]
        for pid, text, concepts in rows
        if tag(name).casefold() in text.casefold() or any(n.casefold() == key for n in json.loads(concepts))
    ]


def rename_captions(store: Store, old: str, new: str) -> list[list]:
    """Stored captions carrying `old` carry `new` instead (text tags and concept lists); returns the
    rows as they were, [photo_id, text, concepts]."""
    saved = caption_rows(store, old)
    store.conn.executemany(
        "UPDATE album_captions SET text = ?, concepts = ? WHERE photo_id = ?",
        [(retag(text, old, new), json.dumps(renamed_list(json.loads(c), old, new)), pid) for pid, text, c in saved],
    )
    return saved


def _restore_captions(store: Store, saved: Sequence[Sequence], old: str, new: str) -> None:
    """Put captions back where they still read as the merge left them (a caption made since stays)."""
    for pid, text, concepts in saved:
        merged = (retag(text, old, new), json.dumps(renamed_list(json.loads(concepts), old, new)))
        store.conn.execute(
            "UPDATE album_captions SET text = ?, concepts = ? WHERE photo_id = ? AND text = ? AND concepts = ?",
            (text, concepts, pid, *merged),
        )


def _retag_infos(store: Store, old: str, new: str, skip: int) -> list[list]:
    """Descriptions naming `<old>` name `<new>` (but `skip`'s own); returns [id, info] of each as it was."""
    rows = store.conn.execute(
        "SELECT id, info FROM concepts WHERE info LIKE ? AND id != ?", (f"%{tag(old)}%", skip)
    ).fetchall()
    saved = [[int(cid), info] for cid, info in rows if retag(info, old, new) != info]
    store.conn.executemany("UPDATE concepts SET info = ? WHERE id = ?", [(retag(i, old, new), c) for c, i in saved])
    return saved


def merge_rows(store: Store, keep: int, other: int) -> dict:
    """Move everything of OTHER to KEEP and delete OTHER; returns the undo payload."""
    keep_name, other_row = _concept_row(store, keep)[1], _concept_row(store, other)
    matches = _match_rows(store, keep, other)
    payload = {
        "keep": keep,
        "keep_name": keep_name,
        "other": other_row,
        "exemplars": _ids(store, "exemplars", other),
        "negatives": _ids(store, "negatives", other),
        "matches": matches,
        "corrections": _move_corrections(store, other, keep),
        "captions": rename_captions(store, other_row[1], keep_name),
        "infos": _retag_infos(store, other_row[1], keep_name, other),
    }
    store.conn.execute("UPDATE exemplars SET concept_id = ? WHERE concept_id = ?", (keep, other))
    store.conn.execute("UPDATE negatives SET concept_id = ? WHERE concept_id = ?", (keep, other))
    _move_matches(store, matches, keep, other)
    store.conn.execute("DELETE FROM concepts WHERE id = ?", (other,))  # nothing is left to cascade
    return payload


def undo_rows(store: Store, payload: dict) -> None:
    """Take a merge back: OTHER under its old id, its exemplars, negatives and match rows, the
    corrections and captions as they were. Rows removed since (a forgotten photo) stay removed."""
    keep, other_row = int(payload["keep"]), payload["other"]
    other, old, new = int(other_row[0]), str(other_row[1]), str(payload["keep_name"])
    taken = name_or_id_taken(store, other_row[2], other)
    if taken:
        raise ConflictError(f"cannot separate {tag(old)} again: {tag(taken)} exists now; rename or remove it first")
    store.conn.execute(
        "INSERT INTO concepts(id, name, name_key, info, category, created, updated) VALUES (?,?,?,?,?,?,?)",
        other_row,
    )
    for table in ("exemplars", "negatives"):
        for ids in chunks(payload[table]):
            marks = ",".join("?" * len(ids))
            store.conn.execute(
                f"UPDATE {table} SET concept_id = ? WHERE concept_id = ? AND id IN ({marks})", (other, keep, *ids)
            )
    regions = sorted({int(r[0]) for r in payload["matches"]})
    for ids in chunks(regions):
        marks = ",".join("?" * len(ids))
        store.conn.execute(f"DELETE FROM matches WHERE concept_id = ? AND region_id IN ({marks})", (keep, *ids))
    store.conn.executemany(
        "INSERT INTO matches(region_id, concept_id, similarity, status, accepted) "
        "SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM regions WHERE id = ?)",
        [(*row, row[0]) for row in payload["matches"]],
    )
    store.conn.executemany(
        "UPDATE corrections SET payload = ? WHERE id = ?", [(p, i) for i, p in payload["corrections"]]
    )
    _restore_captions(store, payload["captions"], old, new)
    store.conn.executemany(  # a description edited since stays as it is now
        "UPDATE concepts SET info = ? WHERE id = ? AND info = ?",
        [(i, c, retag(i, old, new)) for c, i in payload["infos"]],
    )


def merged_into(store: Store, concept_id: int) -> int | None:
    """The concept a merged-away concept now lives on (following merges in a row), or None."""
    seen: set[int] = set()
    current = concept_id
    while current not in seen:
        seen.add(current)
        row = store.conn.execute(
            "SELECT json_extract(payload, '$.keep') FROM corrections WHERE action = ? AND undone = 0 "
            "AND json_extract(payload, '$.other[0]') = ? ORDER BY id DESC LIMIT 1",
            (ACTION, current),
        ).fetchone()
        if row is None:
            break
        current = int(row[0])
    return current if current != concept_id else None


def photo_files(store: Store) -> list[str]:
    """Every photo path the store knows (indexed album files and photos opened by path), sorted."""
    rows = store.conn.execute(
        "SELECT path FROM album_files WHERE status = 'indexed' UNION SELECT path FROM photos WHERE path IS NOT NULL"
    )
    return sorted({r[0] for r in rows if r[0]})


def photo_sizes(store: Store) -> dict[str, tuple[int, int, int]]:
    """photo path -> (photo id, width, height as displayed) of every photo `photo_files` lists."""
    rows = store.conn.execute(
        "SELECT f.path, p.id, p.width, p.height FROM album_files f JOIN photos p ON p.id = f.photo_id "
        "WHERE f.status = 'indexed' UNION SELECT path, id, width, height FROM photos WHERE path IS NOT NULL"
    )
    return {path: (int(pid), int(w or 0), int(h or 0)) for path, pid, w, h in rows if path}
