"""The store's plain records: what it hands out (Concept, Exemplar, Hit, results) and takes in
(NewConcept, NewExemplar), and a transaction's pending index and file edits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import RapError
from ..images import LoadedImage

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Concept:
    id: int
    name: str
    info: str
    category: str
    created: float
    updated: float
    exemplar_count: int = 0


@dataclass(frozen=True)
class Exemplar:
    id: int
    concept_id: int
    image: str  # file name under the store's image folder ("<sha256>.<ext>")
    width: int
    height: int
    box: Box | None
    source: str
    created: float


@dataclass(frozen=True)
class Hit:
    exemplar_id: int
    concept_id: int
    concept: str
    similarity: float


@dataclass(frozen=True)
class AddResult:
    concept: Concept
    exemplar: Exemplar
    embedded: bool  # False when the embedder's weights are missing: embedded later, on first use
    warning: str = ""


@dataclass(frozen=True)
class ImportReport:
    added: list[AddResult]
    skipped: list[str]  # names left out because they already existed (skip_existing)
    left_out: list[str] = field(default_factory=list)  # damaged parts of the source, one line each
    notes: list[str] = field(default_factory=list)  # what the import repaired (e.g. embeddings computed again)
    hidden: int = 0  # hidden regions (strangers) restored from a backup


@dataclass(frozen=True)
class NewExemplar:
    image: LoadedImage
    box: Box | None = None
    source: str = "registered"
    vectors: Mapping[str, np.ndarray] = field(default_factory=dict)  # precomputed, by model id
    created: float | None = None


@dataclass(frozen=True)
class NewConcept:
    name: str
    info: str = ""
    category: str = ""
    exemplars: tuple[NewExemplar, ...] = ()
    created: float | None = None


@dataclass
class Pending:
    """Index edits of the open transaction, applied only once it has committed."""

    add: list[tuple[str, int, np.ndarray]] = field(default_factory=list)
    remove: list[int] = field(default_factory=list)
    files: set[str] = field(default_factory=set)  # images that may have lost their last row
    created: set[str] = field(default_factory=set)  # image files written for this transaction


class StoreDamageError(RapError):
    """A row of the store that cannot be right (a file name that is not one the store makes)."""
