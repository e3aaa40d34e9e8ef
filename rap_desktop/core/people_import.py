"""Import people tags: what other tools named in the album's photos (core/people_tags.py reads it)
offered as concepts, and the chosen ones applied.

`scan` reads every indexed album photo's tags and places each named box on the photo's stored
regions: a stored region that overlaps it well (IoU, or a face inside a person's box) is that
person; otherwise the box itself becomes a region. Nothing is written. `apply` makes the chosen
names concepts (one exemplar from a tagged region; a name the library already has keeps its
concept) and confirms every tagged region, in one transaction with one correction-log row, so
`match undo` takes the whole import back.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import people_tags
from .cancel import CancelToken
from .errors import NotFoundError, RapError
from .images import LoadedImage, crop_box, exemplar_crop, load_image, load_working, working_box
from .models.embedder import ImageEmbedder
from .regions import USER, Box, iou
from .regions import Proposal as NewRegion
from .store import NewExemplar, Store, photos
from .store import concepts as concepts_table
from .store import corrections as log_table
from .store import people_tags as rows

MATCH_IOU = 0.5  # a stored region overlapping a tagged box this much is the tagged person
CATEGORY = {"face": "person", "pet": "pet"}  # MWG region types -> the detector's word


@dataclass(frozen=True)
class Tag:
    """One photo's tag of a name. `state`: "match" (a stored region holds it), "region" (a region
    will be made from the box), "keyword" (named without a box), "done" (already confirmed),
    "taken" (the user said that region is someone else, or not this one)."""

    photo_id: int
    path: str
    box: Box | None  # pixels of the photo as displayed (the stored regions' frame)
    state: str
    region: int | None = None  # the stored region ("match", "done", "taken")


@dataclass(frozen=True)
class Proposal:
    name: str
    category: str
    known: bool  # the library already has a concept of this name
    tags: tuple[Tag, ...]

    @property
    def photos(self) -> int:
        return len({t.photo_id for t in self.tags})

    @property
    def usable(self) -> tuple[Tag, ...]:
        """The tags an import would confirm."""
        return tuple(t for t in self.tags if t.state in ("match", "region"))


@dataclass(frozen=True)
class Imported:
    correction: int | None  # the correction-log row (`match undo`), None when nothing was written
    created: tuple[str, ...]
    confirmed: int  # regions confirmed
    regions_added: int  # of those, made from tagged boxes
    skipped: tuple[tuple[str, str], ...] = field(default=())  # (name, why)


def _category(kinds: Sequence[str]) -> str:
    for kind in kinds:
        if kind.casefold() in CATEGORY:
            return CATEGORY[kind.casefold()]
    return "object"


def place(box: Box, regions: Sequence[photos.StoredRegion]) -> photos.StoredRegion | None:
    """The stored region a tagged box is: the best IoU at least MATCH_IOU; else, for a face, the
    smallest detected box that holds it in its upper part (a face tag on a person detection)."""
    if not regions:
        return None
    best = max(regions, key=lambda r: iou(box, r.box))
    if iou(box, best.box) >= MATCH_IOU:
        return best
    area = (box[2] - box[0]) * (box[3] - box[1])
    holders = []
    for region in regions:
        x1, y1, x2, y2 = region.box
        inside = max(0.0, min(box[2], x2) - max(box[0], x1)) * max(0.0, min(box[3], y2) - max(box[1], y1))
        size = (x2 - x1) * (y2 - y1)
        upper = (box[1] + box[3]) / 2 <= y1 + 0.6 * (y2 - y1)
        if region.source == "detector" and 0 < area <= 0.5 * size and inside >= 0.9 * area and upper:
            holders.append((size, region.id, region))
    return min(holders)[2] if holders else None


def _photo_tags(
    path: str, size: tuple[int, int], ours: set[str]
) -> tuple[dict[str, tuple[str, Box | None, str]], set[str]]:
    """name key -> (name, box or None, kind) for one photo (a name's first box wins), and its flat keywords."""
    tags, turn = people_tags.photo_tags(path, ours)
    found: dict[str, tuple[str, Box | None, str]] = {}
    for area in tags.areas:
        name = people_tags.person_name(area.name)
        box = people_tags.to_displayed(area, size, turn) if name and all(size) else None
        if name and (box is not None or name.casefold() not in found):
            found.setdefault(name.casefold(), (name, box, area.kind))
            if box is not None and found[name.casefold()][1] is None:
                found[name.casefold()] = (name, box, area.kind)
    for raw, kind in tags.people:
        name = people_tags.person_name(raw)
        if name:
            found.setdefault(name.casefold(), (name, None, kind))
    return found, {k.casefold() for k in tags.keywords}


def scan(
    store: Store,
    model: str,
    progress: Callable[[int, int], None] | None = None,
    cancel: CancelToken | None = None,
) -> list[Proposal]:
    """Every name the album's photos are tagged with, most photos first; only reads."""
    return propose(store, model, read_tags(*to_read(store), progress, cancel))


def to_read(store: Store) -> tuple[list[tuple], set[str]]:
    """The album's photos (id, path, sha256, width, height) and the known names: what `read_tags` needs."""
    return rows.album_photos(store), {c.name.casefold() for c in store.list_concepts()}


def read_tags(
    listed: Sequence[tuple],
    ours: set[str],
    progress: Callable[[int, int], None] | None = None,
    cancel: CancelToken | None = None,
) -> list[tuple[int, str, dict, set[str]]]:
    """Each photo's tags and keywords, read from its files; no store (a window runs it off the store lane,
    which the album's other work needs meanwhile)."""
    read: list[tuple[int, str, dict, set[str]]] = []
    for n, (photo_id, path, _, width, height) in enumerate(listed, 1):
        if cancel is not None and cancel.cancelled:
            break
        found, keywords = _photo_tags(path, (width, height), ours)
        read.append((photo_id, path, found, keywords))
        if progress is not None:
            progress(n, len(listed))
    return read


def propose(store: Store, model: str, read: Sequence[tuple[int, str, dict, set[str]]]) -> list[Proposal]:
    """The proposals from what `read_tags` read: a name per person, its tags placed on stored regions."""
    people = {key: value[0] for _, _, found, _ in read for key, value in found.items()}
    for concept in store.list_concepts():  # a plain keyword that is a known concept's name is that concept
        people.setdefault(concept.name.casefold(), concept.name)
    by_name: dict[str, list[tuple[Tag, str]]] = {}
    for photo_id, path, found, keywords in read:
        for key in found.keys() | (keywords & people.keys()):
            _, box, kind = found.get(key, (people[key], None, ""))
            tag = Tag(photo_id, path, box, "keyword" if box is None else "region")
            by_name.setdefault(key, []).append((tag, kind))
    return _proposals(store, model, people, by_name)


def _proposals(store: Store, model: str, people: dict[str, str], by_name: dict) -> list[Proposal]:
    known = {c.name.casefold(): c for c in store.list_concepts()}
    cache: dict[int, list[photos.StoredRegion]] = {}
    out = []
    for key, tagged in by_name.items():
        concept = known.get(key)
        # a plain keyword ("beach", "2019", or a concept's name used as a word) is no person tag
        # unless a region or a people hierarchy named it somewhere
        if not any(t.box for t, _ in tagged) and not any(kind for _, kind in tagged):
            continue
        placed = tuple(_placed(store, model, t, concept.id if concept else None, cache) for t, _ in tagged)
        name = concept.name if concept else people[key]
        category = concept.category if concept else _category([k for _, k in tagged])
        out.append(Proposal(name, category, bool(concept), placed))
    out.sort(key=lambda p: (-p.photos, p.name.casefold()))
    return out


def _placed(store: Store, model: str, tag: Tag, concept: int | None, cache: dict) -> Tag:
    if tag.box is None:
        return tag
    if tag.photo_id not in cache:
        cache[tag.photo_id] = photos.regions(store, tag.photo_id, model)
    region = place(tag.box, cache[tag.photo_id])
    if region is None:
        return tag
    said = photos.manual_statuses(store, [region.id])
    mine = said.get((region.id, concept)) if concept is not None else None
    if mine == "confirmed":
        return Tag(tag.photo_id, tag.path, tag.box, "done", region.id)
    # rejected for this name, or confirmed as someone else: the user's word stands
    if mine is not None or any(status == "confirmed" for (_, other), status in said.items() if other != concept):
        return Tag(tag.photo_id, tag.path, tag.box, "taken", region.id)
    return Tag(tag.photo_id, tag.path, tag.box, "match", region.id)


def choose(proposals: Sequence[Proposal], wanted: Sequence[str]) -> list[Proposal]:
    """The proposals named in `wanted` (any case); a name not found is an error that says so."""
    by_key = {p.name.casefold(): p for p in proposals}
    keys = [w.strip().strip("<>").strip().casefold() for w in wanted]
    missing = [w for w, key in zip(wanted, keys, strict=True) if key not in by_key]
    if missing:
        raise NotFoundError(f"no people tag named {missing[0]!r} in the album; see `rap-desktop album import-tags`")
    return [by_key[key] for key in dict.fromkeys(keys)]


BATCH = 32  # crops embedded per model call, across photos


@dataclass
class _Photo:
    loaded: LoadedImage | None  # kept only for a photo an exemplar is cut from (a 12-MP photo is ~10 MB)
    path: str
    boxes: list[Box] = field(default_factory=list)
    vectors: np.ndarray | None = None
    founder: bool = False  # an exemplar is planned to be cut from it


def _read(store: Store, photo_id: int, path: str) -> LoadedImage:
    image = load_working(path)
    if image.sha256 != photos.photo_sha256(store, photo_id):
        raise RapError("the file changed since it was indexed; index the folder again")
    return image


def _load(store: Store, embedder: ImageEmbedder, chosen: Sequence[Proposal]) -> tuple[dict[int, _Photo], list]:
    """Before the write: each photo whose pixels are needed (a box to embed, an exemplar to cut),
    checked against what was indexed; the new regions embedded in batches across photos. Only a
    batch's photos are held in memory (and those exemplars are cut from), never the whole import's
    (a 12-MP photo's working decode and bytes are ~10 MB: a thousand tagged photos held were GBs)."""
    needed: dict[int, str] = {}
    boxes: dict[int, list[Box]] = {}
    founders: set[int] = set()
    for proposal in chosen:
        usable = proposal.usable
        for tag in usable:
            if tag.state == "region":
                needed[tag.photo_id] = tag.path
                boxes.setdefault(tag.photo_id, []).append(tag.box)  # type: ignore[arg-type]
            if not proposal.known and tag is usable[0]:
                needed[tag.photo_id] = tag.path
                founders.add(tag.photo_id)
    loaded: dict[int, _Photo] = {}
    skipped = []
    waiting: list[_Photo] = []
    for photo_id, path in needed.items():
        try:
            image = _read(store, photo_id, path)
        except (RapError, OSError) as exc:
            skipped.append((path, str(exc)))
            continue
        item = loaded[photo_id] = _Photo(image, path, list(dict.fromkeys(boxes.get(photo_id, []))))
        item.founder = photo_id in founders
        if item.boxes:
            waiting.append(item)
        if sum(len(w.boxes) for w in waiting) >= BATCH:
            _embed(embedder, waiting)
            waiting = []
    _embed(embedder, waiting)
    return loaded, skipped


def _embed(embedder: ImageEmbedder, items: list[_Photo]) -> None:
    """The boxes of several photos in as few model calls as the embedder's batch allows; each photo's
    pixels are let go afterwards unless an exemplar is cut from it."""
    if not items:
        return
    pairs = [
        (item.loaded.image, [working_box(item.loaded, b) if item.loaded.scale != 1.0 else tuple(b) for b in item.boxes])
        for item in items
        if item.loaded is not None
    ]
    if hasattr(embedder, "embed_boxes"):
        vectors = embedder.embed_boxes(pairs)
    else:
        vectors = embedder.embed_images([crop_box(image, box) for image, inner in pairs for box in inner])
    start = 0
    for item in items:
        item.vectors = vectors[start : start + len(item.boxes)]
        start += len(item.boxes)
        if not item.founder:
            item.loaded = None


def _crop(photo: _Photo, box: Box, name: str) -> LoadedImage:
    buffer = io.BytesIO()
    exemplar_crop(photo.loaded, box, min_side=224).save(buffer, format="PNG")
    return load_image(buffer.getvalue(), name=f"{name} (imported tag)")


def apply(store: Store, embedder: ImageEmbedder, chosen: Sequence[Proposal]) -> Imported:
    """Make the chosen proposals concepts and confirm their tagged regions, in one transaction."""
    model = embedder.model_id
    loaded, unread = _load(store, embedder, chosen)
    skipped = [(path, why) for path, why in unread]
    parts: list[dict] = []
    created: list[tuple[int, str]] = []
    added: list[int] = []
    made: dict[tuple[int, Box], int] = {}  # (photo, box) -> the region made for it (two names, one box)
    with store.transaction():
        for proposal in chosen:
            usable = [t for t in proposal.usable if t.state == "match" or t.photo_id in loaded]
            if not usable:
                skipped.append((proposal.name, "no tagged region to confirm (keywords only, or already done)"))
                continue
            concept = store.find_concept(proposal.name)
            founder = next((n for n, t in enumerate(usable) if t.photo_id in loaded), None)
            if concept is None and founder is None:
                skipped.append((proposal.name, "its tagged photos could not be read"))
                continue
            regions = [_region_of(store, tag, loaded, model, made, added) for tag in usable]
            if concept is None:
                photo = loaded[usable[founder].photo_id]  # type: ignore[index]
                if photo.loaded is None:  # the planned one could not be read: this one's pixels again
                    photo.loaded = _read(store, usable[founder].photo_id, photo.path)  # type: ignore[index]
                concept_id = _new_concept(store, proposal, photo, regions[founder], parts)  # type: ignore[index]
                created.append((concept_id, proposal.name))
            else:
                concept_id = concept.id
            for region in regions:
                previous = log_table.match_state(store, region, concept_id)
                parts.append({"region": region, "concept": concept_id, "previous": previous})
                log_table.set_match_status(store, region, concept_id, "confirmed", True)
        log_id = None
        if parts:
            payload = {"members": parts, "import_concepts": [c for c, _ in created], "import_regions": added}
            log_id = log_table.log(store, "import_tags", payload)
    confirmed = sum(1 for p in parts if "region" in p)
    return Imported(log_id, tuple(n for _, n in created), confirmed, len(added), tuple(skipped))


def _region_of(store: Store, tag: Tag, loaded: dict[int, _Photo], model: str, made: dict, added: list[int]) -> int:
    """Inside the write: the stored region of a tag, or a new one from its box (made once)."""
    if tag.state == "match":
        return tag.region  # type: ignore[return-value]
    key = (tag.photo_id, tag.box)
    if key not in made:
        photo = loaded[tag.photo_id]
        vector = photo.vectors[photo.boxes.index(tag.box)]  # type: ignore[index,arg-type]
        proposal = NewRegion(tag.box, "tagged", 1.0, USER)  # type: ignore[arg-type]
        ordinal = photos.write_region(store, tag.photo_id, proposal, vector, model)
        made[key] = rows.region_id(store, tag.photo_id, ordinal)
        added.append(made[key])
    return made[key]


def _new_concept(store: Store, proposal: Proposal, photo: _Photo, region: int, parts: list[dict]) -> int:
    """Inside the write: the concept, and its exemplar cut from its first tagged region."""
    now = time.time()
    store.refuse_lookalike(proposal.name)
    concept_id = concepts_table.insert_concept(store, proposal.name, "", proposal.category, now, now)
    stored = rows.region_by_id(store, region)
    vectors = {store.embedder.model_id: stored.vector} if store.embedder is not None else {}
    crop = _crop(photo, stored.box, proposal.name)
    exemplar = store.insert_exemplar(concept_id, NewExemplar(crop, None, "imported", vectors), None, now)
    parts.append({"exemplar": exemplar.id})
    return concept_id
