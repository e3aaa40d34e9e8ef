"""What a backup's manifest may hold: each field's type checked before anything is decoded or stored.

A manifest is a file anyone can edit: a box that is a string, a date that is an object or an
embedding of the wrong width must be refused (or, for embeddings, dropped and computed again from the
image, which the archive's checksum vouches for), never crash an import or poison the store.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from .errors import ArchiveError

Box = tuple[float, float, float, float]
NORM_TOLERANCE = 1e-3  # embedders write L2-normalised float32 rows (|norm - 1| ~ 1e-7)


def shown(value: object) -> str:
    kind = "a list" if isinstance(value, list) else "an object" if isinstance(value, dict) else None
    if kind is None:
        text = repr(value)
        kind = text if len(text) <= 40 else type(value).__name__
    return kind


def number(value: object, where: str, field: str) -> float:
    """A finite number (a bool, a string or an integer too large for a float is not one)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ArchiveError(f"{where}: {field} must be a number, not {shown(value)}")
    try:
        result = float(value)
    except OverflowError:
        result = math.inf
    if not math.isfinite(result):
        raise ArchiveError(f"{where}: {field} is not a finite number")
    return result


def optional_number(value: object, where: str, field: str) -> float | None:
    return None if value is None else number(value, where, field)


def text(value: object, where: str, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ArchiveError(f"{where}: {field} must be text, not {shown(value)}")
    return value


def items(value: object, where: str, field: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ArchiveError(f"{where}: {field} must be a list, not {shown(value)}")
    return value


def entry(value: object, where: str) -> dict:
    if not isinstance(value, dict):
        raise ArchiveError(f"{where}: must be an object, not {shown(value)}")
    return value


def box(value: object, where: str) -> Box | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 4:
        raise ArchiveError(f"{where}: box must be a list of four numbers, not {shown(value)}")
    x1, y1, x2, y2 = (number(v, where, "box") for v in value)
    return (x1, y1, x2, y2)


def embeddings(value: object, where: str) -> dict[str, str]:
    """model id -> base64 text, both strings."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ArchiveError(f"{where}: embeddings must be an object (model -> vector), not {shown(value)}")
    for model, encoded in value.items():
        if not isinstance(encoded, str):
            raise ArchiveError(f"{where}: embedding for {model!r} must be base64 text, not {shown(encoded)}")
    return value


def encode_vectors(rows: Iterable[tuple], left_out: list[str], damaged: Callable[[str], str]) -> dict[str, str]:
    """model -> base64 of each sound (model, dim, blob) row as the store holds it; a damaged one is
    left out, with the line `damaged(model)` in `left_out`."""
    found = {}
    for model, dim, blob in rows:
        if isinstance(blob, bytes) and isinstance(dim, int) and len(blob) == 4 * dim > 0:
            found[model] = base64.b64encode(blob).decode("ascii")
        else:
            left_out.append(damaged(model))
    return found


def decode_vector(encoded: str, where: str) -> np.ndarray:
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        raise ArchiveError(f"{where}: embedding is not valid base64") from None
    if not raw or len(raw) % 4:
        raise ArchiveError(f"{where}: embedding has a broken length")
    return np.frombuffer(raw, np.float32).copy()


def doubt(vector: np.ndarray, width: int | None) -> str | None:
    """Why `vector` cannot be trusted as an embedding of `width` numbers, or None when it can."""
    if width is not None and len(vector) != width:
        return f"{len(vector)} numbers where the model gives {width}"
    if not np.all(np.isfinite(vector)):
        return "numbers that are not finite"
    norm = float(np.linalg.norm(vector.astype(np.float64)))
    if abs(norm - 1.0) > NORM_TOLERANCE:
        return f"length {norm:.3g} where embeddings have length 1"
    return None


@dataclass(frozen=True)
class Dropped:
    concept: str
    model: str
    reason: str

    def note(self) -> str:
        return f"<{self.concept}>: the stored {self.model} embedding had {self.reason}; computed again from the image"


def widths(found: Mapping[str, list[int]], known: Mapping[str, int]) -> dict[str, int]:
    """The width each model's vectors must have: what the store (or the model's settings) says,
    else the width most of the backup's vectors of that model have."""
    out = dict(known)
    for model, sizes in found.items():
        if model not in out and sizes:
            out[model] = max(set(sizes), key=sizes.count)
    return out
