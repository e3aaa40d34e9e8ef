"""What the album's match rows were last decided from, so that a change re-decides only what it can affect.

A re-match records its inputs (the exemplar vectors, the negatives, the user's decisions, the concept
ids) and, per region, what the decision saw: its ranked concepts, the similarity of the last exemplar
hit its ranking looked at (the floor), and the concept it holds. The next re-match compares the
store's inputs with these (`Inputs.read` and `changes`), whoever changed them: the GUI, the CLI in
another process, an undo, a removal brought back. Kept in memory and in `<cache>/album`; a missing,
damaged or foreign file only means a full re-match. The rows must be the ones the record describes
(an older record could miss a change made and taken back since), so a re-match drops the record
before it writes rows and records anew after they committed: a crash in between means a full pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..fsutil import fsync_dir
from ..store import Store, matches

VERSION = 1
STATUSES = ("confirmed", "rejected", "reassigned")  # the user's decisions, by code 0..2
_MEMORY: dict[tuple[str, str], Record] = {}


@dataclass(frozen=True)
class Vectors:
    """Rows with an id, an owning concept and a vector (exemplars or negatives), sorted by id."""

    ids: np.ndarray  # (n,) int64
    concepts: np.ndarray  # (n,) int64
    vectors: np.ndarray  # (n, dim) float32

    @classmethod
    def from_rows(cls, rows: list[tuple]) -> Vectors:
        if not rows:
            return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 0), np.float32))
        vectors = np.stack([np.frombuffer(r[2], np.float32) for r in rows])
        return cls(np.array([r[0] for r in rows], np.int64), np.array([r[1] for r in rows], np.int64), vectors)

    def changed(self, other: Vectors) -> Vectors:
        """The rows in one and not (identically) in the other: added, removed or altered."""
        mine = _keys(self)
        theirs = _keys(other)
        gone = [i for k, i in mine.items() if k not in theirs]
        came = [i for k, i in theirs.items() if k not in mine]
        parts = [(rows, at) for rows, at in ((self, gone), (other, came)) if at]
        if not parts:
            return Vectors(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 0), np.float32))
        return Vectors(
            *(np.concatenate([getattr(rows, k)[at] for rows, at in parts]) for k in ("ids", "concepts", "vectors"))
        )


def _keys(rows: Vectors) -> dict[tuple[int, int, bytes], int]:
    triples = zip(rows.ids.tolist(), rows.concepts.tolist(), rows.vectors, strict=True)
    return {(i, c, v.tobytes()): n for n, (i, c, v) in enumerate(triples)}


@dataclass(frozen=True)
class Inputs:
    """Everything besides the region vectors that a model's match rows are decided from."""

    exemplars: Vectors
    negatives: Vectors
    manual: dict[tuple[int, int], str]  # (region, concept) -> confirmed | rejected | reassigned
    concepts: frozenset[int]

    @classmethod
    def read(cls, store: Store, model: str) -> Inputs:
        return cls(
            Vectors.from_rows(matches.exemplar_vectors(store, model)),
            Vectors.from_rows(matches.negative_vectors(store, model)),
            matches.model_decisions(store, model),
            matches.concept_ids(store),
        )


@dataclass(frozen=True)
class Regions:
    """Per region (sorted by region id, as the region matrix): what its last decision saw."""

    ids: np.ndarray  # (n,) int64
    photos: np.ndarray  # (n,) int64
    floor: np.ndarray  # (n,) float32: similarity of the last exemplar hit ranked, -inf when not full
    concepts: np.ndarray  # (n, neighbours) int64 ranked concept ids, best first, -1 padding
    sims: np.ndarray  # (n, neighbours) float32
    held: np.ndarray  # (n,) int64: the concept it holds (accepted), -1 none


