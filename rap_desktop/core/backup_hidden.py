"""Hidden strangers in a backup: the manifest's "hidden" list, written by export and restored by import.

Each entry is a hidden region as the store keeps it (core/store/hidden.py): the photo's content hash, the
box in its pixels, the hidden group's number (null for a single region), when it was hidden, and its looks
per model (base64 float32, as the concepts' embeddings), so the stranger's look-alikes stay hidden too. The
photos themselves are not in the backup: a hidden box applies again once its photo is indexed.

A backup without the list (written before it existed) restores as before. A list of the wrong shape refuses
the whole archive, as any other damaged field does; a vector that is broken or does not fit its model is
dropped with a note (the box still hides).

The review's skipped questions are not in the backup: their ids name this store's regions and groups,
which mean nothing in another one, and a skip is "not now", not a decision.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from . import backup_manifest as check
from .errors import ArchiveError
from .store import Store
from .store import backup as readable
from .store.hidden_import import HiddenEntry

_SHA256 = re.compile(r"[0-9a-f]{64}")
_LARGEST_GROUP = 2**53  # group numbers are counted up from 1; larger ones do not fit SQLite or JSON safely


def _sha256(value: object, where: str) -> str:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise ArchiveError(f"{where}: sha256 must be 64 lowercase hex digits, not {check.shown(value)}")
    return value


def _box(value: object, where: str) -> check.Box:
    box = check.box(value, where)
    if box is None or not (box[2] > box[0] and box[3] > box[1]):
        raise ArchiveError(f"{where}: box must be four numbers x1, y1, x2, y2 with x2 > x1 and y2 > y1")
    return box


def _group(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < _LARGEST_GROUP:
        raise ArchiveError(f"{where}: group must be a whole number from 1 or null, not {check.shown(value)}")
    return value


def entry_of(raw: object, where: str, notes: list[str]) -> HiddenEntry:
    """One checked entry: a field of the wrong type refuses it; a broken vector is dropped with a note."""
    item = check.entry(raw, where)
    vectors = {}
    for model, encoded in check.embeddings(item.get("embeddings"), where).items():
        try:
            vectors[str(model)] = check.decode_vector(encoded, f"{where}: {model}")
        except ArchiveError as exc:
            notes.append(f"{exc}; dropped (the box still hides)")
    return HiddenEntry(
        _sha256(item.get("sha256"), where),
        _box(item.get("box"), where),
        _group(item.get("group"), where),
        check.optional_number(item.get("created"), where, "created"),
        vectors,
    )


def read_entries(manifest: dict, archive: str, known: Mapping[str, int], notes: list[str]) -> list[HiddenEntry]:
    """The hidden regions of a manifest, checked; vectors that cannot be trusted dropped (each noted)."""
    entries = [
        entry_of(raw, f"{archive}: hidden region {n + 1}", notes)
        for n, raw in enumerate(check.items(manifest.get("hidden"), archive, "hidden"))
    ]
    found: dict[str, list[int]] = {}
    for e in entries:
        for model, vector in e.vectors.items():
            found.setdefault(model, []).append(len(vector))
    widths = check.widths(found, known)
    trusted = []
    for n, e in enumerate(entries):
        kept = {}
        for model, vector in e.vectors.items():
            reason = check.doubt(vector, widths.get(model))
            if reason:
                notes.append(f"{archive}: hidden region {n + 1}: its {model} vector had {reason}; dropped")
            else:
                kept[model] = vector
        trusted.append(dataclasses.replace(e, vectors=kept))
    return trusted


def export_entries(store: Store, left_out: list[str]) -> list[dict]:
    """The manifest entries of every sound hidden region; what is not goes to `left_out`, one line each."""
    out = []
    for hidden_id, sha256, x1, y1, x2, y2, group, created in readable.readable_hidden(store, left_out):
        where = f"hidden region {hidden_id}"
        embeddings = check.encode_vectors(
            readable.readable_hidden_vectors(store, hidden_id, f"looks of {where}", left_out),
            left_out,
            lambda model, where=where: f"{where}: its {model} vector is damaged; left out (the box is exported)",
        )
        raw = {"sha256": sha256, "box": [x1, y1, x2, y2], "group": group, "created": created}
        try:
            entry_of({**raw, "embeddings": None}, where, [])  # what import would refuse is not written
        except ArchiveError as exc:
            left_out.append(f"{exc}; left out")
            continue
        out.append({**raw, "embeddings": embeddings})
    return out
