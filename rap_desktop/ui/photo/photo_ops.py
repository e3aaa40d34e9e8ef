"""Store-lane functions behind the photo view, the corrections and undoable removal.

Plain functions over the core (no widgets): retrieval, the undo of a correction and detection are
the very calls the CLI makes (`retrieve`, `match undo`); the corrections themselves are core actions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rap_desktop.core import actions
from rap_desktop.core.changes import Done
from rap_desktop.core.corrections import Correction
from rap_desktop.core.errors import RapError
from rap_desktop.core.images import LoadedImage
from rap_desktop.core.regions import WHOLE, Proposal, propose
from rap_desktop.core.retrieval import RetrievalResult
from rap_desktop.core.session import Session
from rap_desktop.core.store.corrections import newest_open_id

from ..library.operations import ExemplarEntry

THUMBS_PER_CANDIDATE = 4


@dataclass(frozen=True)
class PhotoResult:
    """One retrieval, with what the side panel needs to show it (thumbnails of the candidates)."""

    path: Path
    result: RetrievalResult
    question: str
    exemplars: dict[str, list[ExemplarEntry]]  # concept name -> its photos, the best-matching first


def retrieve_photo(session: Session, loaded: LoadedImage, path: Path, question: str = "") -> PhotoResult:
    """Detect, embed, search, decide (regions seen before are reused: no model run then)."""
    store = session.store()
    result = session.retriever().retrieve(loaded, question or None, path=str(path))
    best: dict[str, int] = {}
    for region in result.regions:
        for c in region.candidates:
            best.setdefault(c.concept, c.exemplar_id)
    exemplars: dict[str, list[ExemplarEntry]] = {}
    for name, exemplar_id in best.items():
        try:
            rows = store.exemplars(name)
        except RapError:  # removed since: nothing to show for it
            continue
        rows.sort(key=lambda e: e.id != exemplar_id)  # the one that matched first
        exemplars[name] = [ExemplarEntry(e, store.image_path(e.image)) for e in rows[:THUMBS_PER_CANDIDATE]]
    return PhotoResult(path, result, question, exemplars)


def add_box(session: Session, loaded: LoadedImage, box: tuple[float, float, float, float]) -> str:
    """A box the user drew becomes a region (matched on the next retrieval); returns its id."""
    return session.retriever().add_box(loaded, box).name


# --- corrections (the CLI's `match ...`: the same core actions) ----------------------------------


def undo_correction(session: Session, expected: int) -> Done[Correction]:
    """Take back correction `expected`: the core undoes the newest one, so it must be that one
    (another program, e.g. the CLI, may have corrected something since)."""
    store = session.store()
    if newest_open_id(store) != expected:
        raise RapError("cannot undo: the corrections were changed elsewhere since (e.g. from the command line)")
    return actions.undo_correction(session)


# --- detection for the register dialog -----------------------------------------------------------


def detect_proposals(session: Session, loaded: LoadedImage) -> list[Proposal]:
    """The detector's regions of a photo to register (the whole photo is offered separately)."""
    classes = session.retriever().classes()  # the same prompts retrieval uses
    detections = [(d.box, d.label, d.score) for d in session.detector.detect(loaded.image, classes)]
    width, height = loaded.size
    return [p for p in propose(detections, width, height) if p.source != WHOLE]


def model_state(session: Session) -> str:
    """For the status bar: which models are loaded, on which device, and GPU memory when on one.
    Store lane (it may ask torch about the GPU); the text itself is `model_state_text`."""
    models = [
        (label, bool(getattr(model, "loaded", False)), getattr(model, "device", None) or "")
        for label, model in (("embedder", session.embedder), ("detector", session.detector))
    ]
    gpu = next((device for _, loaded, device in models if loaded and device.startswith("cuda")), None)
    memory = None
    if gpu is not None:
        import torch

        index = torch.device(gpu).index or 0
        memory = (torch.cuda.memory_allocated(index), torch.cuda.get_device_properties(index).total_memory)
    return model_state_text(models, memory)


def model_state_text(models: Sequence[tuple[str, bool, str]], gpu_memory: tuple[int, int] | None) -> str:
    """`models`: (label, loaded, device) each; `gpu_memory`: (allocated, total) bytes, or None off a GPU.
    E.g. "embedder on cuda:0 · detector not loaded · VRAM 1.3/24 GiB"."""
    parts = [f"{label} {'on ' + device if loaded and device else 'not loaded'}" for label, loaded, device in models]
    if gpu_memory is not None:
        parts.append(vram_text(*gpu_memory))
    return " · ".join(parts)


def vram_text(used: int, total: int) -> str:
    """GPU memory allocated / the card's total, e.g. "VRAM 1.3/24 GiB"; under 0.1 GiB in MiB, so a
    loaded small model never reads as 0.0."""
    gib = 2**30
    shown = f"{used / 2**20:.0f} MiB" if used < gib / 10 else f"{used / gib:.1f}"
    return f"VRAM {shown}/{total / gib:.0f} GiB"