@dataclass(frozen=True)
class Record:
    model: str
    threshold: float
    neighbours: int
    inputs: Inputs
    regions: Regions
    token: str = field(default_factory=lambda: secrets.token_hex(8))

    def fits(self, model: str, threshold: float, neighbours: int, dim: int) -> bool:
        width = self.inputs.exemplars.vectors.shape[1] if len(self.inputs.exemplars.ids) else dim
        return (self.model, self.threshold, self.neighbours, width) == (model, threshold, neighbours, dim)

    def renewed(self, inputs: Inputs, regions: Regions) -> Record:
        return replace(self, inputs=inputs, regions=regions, token=secrets.token_hex(8))


def _file(store: Store, model: str) -> Path:
    return store.home / "cache" / "album" / f"rematch-{''.join(c if c.isalnum() else '_' for c in model)}.npz"


def forget(store: Store, model: str) -> None:
    """Drop the record (memory and disk): the next re-match is a full one."""
    _MEMORY.pop((str(store.home), model), None)
    path = _file(store, model)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        fsync_dir(path.parent)  # gone for good before the rows change, power cut or not


def load(store: Store, model: str) -> Record | None:
    """The model's record when it is intact (the one in memory when the file is still that one)."""
    path = _file(store, model)
    cached = _MEMORY.get((str(store.home), model))
    try:
        with np.load(path) as stored:
            header = json.loads(str(stored["header"]))
            if header.get("version") != VERSION or header.get("model") != model:
                return None
            if cached is not None and cached.token == header["token"]:
                return cached
            record = _unpack(header, stored)
    except (OSError, ValueError, KeyError, TypeError, EOFError):  # EOF/BadZipFile: damaged
        return None
    _MEMORY[(str(store.home), model)] = record
    return record


def _unpack(header: dict, stored) -> Record:
    def vectors(prefix: str) -> Vectors:
        return Vectors(stored[f"{prefix}_ids"], stored[f"{prefix}_concepts"], stored[f"{prefix}_vectors"])

    codes = zip(*(stored[f"manual_{k}"].tolist() for k in ("r", "c", "s")), strict=True)
    manual = {(r, c): STATUSES[s] for r, c, s in codes}
    inputs = Inputs(vectors("exemplar"), vectors("negative"), manual, frozenset(stored["concepts"].tolist()))
    regions = Regions(*(stored[f"region_{k}"] for k in ("ids", "photos", "floor", "concepts", "sims", "held")))
    return Record(header["model"], header["threshold"], header["neighbours"], inputs, regions, header["token"])


def save(store: Store, record: Record) -> None:
    """Write the record (after the rows it describes committed). No fsync: after a power cut a lost
    or torn file only costs a full re-match (the previous one was removed before the rows changed)."""
    header = {
        "version": VERSION,
        "model": record.model,
        "threshold": record.threshold,
        "neighbours": record.neighbours,
        "token": record.token,
    }
    inputs, regions = record.inputs, record.regions
    manual = list(record.inputs.manual.items())
    arrays = {
        "header": np.array(json.dumps(header)),
        **{f"exemplar_{k}": getattr(inputs.exemplars, k) for k in ("ids", "concepts", "vectors")},
        **{f"negative_{k}": getattr(inputs.negatives, k) for k in ("ids", "concepts", "vectors")},
        "manual_r": np.array([k[0] for k, _ in manual], np.int64),
        "manual_c": np.array([k[1] for k, _ in manual], np.int64),
        "manual_s": np.array([STATUSES.index(s) for _, s in manual], np.int8),
        "concepts": np.array(sorted(inputs.concepts), np.int64),
        **{f"region_{k}": getattr(regions, k) for k in ("ids", "photos", "floor", "concepts", "sims", "held")},
    }
    path = _file(store, record.model)
    _MEMORY.pop((str(store.home), record.model), None)
    temp = path.with_name(f"{path.name}.tmp-{secrets.token_hex(6)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temp, "xb") as handle:
            np.savez(handle, **arrays)
        os.replace(temp, path)
    except OSError:  # a full disk: the next re-match is a full one
        with contextlib.suppress(OSError):
            temp.unlink()
        forget(store, record.model)
        return
    _MEMORY[(str(store.home), record.model)] = record
