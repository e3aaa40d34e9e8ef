"""Album captioning in steps a GUI runs on different threads: `plan` and
`prepare` and `save` read or write the store, `generate` uses the generator only, `write_sidecar`
touches files only. Between two steps nothing is held, so concept edits go on during a long run.
Photos are prepared and saved one by one and generated several at a time (`generate_batch`).

The same rules as `caption.caption_folder` (the CLI's one-call loop): concepts come from the
stored matches, a photo whose file changed since indexing is refused, a stored caption is reused
unless forced, and the photo itself is never rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import xmp
from ..assistant import Assistant, Prepared, Reply, prompt_image
from ..cancel import CancelToken
from ..errors import RapError
from ..images import load_working
from ..models.generator import DEFAULT_OPTIONS, GenerationOptions
from ..prompting import Conversation, build_user_turn, caption_question
from ..retrieval import ChosenConcept
from ..store import Store, captions
from ..store import album as album_store
from ..store.matches import accepted_in_photo
from ..store.photos import photo_sha256


def accepted(store: Store, photo_id: int) -> list[tuple[ChosenConcept, xmp.Region]]:
    """The photo's accepted concepts, confirmed first then by similarity, one entry per region."""
    return [
        (ChosenConcept(name, cid, "region", f"r{ordinal}", sim), xmp.Region(name, category, (x1, y1, x2, y2)))
        for cid, name, category, ordinal, x1, y1, x2, y2, sim, _ in accepted_in_photo(store, photo_id)
    ]


@dataclass(frozen=True)
class Item:
    photo_id: int
    path: str
    captioned: bool  # a caption is stored already


@dataclass(frozen=True)
class Step:
    """One photo, read and ready: `prepared` is None when its stored caption `text` is reused."""

    item: Item
    size: tuple[int, int]
    names: tuple[str, ...]
    regions: tuple[xmp.Region, ...]
    text: str | None
    prepared: Prepared | None


def plan(store: Store, folder: str) -> list[Item]:
    """The indexed photos under `folder`, in taken order, each with whether it has a caption."""
    ids = album_store.album_photo_ids(store, folder)
    paths = album_store.photo_paths(store, ids)
    done = captions.captioned(store)
    return [Item(pid, paths.get(pid, ""), pid in done) for pid in ids]


def needs_generator(items: list[Item], force: bool) -> bool:
    return force or any(not item.captioned for item in items)


def prepare(store: Store, assistant: Assistant | None, item: Item, force: bool) -> Step:
    """Store side of one photo: the file (checked against what was indexed), its accepted concepts
    and regions, and the exact caption prompt when a caption is to be made (`assistant` needed then)."""
    found = accepted(store, item.photo_id)
    names = tuple(dict.fromkeys(c.name for c, _ in found))
    regions = tuple(region for _, region in found)
    loaded = load_working(item.path)
    sha256 = photo_sha256(store, item.photo_id)
    if sha256 is None:
        raise RapError("the photo was removed from the album meanwhile")
    if loaded.sha256 != sha256:
        raise RapError("the file changed since it was indexed; index the folder again")
    stored = captions.caption(store, item.photo_id)
    if stored is not None and not force:
        return Step(item, loaded.size, names, regions, stored, None)
    if assistant is None:
        raise RapError("the generator is not loaded")
    limit = assistant.generator.concept_limit
    best: dict[int, ChosenConcept] = {}
    for concept, _ in found:  # best region per concept, in the order found
        best.setdefault(concept.concept_id, concept)
    chosen = tuple(best.values())[:limit]
    turn = build_user_turn(
        caption_question(), assistant.concept_refs(chosen), query_image=prompt_image(loaded.image), limit=limit
    )
    prepared = Prepared(Conversation.start(assistant.template, turn), chosen, None)
    return Step(item, loaded.size, names, regions, None, prepared)


def generate(
    assistant: Assistant, step: Step, options: GenerationOptions = DEFAULT_OPTIONS, cancel: CancelToken | None = None
) -> Reply:
    """Generator side: no store. A cancelled answer comes back with `answer.cancelled` set."""
    if step.prepared is None:
        raise ValueError("this photo keeps its stored caption: nothing to generate")
    return assistant.generate(step.prepared, options, cancel=cancel)


def generate_batch(
    assistant: Assistant,
    steps: list[Step],
    options: GenerationOptions = DEFAULT_OPTIONS,
    cancel: CancelToken | None = None,
) -> list[Reply]:
    """Generator side of several photos in one generate call; each reply as `generate` gives it alone
    (greedy). A cancel marks every reply cancelled."""
    if any(step.prepared is None for step in steps):
        raise ValueError("a photo that keeps its stored caption has nothing to generate")
    return assistant.generate_batch([step.prepared for step in steps], options, cancel)  # type: ignore[misc]


def prompt_images(step: Step) -> int:
    """Images in the photo's caption prompt (the photo and its concepts): the batch key, since
    prompts with as many images are about as long."""
    return len(step.prepared.conversation.images) if step.prepared is not None else 0


def batch_size(assistant: Assistant, options: GenerationOptions = DEFAULT_OPTIONS, override: int = 0) -> int:
    """Photos per generate call: `override` when > 0, else from the free GPU memory (a few on a CPU)."""
    return assistant.generator.caption_batch_size(options.max_new_tokens, override)


def save(store: Store, step: Step, reply: Reply) -> str:
    """Store the caption (a cancelled, partial answer is refused); returns the text."""
    if reply.answer.cancelled:
        raise RapError("cancelled before the caption was complete")
    text = reply.text.strip()
    captions.save_caption(store, step.item.photo_id, text, reply.model, list(step.names))
    return text


def write_sidecar(step: Step, text: str, style: str = "ext") -> str:
    """File side: the caption, names and regions into the photo's XMP sidecar (merged, never the photo)."""
    try:
        return str(xmp.write_sidecar(step.item.path, step.size, text, list(step.names), list(step.regions), style))
    except OSError as exc:
        raise RapError(f"cannot write the sidecar: {exc.strerror or exc}") from None
