"""Personalised captions for an indexed album folder, stored (a rerun skips captioned photos unless
forced), and optionally written with the names and regions to XMP sidecars.

The concepts given to the generator come from the album's stored matches (the user's confirmations
included), not from a fresh retrieval: captioning never re-detects, and never replaces regions that
carry corrections.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import album_store, xmp
from .album import Progress
from .assistant import Assistant, Prepared
from .errors import RapError
from .images import load_image
from .models.generator import DEFAULT_OPTIONS, CancelToken, GenerationOptions
from .prompting import Conversation, build_user_turn, caption_question
from .retrieval import ChosenConcept
from .store import Store


@dataclass(frozen=True)
class CaptionReport:
    photos: int
    captioned: int
    skipped: int  # captioned before (no --force)
    failed: tuple[tuple[str, str], ...]
    sidecars: tuple[str, ...]
    cancelled: bool
    seconds: float


def accepted(store: Store, photo_id: int) -> list[tuple[ChosenConcept, xmp.Region]]:
    """The photo's accepted concepts, confirmed first then by similarity, one entry per region."""
    rows = store.conn.execute(
        "SELECT c.id, c.name, c.category, r.ordinal, r.x1, r.y1, r.x2, r.y2, m.similarity, m.status = 'confirmed' "
        "FROM matches m JOIN regions r ON r.id = m.region_id JOIN concepts c ON c.id = m.concept_id "
        "WHERE r.photo_id = ? AND m.accepted = 1 ORDER BY m.status = 'confirmed' DESC, m.similarity DESC, r.ordinal",
        (photo_id,),
    ).fetchall()
    return [
        (ChosenConcept(name, cid, "region", f"r{ordinal}", sim), xmp.Region(name, category, (x1, y1, x2, y2)))
        for cid, name, category, ordinal, x1, y1, x2, y2, sim, _ in rows
    ]


def _save(store: Store, photo_id: int, text: str, model: str, names: list[str]) -> None:
    with store._write():
        store.conn.execute(
            "INSERT OR REPLACE INTO album_captions(photo_id, text, model, concepts, created) VALUES (?,?,?,?,?)",
            (photo_id, text, model, json.dumps(names), time.time()),
        )


def caption_folder(
    store: Store,
    assistant: Assistant | Callable[[], Assistant],
    folder: str,
    *,
    write_xmp: bool = False,
    style: str = "ext",
    force: bool = False,
    options: GenerationOptions = DEFAULT_OPTIONS,
    progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
) -> CaptionReport:
    """Caption every indexed photo under `folder` (taken order). `assistant` may be a factory:
    the generator is only loaded when some photo needs a caption."""
    start = time.perf_counter()
    ids = album_store.album_photo_ids(store, folder)
    paths = album_store.photo_paths(store, ids)
    done = dict(store.conn.execute("SELECT photo_id, text FROM album_captions").fetchall())
    failed: list[tuple[str, str]] = []
    sidecars: list[str] = []
    captioned = skipped = 0
    cancelled = False
    for position, photo_id in enumerate(ids):
        if cancel is not None and cancel.cancelled:
            cancelled = True
            break
        path = paths.get(photo_id, "")
        found = accepted(store, photo_id)
        names = list(dict.fromkeys(c.name for c, _ in found))
        try:
            loaded = load_image(path)
            sha = store.conn.execute("SELECT sha256 FROM photos WHERE id = ?", (photo_id,)).fetchone()[0]
            if loaded.sha256 != sha:
                raise RapError("the file changed since it was indexed; run `rap-desktop index` again")
            text = done.get(photo_id)
            if text is None or force:
                if not isinstance(assistant, Assistant):
                    assistant = assistant()  # the generator loads on the first photo that needs it
                limit = assistant.generator.concept_limit
                best: dict[int, ChosenConcept] = {}
                for concept, _ in found:  # best region per concept, in the order found
                    best.setdefault(concept.concept_id, concept)
                chosen = tuple(best.values())[:limit]
                turn = build_user_turn(
                    caption_question(), assistant._refs(chosen), query_image=loaded.image, limit=limit
                )
                prepared = Prepared(Conversation.start(assistant.template, turn), chosen, None)
                reply = assistant.generate(prepared, options, cancel=cancel)
                text = reply.text.strip()
                _save(store, photo_id, text, reply.model, names)
                captioned += 1
            else:
                skipped += 1
            if write_xmp:
                regions = [region for _, region in found]
                sidecars.append(str(xmp.write_sidecar(path, loaded.size, text, names, regions, style)))
        except RapError as exc:
            failed.append((path, str(exc)))
        except OSError as exc:
            failed.append((path, f"cannot write: {exc.strerror or exc}"))
        if progress is not None:
            elapsed = time.perf_counter() - start
            rate = (position + 1) / elapsed if elapsed > 0 else 0.0
            eta = (len(ids) - position - 1) / rate if rate > 0 else None
            progress(Progress(position + 1, len(ids), len(failed), rate, eta, path))
    return CaptionReport(
        len(ids), captioned, skipped, tuple(failed), tuple(sidecars), cancelled, time.perf_counter() - start
    )
