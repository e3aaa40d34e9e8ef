"""Album commands: index, search, rematch, groups, caption-album. Handlers return dicts with `text`."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
from pathlib import Path

from .core import album, album_search, rematch
from .core.errors import RapError
from .core.session import Session
from .core.thumbcache import for_home


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


def run_index(session: Session, folders, batch: int = 8, workers: int = 2, quiet: bool = False):
    indexer = album.Indexer(session.retriever(), for_home(session.home), batch_size=batch, workers=workers)
    with _cancel_on_interrupt() as token:
        return indexer.index(folders, None if quiet else _progress_printer("index"), token)


def index(args: argparse.Namespace, session: Session) -> dict:
    report = run_index(session, args.folders, args.batch, args.workers)
    doc = _report_dict(report)
    lines = [
        f"{report.files} photo files: {report.indexed} indexed, {report.recorded} known content at a new path, "
        f"{report.unchanged} unchanged, {report.removed} gone, {len(report.failed)} unreadable",
        f"{report.seconds:.1f} s, {report.photos_per_s:.1f} photos/s, "
        f"{100 * report.outside_models:.0f}% of the time outside model calls",
    ]
    lines += [f"  cannot read {p}: {r}" for p, r in report.failed]
    if report.cancelled:
        lines.append("cancelled: run the same command again to go on where it stopped")
    return {**doc, "text": "\n".join(lines)}


def _hit(hit: album_search.PhotoHit) -> dict:
    return {
        "photo": hit.sha256,
        "path": hit.path,
        "score": round(hit.score, 4),
        "region": hit.region,
        "box": [round(v, 1) for v in hit.box],
        "confirmed": hit.confirmed,
        "taken": hit.taken,
    }


def search(args: argparse.Namespace, session: Session) -> dict:
    if not args.concept and not args.text:
        raise RapError("give --concept NAME, --text TEXT, or both")
    store = session.store()
    if args.text:
        hits = album_search.TextSearch(store, session.embedder).search(args.text, args.limit, args.concept)
    else:
        hits = album_search.by_concept(store, args.concept, args.limit)
    lines = [f"{h.score:6.3f} {'✓' if h.confirmed else ' '} {h.region:4} {h.path or h.sha256[:12]}" for h in hits] or [
        "no photos found"
    ]
    return {"photos": [_hit(h) for h in hits], "text": "\n".join(lines)}


def rematch_cmd(args: argparse.Namespace, session: Session) -> dict:
    report = rematch.after_change(session)
    if report is None:
        return {"regions": 0, "text": "nothing indexed yet: run `rap-desktop index FOLDER` first"}
    doc = {k: getattr(report, k) for k in ("regions", "photos", "accepted", "changed")}
    text = f"re-matched {report.regions} regions of {report.photos} photos in {report.seconds:.2f} s: "
    return {**doc, "seconds": round(report.seconds, 3), "text": text + f"{report.changed} decisions changed"}


def after_change(session: Session) -> None:
    """Keep the album's matches in step after a concept or correction change (cli_commands calls it)."""
    report = rematch.after_change(session)
    if report is not None and report.changed:
        print(f"rap-desktop: album re-matched: {report.changed} decisions changed", file=sys.stderr)


def register(sub, command) -> None:
    """Add the album sub-commands to the parser (`command` is cli.build_parser's helper)."""
    p = command(sub, "index", index, "add folders to the album and index new or changed photos (resumable)")
    p.add_argument("folders", nargs="+", type=Path, metavar="FOLDER")
    p.add_argument("--batch", type=int, default=8, help="photos per model batch and per commit (default 8)")
    p.add_argument("--workers", type=int, default=2, help="threads reading and decoding ahead (0: none)")
    p = command(sub, "search", search, "album photos by concept, by text, or both")
    p.add_argument("--concept", help="photos where this concept is recognised (confirmed first)")
    p.add_argument("--text", help='a description, e.g. "a dog on a sofa"')
    p.add_argument("--limit", type=int, default=20)
    command(sub, "rematch", rematch_cmd, "re-match stored regions against the concepts (no model run)")
