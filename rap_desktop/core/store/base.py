"""The concept store: one data folder's connection, files and caches (`connection.StoreBase`) with the
concept and exemplar methods (`concepts.Concepts`) and the vector search (`vectors.Vectors`).
Crash safety and read-only opening: see connection.py."""

from __future__ import annotations

from .concepts import Concepts
from .connection import CANNOT_OPEN, CONTENT_NAME, StoreBase
from .vectors import Vectors

__all__ = ["CANNOT_OPEN", "CONTENT_NAME", "Store"]


class Store(StoreBase, Concepts, Vectors):
    """One data folder: its SQLite store, its content-named image files and its FAISS caches."""
