"""The photo on screen as the photo view has it: decoded once, retrieved once. A question about it
carries this instead of a path, so the assistant neither reads and hashes the file again nor
re-runs retrieval (which would rewrite the photo's regions and matches)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .images import LoadedImage
from .retrieval import RetrievalResult


@dataclass(frozen=True, eq=False)  # compared by identity: "that photo, as it was shown"
class PhotoContext:
    path: Path
    photo: LoadedImage  # the working decode the view made
    retrieval: RetrievalResult  # what the view drew for it (regions, matches, decisions)
