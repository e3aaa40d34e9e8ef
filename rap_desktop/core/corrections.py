"""Corrections that teach retrieval at once: confirm, reject, reassign, and exact undo.

- confirm: the region's crop becomes a new exemplar of the concept (its stored embedding reused).
- reject: a negative (region embedding, concept): the concept is no longer proposed for regions
  closer to that negative than to the concept's exemplars.
- reassign: reject the current concept (if any) and confirm another, or a new concept made from
  the region.
Each writes one correction-log row whose payload says exactly what to take back on undo.
"""

from __future__ import annotations

import io
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from . import names, photos
from .errors import ConflictError, NotFoundError, RapError
from .images import crop_box, load_image
from .store import NewExemplar, Store


@dataclass(frozen=True)
class Correction:
    id: int
    action: str
    summary: str


def _crop_png(store: Store, photo_path: str | None, region: photos.StoredRegion, sha256: str):
    """The region's pixels as a PNG, from the photo file (checked to be the same content)."""
    if not photo_path or not Path(photo_path).is_file():
        raise RapError(f"the photo file is no longer at {photo_path!r}; open it again to correct it")
    loaded = load_image(photo_path)
    if loaded.sha256 != sha256:
        raise RapError(f"{photo_path} has changed since it was retrieved; retrieve it again")
    buffer = io.BytesIO()
    crop_box(loaded.image, region.box).save(buffer, format="PNG")  # the pixels that were embedded
    return load_image(buffer.getvalue(), name=f"{Path(photo_path).name} {region.name}")


def _accepted_concept(store: Store, region_id: int) -> int | None:
    row = store.conn.execute(
        "SELECT concept_id FROM matches WHERE region_id = ? AND accepted = 1 ORDER BY status = 'confirmed' DESC",
        (region_id,),
    ).fetchone()
    return int(row[0]) if row else None


def _previous(store: Store, region_id: int, concept_id: int) -> dict | None:
    row = store.conn.execute(
        "SELECT similarity, status, accepted FROM matches WHERE region_id = ? AND concept_id = ?",
        (region_id, concept_id),
    ).fetchone()
    return {"similarity": row[0], "status": row[1], "accepted": row[2]} if row else None


def _set_match(store: Store, region: photos.StoredRegion, concept_id: int, status: str, accepted: bool) -> None:
    store.conn.execute(
        "INSERT INTO matches(region_id, concept_id, similarity, status, accepted) VALUES (?, ?, 0, ?, ?) "
        "ON CONFLICT(region_id, concept_id) DO UPDATE SET status = excluded.status, accepted = excluded.accepted",
        (region.id, concept_id, status, int(accepted)),
    )


def _log(store: Store, action: str, payload: dict) -> int:
    cur = store.conn.execute(
        "INSERT INTO corrections(at, action, payload) VALUES (?, ?, ?)", (time.time(), action, json.dumps(payload))
    )
    return int(cur.lastrowid)


def _locate(store: Store, photo_ref: str, region_name: str):
    photo_id, sha256, path = photos.find_photo(store, photo_ref)
    return photo_id, sha256, path, photos.region(store, photo_id, region_name)


def confirm(store: Store, photo_ref: str, region_name: str, concept: str | None = None) -> Correction:
    _, sha256, path, region = _locate(store, photo_ref, region_name)
    concept_id = store.get_concept(concept).id if concept else _accepted_concept(store, region.id)
    if concept_id is None:
        raise RapError(f"{region.name} has no accepted concept to confirm; name one (reassign)")
    return _confirm(store, region, concept_id, _crop_png(store, path, region, sha256))


def _confirm_rows(store: Store, region: photos.StoredRegion, concept_id: int, crop) -> dict:
    """Inside a write: the new exemplar + match status; returns the undo payload."""
    vectors = {store.embedder.model_id: region.vector} if store.embedder else {}
    if not store.conn.execute("SELECT 1 FROM concepts WHERE id = ?", (concept_id,)).fetchone():
        raise NotFoundError("that concept was removed meanwhile")
    previous = _previous(store, region.id, concept_id)
    exemplar = store._insert_exemplar(concept_id, NewExemplar(crop, None, "confirmed", vectors), None, time.time())
    _set_match(store, region, concept_id, "confirmed", True)
    return {"region": region.id, "concept": concept_id, "exemplar": exemplar.id, "previous": previous}


def _confirm(store: Store, region: photos.StoredRegion, concept_id: int, crop) -> Correction:
    with store.transaction():
        log_id = _log(store, "confirm", _confirm_rows(store, region, concept_id, crop))
    name = store.concept_names([concept_id])[concept_id]
    return Correction(log_id, "confirm", f"{region.name} is {names.tag(name)}")


