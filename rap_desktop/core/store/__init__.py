"""The store: the one place that speaks SQL. Everything else calls its functions.

- `base`: the connection, the write transaction (`Store.transaction()`), content-addressed files and
  the concept/exemplar/vector rows with their FAISS caches.
- `schema`: the tables and their migrations.
"""

from .base import (
    CANNOT_OPEN,
    CONTENT_NAME,
    AddResult,
    Box,
    Concept,
    Exemplar,
    Hit,
    ImportReport,
    NewConcept,
    NewExemplar,
    Store,
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
