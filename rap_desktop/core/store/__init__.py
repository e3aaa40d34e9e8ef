"""The store: the one place that speaks SQL. Everything else calls its functions.

- `base`: `Store`: the connection, the write transaction (`Store.transaction()`), content-addressed
  files and crash safety.
- `records`: the plain records the store hands out and takes in.
- `concepts`: concepts and exemplars (`Store` methods, and single-row functions for composed changes).
- `vectors`: exemplar vectors, their FAISS caches and the nearest-exemplar search.
- `corrections`: the correction log, match states and negatives a correction writes.
- `groups`: unmatched regions and the stored listing of unknown groups.
- `removal`: a concept's rows as plain tuples, to remove it and put it back exactly.
- `health`, `backup`, `eval_rows`: reads for check, export and the album test set.
- `hidden`, `hidden_vectors`, `hidden_import`: hidden strangers (boxes and looks), and restoring them from a backup.
- `schema`: the tables and their migrations.
"""

from .base import CANNOT_OPEN, CONTENT_NAME, Store
from .records import (
    AddResult,
    Box,
    Concept,
    Exemplar,
    Hit,
    ImportReport,
    NewConcept,
    NewExemplar,
    StoreDamageError,
)

__all__ = [
    "CANNOT_OPEN",
    "CONTENT_NAME",
    "AddResult",
    "Box",
    "Concept",
    "Exemplar",
    "Hit",
    "ImportReport",
    "NewConcept",
    "NewExemplar",
    "Store",
    "StoreDamageError",
]