def _reject_rows(store: Store, region: photos.StoredRegion, concept_id: int, status: str) -> dict:
    """Inside a write: the negative + match status; returns the undo payload."""
    if store.embedder is None:
        raise RapError("no image embedder configured")
    previous = _previous(store, region.id, concept_id)
    cur = store.conn.execute(
        "INSERT INTO negatives(concept_id, model, vector, region_id, created) VALUES (?, ?, ?, ?, ?)",
        (concept_id, store.embedder.model_id, region.vector.tobytes(), region.id, time.time()),
    )
    _set_match(store, region, concept_id, status, False)
    return {"region": region.id, "concept": concept_id, "negative": int(cur.lastrowid), "previous": previous}


def reject(store: Store, photo_ref: str, region_name: str, concept: str | None = None) -> Correction:
    _, _, _, region = _locate(store, photo_ref, region_name)
    concept_id = store.get_concept(concept).id if concept else _accepted_concept(store, region.id)
    if concept_id is None:
        raise RapError(f"{region.name} has no accepted concept to reject")
    with store.transaction():
        log_id = _log(store, "reject", _reject_rows(store, region, concept_id, "rejected"))
    name = store.concept_names([concept_id])[concept_id]
    return Correction(log_id, "reject", f"{region.name} is not {names.tag(name)}")


def reassign(
    store: Store, photo_ref: str, region_name: str, concept: str, info: str = "", category: str | None = None
) -> Correction:
    """The region shows `concept` (created from the region when no such concept exists)."""
    _, sha256, path, region = _locate(store, photo_ref, region_name)
    crop = _crop_png(store, path, region, sha256)
    old = _accepted_concept(store, region.id)
    target = store.find_concept(concept)
    shown = names.clean_name(concept)
    with store.transaction():  # one transaction: a crash never leaves half a reassignment
        created = None
        if target is None:
            now = time.time()
            store.refuse_lookalike(shown)
            try:
                cur = store.conn.execute(
                    "INSERT INTO concepts(name, name_key, info, category, created, updated) VALUES (?,?,?,?,?,?)",
                    (shown, shown.casefold(), info.strip(), names.clean_category(category or region.label), now, now),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(f"a concept named {names.tag(shown)} already exists") from None
            created = int(cur.lastrowid)
        target_id = created if created is not None else target.id
        rejected = _reject_rows(store, region, old, "reassigned") if old not in (None, target_id) else None
        payload = _confirm_rows(store, region, target_id, crop)
        log_id = _log(store, "reassign", {**payload, "rejected": rejected, "created": created})
    name = target.name if target else shown
    return Correction(log_id, "reassign", f"{region.name} is {names.tag(name)}" + (" (new)" if created else ""))


def undo(store: Store) -> Correction:
    """Take back the newest correction not yet undone, exactly."""
    with store.transaction() as pending:
        row = store.conn.execute(
            "SELECT id, action, payload FROM corrections WHERE undone = 0 ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            raise RapError("nothing to undo")
        log_id, action, raw = row
        payload = json.loads(raw)
        for part in photos.log_parts(payload):
            if part.get("exemplar"):
                image = store.conn.execute("SELECT image FROM exemplars WHERE id = ?", (part["exemplar"],)).fetchone()
                store.conn.execute("DELETE FROM exemplars WHERE id = ?", (part["exemplar"],))
                pending.remove.append(part["exemplar"])
                if image:
                    pending.files.add(image[0])
            if part.get("negative"):
                store.conn.execute("DELETE FROM negatives WHERE id = ?", (part["negative"],))
            if "region" in part:  # a group naming's own part holds only its exemplar
                _restore_match(store, part["region"], part["concept"], part.get("previous"))
        if payload.get("created"):
            store.conn.execute("DELETE FROM concepts WHERE id = ?", (payload["created"],))
        store.conn.execute("UPDATE corrections SET undone = 1 WHERE id = ?", (log_id,))
    return Correction(log_id, action, f"undid {action}")


def _restore_match(store: Store, region_id: int, concept_id: int, previous: dict | None) -> None:
    if previous is None:
        store.conn.execute("DELETE FROM matches WHERE region_id = ? AND concept_id = ?", (region_id, concept_id))
    else:
        store.conn.execute(
            "UPDATE matches SET similarity = ?, status = ?, accepted = ? WHERE region_id = ? AND concept_id = ?",
            (previous["similarity"], previous["status"], previous["accepted"], region_id, concept_id),
        )
