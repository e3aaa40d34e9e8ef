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
import time
from dataclasses import dataclass
from pathlib import Path

from . import names
from .errors import NotFoundError, RapError
from .images import exemplar_crop, load_image, load_region
from .store import NewExemplar, Store, photos, sidecar_jobs
from .store import concepts as concepts_table
from .store import corrections as log_table
from .store import hidden as hidden_table
from .store import merge as merge_table
from .store import people_tags as imported_tags


@dataclass(frozen=True)
class Correction:
    id: int
    action: str
    summary: str


def _crop_png(store: Store, photo_path: str | None, region: photos.StoredRegion, sha256: str):
    """The region's pixels as a PNG, from the photo file (checked to be the same content)."""
    if not photo_path or not Path(photo_path).is_file():
        raise RapError(f"the photo file is no longer at {photo_path!r}; open it again to correct it")
    loaded = load_region(photo_path, region.box)  # a 12-MP photo is decoded whole only for a small region
    if loaded.sha256 != sha256:
        raise RapError(f"{photo_path} has changed since it was retrieved; retrieve it again")
    buffer = io.BytesIO()
    exemplar_crop(loaded, region.box).save(buffer, format="PNG")
    return load_image(buffer.getvalue(), name=f"{Path(photo_path).name} {region.name}")


def _locate(store: Store, photo_ref: str, region_name: str):
    photo_id, sha256, path = photos.find_photo(store, photo_ref)
    return photo_id, sha256, path, photos.region(store, photo_id, region_name)


def confirm(store: Store, photo_ref: str, region_name: str, concept: str | None = None) -> Correction:
    _, sha256, path, region = _locate(store, photo_ref, region_name)
    concept_id = store.get_concept(concept).id if concept else log_table.accepted_concept(store, region.id)
    if concept_id is None:
        raise RapError(f"{region.name} has no accepted concept to confirm; name one (reassign)")
    return _confirm(store, region, concept_id, _crop_png(store, path, region, sha256))


def _confirm_rows(store: Store, region: photos.StoredRegion, concept_id: int, crop) -> dict:
    """Inside a write: the new exemplar + match status; returns the undo payload."""
    vectors = {store.embedder.model_id: region.vector} if store.embedder else {}
    if not concepts_table.concept_exists(store, concept_id):
        raise NotFoundError("that concept was removed meanwhile")
    previous = log_table.match_state(store, region.id, concept_id)
    exemplar = store.insert_exemplar(concept_id, NewExemplar(crop, None, "confirmed", vectors), None, time.time())
    log_table.set_match_status(store, region.id, concept_id, "confirmed", True)
    return {"region": region.id, "concept": concept_id, "exemplar": exemplar.id, "previous": previous}


def _confirm(store: Store, region: photos.StoredRegion, concept_id: int, crop) -> Correction:
    with store.transaction():
        log_id = log_table.log(store, "confirm", _confirm_rows(store, region, concept_id, crop))
    name = store.concept_names([concept_id])[concept_id]
    return Correction(log_id, "confirm", f"{region.name} is {names.tag(name)}")


def _reject_rows(store: Store, region: photos.StoredRegion, concept_id: int, status: str) -> dict:
    """Inside a write: the negative + match status; returns the undo payload."""
    if store.embedder is None:
        raise RapError("no image embedder configured")
    previous = log_table.match_state(store, region.id, concept_id)
    negative = log_table.add_negative(store, concept_id, store.embedder.model_id, region.vector, region.id)
    log_table.set_match_status(store, region.id, concept_id, status, False)
    return {"region": region.id, "concept": concept_id, "negative": negative, "previous": previous}


def reject(store: Store, photo_ref: str, region_name: str, concept: str | None = None) -> Correction:
    _, _, _, region = _locate(store, photo_ref, region_name)
    concept_id = store.get_concept(concept).id if concept else log_table.accepted_concept(store, region.id)
    if concept_id is None:
        raise RapError(f"{region.name} has no accepted concept to reject")
    with store.transaction():
        log_id = log_table.log(store, "reject", _reject_rows(store, region, concept_id, "rejected"))
    name = store.concept_names([concept_id])[concept_id]
    return Correction(log_id, "reject", f"{region.name} is not {names.tag(name)}")


def reassign(
    store: Store, photo_ref: str, region_name: str, concept: str, info: str = "", category: str | None = None
) -> Correction:
    """The region shows `concept` (created from the region when no such concept exists)."""
    _, sha256, path, region = _locate(store, photo_ref, region_name)
    crop = _crop_png(store, path, region, sha256)
    old = log_table.accepted_concept(store, region.id)
    target = store.find_concept(concept)
    shown = names.clean_name(concept)
    with store.transaction():  # one transaction: a crash never leaves half a reassignment
        created = None
        if target is None:
            now = time.time()
            store.refuse_lookalike(shown)
            kind = names.clean_category(category or region.label)
            created = concepts_table.insert_concept(store, shown, info.strip(), kind, now, now)
        target_id = created if created is not None else target.id
        # naming a new concept from the box says what it is, not that the old match was wrong: the
        # old concept gets no negative and no "no" (the confirmed new one simply holds the region)
        rejected = (
            _reject_rows(store, region, old, "reassigned") if old not in (None, target_id) and created is None else None
        )
        payload = _confirm_rows(store, region, target_id, crop)
        log_id = log_table.log(store, "reassign", {**payload, "rejected": rejected, "created": created})
    name = target.name if target else shown
    return Correction(log_id, "reassign", f"{region.name} is {names.tag(name)}" + (" (new)" if created else ""))


def undo(store: Store) -> Correction:
    """Take back the newest correction not yet undone, exactly."""
    with store.transaction():
        newest = log_table.newest_open(store)
        if newest is None:
            raise RapError("nothing to undo")
        log_id, action, payload = newest
        if action == merge_table.ACTION:  # a merge's payload is its own (core/store/merge.py)
            merge_table.undo_rows(store, payload)
            other = payload["other"]
            sidecar_jobs.unmerged(store, log_id, int(payload["keep"]), payload["keep_name"], other[1])
            payload = {}
        for part in photos.log_parts(payload):
            if part.get("exemplar"):
                concepts_table.delete_exemplar(store, part["exemplar"])
            if part.get("negative"):
                log_table.delete_negative(store, part["negative"])
            if "region" in part:  # a group naming's own part holds only its exemplar
                log_table.restore_match(store, part["region"], part["concept"], part.get("previous"))
        if payload.get("created"):
            concepts_table.delete_concept(store, payload["created"])
        imported_tags.take_back(store, payload)  # an import of people tags: the concepts and regions it made
        if "hidden" in payload or "unhidden" in payload:  # a hide ("a stranger") or its unhide
            hidden_table.restore(store, payload.get("unhidden", ()))
            hidden_table.remove(store, [r["id"] for r in payload.get("hidden", ())])
        log_table.mark_undone(store, log_id)
    return Correction(log_id, action, f"undid {action}")
