"""Album commands: index, search, rematch, groups, caption-album. Handlers return dicts with `text`."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
from pathlib import Path

from ..core import actions, groups
from ..core.album import caption as album_caption
from ..core.album import indexer as album
from ..core.album import rematch
from ..core.album import search as album_search
from ..core.errors import RapError
from ..core.models.generator import GenerationOptions
from ..core.names import tag
from ..core.session import Session
from ..core.store import album as album_store
from ..core.store import index_state
from ..core.store.captions import captions_by_path
from ..core.store.photos import photos_of_regions
from ..core.thumbcache import for_home
from .concepts import register_album_rename


@contextlib.contextmanager
def _cancel_on_interrupt():
    """The first Ctrl-C cancels between batches (what was committed stays); a second one stops at once."""
    token = album.CancelToken()
    if threading.current_thread() is not threading.main_thread():
        yield token
        return

    def handler(signum, frame):
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()
        print("rap-desktop: cancelling after the current batch (Ctrl-C again to stop now)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield token
    finally:
        signal.signal(signal.SIGINT, previous)


def _progress_printer(stage: str, every: float = 1.0):
    last = [0.0]

    def show(progress) -> None:
        now = time.monotonic()
        if progress.done == progress.total or now - last[0] >= every:
            last[0] = now
            print(f"rap-desktop: {stage} {progress.line()}", file=sys.stderr, flush=True)

    return show


def _report_dict(report: album.IndexReport) -> dict:
    return {
        "folders": list(report.folders),
        "files": report.files,
        "unchanged": report.unchanged,
        "indexed": report.indexed,
        "recorded": report.recorded,
        "removed": report.removed,
        "failed": [{"path": p, "reason": r} for p, r in report.failed],
        "cancelled": report.cancelled,
        "seconds": round(report.seconds, 3),
        "photos_per_s": round(report.photos_per_s, 2),
        "model_seconds": round(report.model_seconds, 3),
        "outside_models": round(report.outside_models, 3),
    }


def run_index(session: Session, folders, batch: int = 8, workers: int | None = None, quiet: bool = False):
    indexer = album.Indexer(session.retriever(), for_home(session.home), batch_size=batch, workers=workers)
    with _cancel_on_interrupt() as token:
        return indexer.index(folders, None if quiet else _progress_printer("index"), token)


def index(args: argparse.Namespace, session: Session) -> dict:
    folders = [str(f) for f in args.folders]
    if args.resume:  # the folders a run did not finish (killed, cancelled, the window closed)
        folders += [u.folder for u in index_state.unfinished(session.store()) if u.folder not in folders]
    if not folders:
        if args.resume:
            return {"folders": [], "unfinished": [], "text": "no unfinished folders: every indexing run finished"}
        raise RapError("give FOLDER (once or more), or --resume to finish the folders a run did not")
    report = run_index(session, folders, args.batch, args.workers)
    doc = _report_dict(report)
    doc["unfinished"] = [
        {"folder": u.folder, "total": u.total, "done": u.done} for u in index_state.unfinished(session.store())
    ]
    lines = [
        f"{report.files} photo files: {report.indexed} indexed, {report.recorded} known content at a new path, "
        f"{report.unchanged} unchanged, {report.removed} gone, {len(report.failed)} unreadable",
        f"{report.seconds:.1f} s, {report.photos_per_s:.1f} photos/s, "
        f"{100 * report.outside_models:.0f}% of the time outside model calls",
    ]
    lines += [f"  cannot read {p}: {r}" for p, r in report.failed]
    if report.cancelled:  # only Ctrl-C cancels here: the run is incomplete, so the exit status says so
        lines.append("cancelled: run the same command (or `rap-desktop index --resume`) to go on where it stopped")
        doc["interrupted"] = True
    return {**doc, "text": "\n".join(lines)}


def _hit(hit: album_search.PhotoHit) -> dict:
    return {
        "photo": hit.sha256,
        "path": hit.path,
        "score": hit.score,  # full precision: scripts compare and re-rank
        "region": hit.region,
        "box": [round(v, 1) for v in hit.box],
        "confirmed": hit.confirmed,
        "taken": hit.taken,
    }


def _cut_dict(cut: album_search.Cut | None) -> dict | None:
    if cut is None:
        return None
    return {"rule": cut.rule, "best": cut.best, "typical": cut.typical, "line": cut.line}


def search(args: argparse.Namespace, session: Session) -> dict:
    concepts = list(dict.fromkeys(args.concept or []))
    if not concepts and not args.text:
        raise RapError("give --concept NAME (once or more), --text TEXT, or both")
    if args.only and not concepts:
        raise RapError("--only needs --concept NAME (once or more)")
    if args.more < 0 or (args.limit is not None and args.limit < 1):
        raise RapError("--more must be 0 or more, --limit 1 or more")
    how = album_search.ONLY if args.only else album_search.TOGETHER
    store = session.store()
    if args.text:
        found = album_search.TextSearch(store, session.embedder).search(args.text, concepts, how, args.more)
    else:
        found = album_search.found_by_concepts(store, concepts, how)
    hits, more = found.hits, found.more
    if args.limit is not None and len(hits) > args.limit:
        hits, more = hits[: args.limit], more + len(hits) - args.limit
    lines = [f"{h.score:6.3f} {'✓' if h.confirmed else ' '} {h.region:4} {h.path or h.sha256[:12]}" for h in hits]
    noun = "photo" if found.found == 1 else "photos"
    summary = f"{found.found} {noun} found"
    if found.cut is not None:
        summary += f" (cut at {found.cut.line:.4f}, {found.cut.rule}; best {found.cut.best:.4f}, "
        summary += f"typical {found.cut.typical:.4f})"
    if len(hits) > found.found:
        summary += f", {len(hits) - found.found} more below the cut shown"
    if more:
        summary += f"; {more} more below the cut: --more N"
    return {
        "photos": [_hit(h) for h in hits],
        "found": found.found,
        "shown": len(hits),
        "more": more,
        "concepts": concepts,
        "how": how,
        "text": "\n".join([*lines, summary]),
        "query": args.text,
        "cut": _cut_dict(found.cut),
    }


def rematch_cmd(args: argparse.Namespace, session: Session) -> dict:
    report = rematch.after_change(session, full=args.full)
    if report is None:
        return {"regions": 0, "text": "nothing indexed yet: run `rap-desktop index FOLDER` first"}
    doc = {k: getattr(report, k) for k in ("regions", "photos", "accepted", "changed", "full", "redecided")}
    text = f"re-matched {report.regions} regions of {report.photos} photos in {report.seconds:.2f} s "
    text += "(all decided again)" if report.full else f"({report.redecided} decided again)"
    return {**doc, "seconds": round(report.seconds, 3), "text": text + f": {report.changed} decisions changed"}


def register(sub, command) -> None:
    """Add the album sub-commands to the parser (`command` is cli.build_parser's helper)."""
    p = command(sub, "index", index, "add folders to the album and index new or changed photos (resumable)")
    p.add_argument("folders", nargs="*", type=Path, metavar="FOLDER")
    p.add_argument(
        "--resume", action="store_true", help="also the folders an earlier run did not finish (killed, cancelled)"
    )
    p.add_argument("--batch", type=int, default=8, help="photos per model batch and per commit (default 8)")
    p.add_argument(
        "--workers", type=int, help="threads reading and decoding ahead (0: none; default: half the cores, at least 2)"
    )
    p = command(sub, "search", search, "album photos by concept, by text, or both")
    p.add_argument(
        "--concept",
        action="append",
        metavar="NAME",
        help="photos where this concept is recognised (confirmed first); repeat it for several",
    )
    how = p.add_mutually_exclusive_group()
    how.add_argument("--together", action="store_true", help="several concepts: photos with all of them (default)")
    how.add_argument("--only", action="store_true", help="photos with exactly these concepts and no other known one")
    p.add_argument("--text", help='a description, e.g. "a dog on a sofa": the photos above a relevance cut')
    p.add_argument("--more", type=int, default=0, metavar="N", help="also the next N photos below the cut")
    p.add_argument("--limit", type=int, help="print at most this many photos (the rest counted in `more`)")
    p = command(sub, "rematch", rematch_cmd, "re-match stored regions against the concepts (no model run)")
    p.add_argument(
        "--full", action="store_true", help="decide every region again, not only what changed since the last re-match"
    )
    register_more(sub, command)
    register_import_tags(sub, command)


def _group_dict(store, group: groups.Group) -> dict:
    paths = album_store.photo_paths(store, _photo_ids(store, group.regions[:5]))
    return {
        "id": group.id,
        "size": group.size,
        "photos": group.photos,
        "cohesion": round(group.cohesion, 4),
        "regions": list(group.regions),
        "examples": sorted(set(paths.values())),
    }


def _photo_ids(store, region_ids):
    return photos_of_regions(store, list(region_ids))


def groups_list(args: argparse.Namespace, session: Session) -> dict:
    store = session.store()
    found = groups.find_groups(
        store, session.embedder.model_id, args.threshold, args.min_size, include_whole=args.include_whole
    )
    docs = [_group_dict(store, g) for g in found]
    lines = [
        f"group {d['id']:3}: {d['size']} regions in {d['photos']} photos (cohesion {d['cohesion']:.2f}), "
        f"e.g. {', '.join(Path(p).name for p in d['examples'][:3])}"
        for d in docs
    ] or ["no unknown groups: every look-alike set is named, or too small"]
    lines.append("name one with `rap-desktop groups name ID NAME`, hide strangers with `rap-desktop groups hide ID`")
    return {"groups": docs, "text": "\n".join(lines)}


def groups_name(args: argparse.Namespace, session: Session) -> dict:
    done = actions.name_group(session, args.id, args.name, args.info, args.category)
    named, report = done.value, done.changes.rematch
    more = report.accepted if report else 0
    text = f"group {args.id} is {tag(named.concept)}" + (" (new)" if named.created else "")
    text += f": {named.confirmed} regions confirmed (take it back with `rap-desktop match undo`)"
    return {
        "concept": named.concept,
        "created": named.created,
        "confirmed": named.confirmed,
        "accepted_after_rematch": more,
        "text": text,
    }


def groups_hide(args: argparse.Namespace, session: Session) -> dict:
    hidden = actions.hide_group(session, args.id).value
    text = f"group {args.id} hidden for good: {hidden.regions} regions never offered again "
    text += "(take it back with `rap-desktop match undo` or `rap-desktop groups unhide ID`)"
    return {"group": args.id, "hidden": hidden.regions, "correction": hidden.correction, "text": text}


def groups_unhide(args: argparse.Namespace, session: Session) -> dict:
    shown = actions.unhide_group(session, args.id).value
    text = f"group {args.id} shown again: {shown.regions} regions (list them with `rap-desktop groups list`)"
    return {"group": args.id, "shown": shown.regions, "correction": shown.correction, "text": text}


def groups_hidden(args: argparse.Namespace, session: Session) -> dict:
    from ..core import hiding
    from ..core.store import hidden as hidden_table

    sets = hidden_table.hidden_sets(session.store())
    docs = [{"group": g, "regions": n, "photos": p} for g, n, p in sets]
    lines = [
        (f"group {g:3}" if g is not None else "single regions") + f": {n} regions in {p} photos" for g, n, p in sets
    ] or ["nothing hidden"]
    alike = hiding.lookalikes(session.store(), session.embedder.model_id, args.threshold) if sets else 0
    if alike:
        bar = max(args.threshold, hiding.LOOKALIKE)
        lines.append(f"{alike} more regions look like a hidden stranger (similarity >= {bar:g}) and stay out too")
    if any(g is not None for g, _, _ in sets):
        lines.append("show one again with `rap-desktop groups unhide ID`")
    return {"hidden": docs, "lookalikes": alike, "text": "\n".join(lines)}


def caption_album(args: argparse.Namespace, session: Session) -> dict:
    report = run_index(session, [args.folder], quiet=getattr(args, "json", False))
    if report.cancelled:
        raise RapError("indexing was cancelled; nothing captioned")
    options = GenerationOptions(max_new_tokens=args.max_new_tokens, temperature=args.temperature)
    if args.batch is not None and args.batch < 1:
        raise RapError("--batch must be at least 1")
    batch = args.batch or session.generation_settings()[1]
    with _cancel_on_interrupt() as token:
        done = album_caption.caption_folder(
            session.store(),
            lambda: session.assistant(),
            report.folders[0],
            write_xmp=args.write_xmp,
            style=args.xmp_name,
            force=args.force,
            options=options,
            progress=_progress_printer("caption"),
            cancel=token,
            batch_size=batch,
        )
    captions = captions_by_path(session.store())
    lines = [f"{done.captioned} captioned, {done.skipped} already captioned, {len(done.failed)} failed"]
    if args.write_xmp:
        lines.append(f"{len(done.sidecars)} XMP sidecars written")
    lines += [f"  {p}: {r}" for p, r in done.failed]
    if done.cancelled:
        lines.append("cancelled: run the same command again to go on")
    return {
        "photos": done.photos,
        "captioned": done.captioned,
        "skipped": done.skipped,
        "failed": [{"path": p, "reason": r} for p, r in done.failed],
        "sidecars": list(done.sidecars),
        "captions": captions,
        "cancelled": done.cancelled,
        "seconds": round(done.seconds, 3),
        "text": "\n".join(lines),
    }


def register_more(sub, command) -> None:
    group = sub.add_parser("groups", help='look-alike regions that match no concept ("new concept?")')
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = command(actions, "list", groups_list, "cluster the unmatched regions into look-alike groups")
    p.add_argument("--threshold", type=float, default=0.9, help="cosine similarity to join a group (default 0.9)")
    p.add_argument("--min-size", type=int, default=3, help="smallest group shown (default 3)")
    p.add_argument("--include-whole", action="store_true", help="also group whole-photo regions")
    p = command(actions, "name", groups_name, "make a group a concept: one exemplar, the rest confirmed")
    p.add_argument("id", type=int)
    p.add_argument("name")
    p.add_argument("--info", default="")
    p.add_argument("--category", help="default: the detector's label for the group")
    p = command(actions, "hide", groups_hide, 'a group of strangers: never offered again (nor in "review")')
    p.add_argument("id", type=int)
    p = command(actions, "unhide", groups_unhide, "offer a hidden group again")
    p.add_argument("id", type=int)
    p = command(actions, "hidden", groups_hidden, "what is hidden, by group, and how many look-alikes stay out")
    p.add_argument("--threshold", type=float, default=0.9, help="as in `groups list` (never below 0.9)")
    p = command(sub, "caption-album", caption_album, "personalised captions for an album folder (+ XMP sidecars)")
    p.add_argument("folder", type=Path)
    p.add_argument("--write-xmp", action="store_true", help="write caption, names and regions to XMP sidecars")
    p.add_argument(
        "--xmp-name", choices=("ext", "stem"), default="ext", help="ext: photo.jpg.xmp (default); stem: photo.xmp"
    )
    p.add_argument("--force", action="store_true", help="caption again photos that already have a caption")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument(
        "--batch",
        type=int,
        help="photos per generate call (default: [generation] caption_batch, else from free GPU memory; 4 on a CPU)",
    )


def _proposal_dict(proposal) -> dict:
    return {
        "name": proposal.name,
        "category": proposal.category,
        "known": proposal.known,
        "photos": proposal.photos,
        "regions": sum(1 for t in proposal.tags if t.box is not None),
        "usable": len(proposal.usable),
        "tags": [
            {"path": t.path, "state": t.state, "box": [round(v, 1) for v in t.box] if t.box else None}
            for t in proposal.tags
        ],
    }


def import_tags(args: argparse.Namespace, session: Session) -> dict:
    """List the people tags of the album's photos, or (--apply) make the named ones concepts."""
    from ..core.actions import people_tags

    found = people_tags.people_tag_proposals(session)
    if not args.apply:
        lines = [
            f"{tag(p.name)}{' (known)' if p.known else ''}: {p.photos} photo{'s' * (p.photos != 1)}, "
            f"{len(p.usable)} region{'s' * (len(p.usable) != 1)} to confirm"
            for p in found
        ] or ["no people tags in the album's sidecars or photos"]
        if found:
            lines.append("import some with `rap-desktop album import-tags --apply NAME...`")
        return {"proposals": [_proposal_dict(p) for p in found], "text": "\n".join(lines)}
    done = people_tags.import_people_tags(session, args.apply, found)
    imported = done.value
    text = f"{imported.confirmed} regions confirmed ({imported.regions_added} made from tagged boxes)"
    if imported.created:
        text += "; new: " + ", ".join(tag(n) for n in imported.created)
    text += "\n" + "\n".join(f"  skipped {what}: {why}" for what, why in imported.skipped) if imported.skipped else ""
    if imported.correction is not None:
        text += "\ntake it back with `rap-desktop match undo`"
    return {
        "created": list(imported.created),
        "confirmed": imported.confirmed,
        "regions_added": imported.regions_added,
        "skipped": [{"what": w, "why": y} for w, y in imported.skipped],
        "correction": imported.correction,
        "text": text,
    }


def register_import_tags(sub, command) -> None:
    album_group = sub.add_parser("album", help="the album as a whole (import people tags)")
    album_actions = album_group.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = command(
        album_actions,
        "import-tags",
        import_tags,
        "people tags other tools wrote (XMP regions and keywords, sidecars and photos): list, or import",
    )
    p.add_argument("--apply", nargs="+", metavar="NAME", help="make these names concepts, their regions confirmed")
    register_album_rename(album_actions, command)
