"""Album import and incremental indexing: folders in, photos with regions, embeddings and matches out.

- Incremental: a file whose (path, size, mtime_ns) is unchanged is skipped without reading it; a new
  or changed file is hashed, and content already indexed only records the path (moves, renames and
  duplicates cost a hash, no model run).
- Resumable: each batch is committed in one transaction, so a kill loses at most the batch in
  flight and a rerun neither loses nor duplicates anything (photos are unique by content hash).
- Pipelined: worker threads read, hash, decode and thumbnail the next photos while the models run;
  the crops of a whole batch go through the image encoder in one call.
- Progress (done, total, photos/s, ETA) through a callback; cancel with a CancelToken, checked
  between batches. Unreadable files are recorded with their reason and never stop the run.
"""

from __future__ import annotations

import calendar
import collections
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..cancel import CancelToken
from ..errors import ImageError, NotFoundError, RapError
from ..fsutil import is_text, text_path
from ..images import (
    IMAGE_EXTENSIONS,
    MAX_FILE_BYTES,
    LoadedImage,
    crop_original,
    identify,
    load_working,
    read_file,
    sha256_bytes,
    working_box,
)
from ..regions import propose
from ..retrieval import Negatives, Retriever, decide, detect_original, rank
from ..store import album as album_store
from ..store import index_state
from ..store.album import NewPhoto, SeenFile
from ..store.photos import StoredRegion, carry_plan
from ..thumbcache import ThumbCache

if TYPE_CHECKING:
    from ..models.detector import Framed

__all__ = ["CancelToken", "IndexReport", "IndexRun", "Indexer", "Progress", "scan"]

NOT_UTF8 = "its file name is not valid UTF-8 (rename the file to index it)"


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    failed: int
    photos_per_s: float
    eta_s: float | None
    path: str = ""

    def line(self) -> str:
        eta = f"{self.eta_s:.0f}s" if self.eta_s is not None else "?"
        return f"{self.done}/{self.total} photos, {self.photos_per_s:.1f} photos/s, ETA {eta}, {self.failed} failed"


@dataclass(frozen=True)
class IndexReport:
    folders: tuple[str, ...]
    files: int  # image files found
    unchanged: int  # skipped without reading
    indexed: int  # photos run through the detector and encoder
    recorded: int  # paths of content already indexed (moves, renames, duplicates)
    failed: tuple[tuple[str, str], ...]  # every file under the folders that cannot be indexed, with why
    removed: int  # files gone from disk since the last run
    cancelled: bool
    seconds: float
    model_seconds: float  # inside detector and encoder calls
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def processed(self) -> int:
        return self.indexed + self.recorded

    @property
    def photos_per_s(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    @property
    def outside_models(self) -> float:
        """Share of the wall time spent outside model calls (I/O, decoding, Python, SQLite)."""
        return 1.0 - self.model_seconds / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class _Read:
    file: SeenFile
    loaded: LoadedImage | None = None  # None: failed, or content already indexed
    taken: float | None = None
    framed: Framed | None = None  # the detector's input, made by the reader


def scan(folder: Path) -> list[tuple[str, int, int]]:
    """(absolute path, size, mtime_ns) of every photo file under `folder`, sorted; hidden folders
    and files are left out, symlinked folders are not followed."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in IMAGE_EXTENSIONS:
                continue
            path = os.path.join(root, name)
            try:
                info = os.stat(path)
            except OSError:
                try:  # a broken link is listed (reading it says why); a file that vanished is not
                    info = os.lstat(path)
                except OSError:
                    continue
            found.append((path, info.st_size, info.st_mtime_ns))
    return sorted(found)


def exif_taken(data: bytes) -> float | None:
    """EXIF DateTimeOriginal (or DateTime) as seconds, the wall-clock time read as UTC (for sorting)."""
    try:
        with identify(data, "photo") as image:
            exif = image.getexif()
            value = exif.get_ifd(0x8769).get(36867) or exif.get(306)
        if not value:
            return None
        moment = datetime.strptime(str(value).strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
        return float(calendar.timegm(moment.timetuple()))
    except Exception:  # no, or broken, EXIF: undated
        return None


def _embed_batch(embedder, fresh: Sequence[_Read], proposals, clock: dict[str, float]):
    """Every crop of the batch in one encoder call (an encoder that cuts crops itself, `embed_boxes`,
    gets each working image once with its boxes: tensor ops, on the GPU there)."""
    if hasattr(embedder, "embed_boxes"):
        pairs = [
            (item.loaded.image, [working_box(item.loaded, p.box) for p in ps])  # type: ignore[union-attr]
            for item, ps in zip(fresh, proposals, strict=True)
        ]
        return embedder.embed_boxes(pairs)
    start = time.perf_counter()
    crops = [crop_original(item.loaded, p.box) for item, ps in zip(fresh, proposals) for p in ps]  # type: ignore[arg-type]  # noqa: B905
    clock["crop"] += time.perf_counter() - start
    return embedder.embed_images(crops)


def default_readers() -> int:
    """Reader threads: half the cores (the models' own threads take the rest), at least 2, at most 8.
    A 12-MP JPEG still costs ~100 ms of entropy decoding at any scale, so a GPU fed by fewer would wait."""
    return max(2, min(8, (os.cpu_count() or 2) // 2))


class Indexer:
    def __init__(
        self,
        retriever: Retriever,
        thumbs: ThumbCache | None = None,
        batch_size: int = 8,
        workers: int | None = None,
    ) -> None:
        self.retriever = retriever
        self.store = retriever.store
        self.thumbs = thumbs
        self.batch_size = max(1, batch_size)
        self.workers = default_readers() if workers is None else max(0, workers)

    # --- reading (worker threads) --------------------------------------------------------------

    def _read(self, entry: tuple[str, int, int], known: dict[str, int]) -> _Read:
        path, size, mtime_ns = entry
        label = os.path.basename(path)
        if not is_text(path):  # the album keeps paths as text: a name that is not UTF-8 cannot be stored
            return _Read(SeenFile(text_path(path), size, mtime_ns, error=NOT_UTF8))
        try:
            data = read_file(path, label, MAX_FILE_BYTES)
            if not data:
                raise ImageError("empty file (0 bytes)")
            sha = sha256_bytes(data)
            if sha in known and (self.thumbs is None or self.thumbs.has(sha)):
                return _Read(SeenFile(path, size, mtime_ns, sha))  # a move, rename or duplicate
            loaded = load_working(data, name=label, sha256=sha)  # at the size the models need: 1/2 of a 12-MP JPEG
            detector = self.retriever.detector
            framed = detector.frame(loaded.image) if hasattr(detector, "frame") else None
            if self.thumbs is not None:
                self.thumbs.ensure(sha, loaded.image)
            taken = exif_taken(data)
            if taken is None:  # no EXIF date: the file's own time places it on the timeline
                taken = album_store.file_taken(mtime_ns)
            return _Read(SeenFile(path, size, mtime_ns, sha), loaded, taken, framed)
        except ImageError as exc:
            reason = str(exc)
            return _Read(SeenFile(path, size, mtime_ns, error=reason.removeprefix(f"{label}: ")))
        except OSError as exc:  # e.g. the thumbnail folder is full: the photo is not indexed, the run goes on
            return _Read(SeenFile(path, size, mtime_ns, error=str(exc.strerror or exc)))

    # --- one batch (the calling thread: models and store) --------------------------------------

    def _models(
        self,
        fresh: Sequence[_Read],
        earlier: Sequence[album_store.Earlier | None],
        classes: list[str],
        clock: dict[str, float],
    ):
        detector, embedder = self.retriever.detector, self.retriever.embedder
        start = time.perf_counter()
        images = [item.loaded.image for item in fresh]  # type: ignore[union-attr]
        if detector is None:
            found = [[] for _ in images]
        elif hasattr(detector, "detect_many"):  # the batch's photos in as few model calls as their frames allow
            framed = [item.framed for item in fresh]
            found = detector.detect_many(images, classes, None if None in framed else framed)  # type: ignore[arg-type]
        else:
            found = [detector.detect(image, classes) for image in images]
        proposals = [  # boxes from the working images, stored in the photos' own pixels
            propose(detect_original(boxes, item.loaded), *item.loaded.size)  # type: ignore[union-attr]
            for item, boxes in zip(fresh, found, strict=True)
        ]
        origins: list[list[int | None]] = []
        for i, before in enumerate(earlier):  # indexed before under another model: drawn and decided regions carry on
            if before is None:
                origins.append([None] * len(proposals[i]))
            else:
                proposals[i], carried = carry_plan(before.regions, before.decided, proposals[i])
                origins.append(carried)
        clock["detect"] += time.perf_counter() - start
        start = time.perf_counter()
        vectors = _embed_batch(embedder, fresh, proposals, clock)
        clock["embed"] += time.perf_counter() - start
        return proposals, origins, vectors

    def _batch(self, reads: Sequence[_Read], known, key, negatives, clock) -> int:
        classes, detector_key = key
        fresh: dict[str, _Read] = {}
        for item in reads:
            if item.loaded is not None and item.file.sha256 not in known:
                fresh.setdefault(item.file.sha256, item)  # type: ignore[arg-type]
        photos: list[NewPhoto] = []
        if fresh:
            items = list(fresh.values())
            earlier = [album_store.earlier(self.store, sha) for sha in fresh]
            proposals, origins, vectors = self._models(items, earlier, classes, clock)
            start = time.perf_counter()
            ranked = rank(self.store, vectors, self.retriever.neighbours)
            clock["match"] += time.perf_counter() - start
            position, placeholder = 0, 0
            for item, props, carried, before in zip(items, proposals, origins, earlier, strict=True):
                rows = vectors[position : position + len(props)]
                stored, manual = [], {}
                for ordinal, (p, vector, origin) in enumerate(zip(props, rows, carried, strict=True), 1):
                    placeholder -= 1
                    stored.append(StoredRegion(placeholder, 0, ordinal, p.box, p.label, p.score, p.source, vector))
                    if origin is not None:  # the user's word on the earlier region holds for this one
                        manual.update({(placeholder, c): s for (r, c), s in before.manual.items() if r == origin})
                decided = decide(
                    stored, ranked[position : position + len(props)], self.retriever.threshold, manual, negatives
                )
                position += len(props)
                found = [
                    (at, c.concept_id, c.similarity, c.accepted) for at, r in enumerate(decided) for c in r.candidates
                ]
                loaded = item.loaded
                photos.append(
                    NewPhoto(loaded.sha256, item.file.path, loaded.size, item.taken, props, rows, found, carried)  # type: ignore[union-attr]
                )
        start = time.perf_counter()
        album_store.write_batch(
            self.store, photos, [r.file for r in reads], self.retriever.embedder.model_id, detector_key, known
        )
        clock["write"] += time.perf_counter() - start
        return len(photos)

    # --- a run ---------------------------------------------------------------------------------

    def start(self, folders: Sequence[str | os.PathLike]) -> IndexRun:
        """Scan `folders` and return a run to drive batch by batch (`step()`), so other store work
        can go between batches; the read-ahead workers keep reading across steps."""
        return IndexRun(self, folders)

    def index(
        self,
        folders: Sequence[str | os.PathLike],
        progress: Callable[[Progress], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> IndexReport:
        run = self.start(folders)
        try:
            if progress is not None:
                progress(run.progress())
            while not run.done:
                if cancel is not None and cancel.cancelled:
                    run.cancel()
                    break
                step = run.step()
                if progress is not None:
                    progress(step)
        finally:
            run.close()
        return run.report()


def _spans(roots: Sequence[str], todo: Sequence[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """(root, first, end) of each root's files in `todo` (scanned root by root, in order)."""
    spans, start = [], 0
    for root in roots:
        prefix = root.rstrip(os.sep) + os.sep
        stop = start
        while stop < len(todo) and todo[stop][0].startswith(prefix):
            stop += 1
        spans.append((root, start, stop))
        start = stop
    return spans


class IndexRun:
    """One indexing run, stepped by its caller: each `step()` indexes and commits one batch. All
    calls belong on one thread (the one that owns the store); `cancel()` stops before the next
    batch, `close()` stops the readers and flushes the store (a rerun resumes where this ended)."""

    def __init__(self, indexer: Indexer, folders: Sequence[str | os.PathLike]) -> None:
        self.indexer = indexer
        self.started = time.perf_counter()
        store = indexer.store
        roots = []
        for folder in folders:
            root = Path(folder).expanduser().resolve()
            if not root.is_dir():
                raise NotFoundError(f"no such folder: {folder}")
            if not is_text(str(root)):
                raise RapError(f"the folder name {text_path(str(root))} is not valid UTF-8; rename it to index it")
            roots.append(str(root))
        self.roots = tuple(roots)
        todo: list[tuple[str, int, int]] = []
        self.files = self.unchanged = self.removed = 0
        model = indexer.retriever.embedder.model_id
        self.known = album_store.indexed_hashes(store, model)
        indexed_ids = set(self.known.values())
        for root in roots:
            album_store.add_folder(store, root)
            rows = album_store.known_files(store, root)
            own = str(store.home.resolve()) + os.sep  # never index our own images and thumbnails
            found = [entry for entry in scan(Path(root)) if not entry[0].startswith(own)]
            self.files += len(found)
            on_disk = {text_path(path) for path, _, _ in found}
            self.removed += album_store.forget_files(store, [p for p in rows if p not in on_disk])
            for entry in found:
                row = rows.get(text_path(entry[0]))
                same = row is not None and (row.size, row.mtime_ns) == entry[1:]
                if same and (row.status == album_store.FAILED or row.photo_id in indexed_ids):  # type: ignore[union-attr]
                    self.unchanged += 1
                else:
                    todo.append(entry)
        self.todo = todo
        self._spans = _spans(self.roots, todo)
        counts: collections.Counter[str] = collections.Counter()
        for root, start, stop in self._spans:
            counts[root] += stop - start
        index_state.begin(store, counts)
        store.embed_missing()  # concepts added while the encoder was missing
        self.key = indexer.retriever.detector_key()
        self.negatives = Negatives.load(store, model)
        self.clock = collections.Counter({k: 0.0 for k in ("detect", "crop", "embed", "match", "write")})
        self.indexed = self.recorded = self.failed = self.finished = 0
        self.cancelled = self.closed = False
        self.last_path = ""
        self.work_start = time.perf_counter()
        workers = indexer.workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="album-read") if workers else None
        self._queue: collections.deque[Future | _Read] = collections.deque()
        self._entries = iter(todo)
        self._ended: float | None = None
        self._refill()

    @property
    def total(self) -> int:
        return len(self.todo)

    @property
    def done(self) -> bool:
        """True when nothing is left to step: every file done, or cancelled, or closed."""
        return self.closed or self.cancelled or not self._queue

    def _refill(self) -> None:
        indexer = self.indexer
        while len(self._queue) < indexer.batch_size * 2:
            entry = next(self._entries, None)
            if entry is None:
                return
            pool, known = self._pool, self.known
            self._queue.append(pool.submit(indexer._read, entry, known) if pool else indexer._read(entry, known))

    def progress(self) -> Progress:
        elapsed = time.perf_counter() - self.work_start
        rate = self.finished / elapsed if elapsed > 0 else 0.0
        eta = (len(self.todo) - self.finished) / rate if rate > 0 else None
        return Progress(self.finished, len(self.todo), self.failed, rate, eta, self.last_path)

    def step(self) -> Progress:
        """Index and commit the next batch; returns the progress after it."""
        if self.done:
            return self.progress()
        queue = self._queue
        batch = [queue.popleft() for _ in range(min(self.indexer.batch_size, len(queue)))]
        reads = [b.result() if isinstance(b, Future) else b for b in batch]
        self._refill()  # the workers read ahead while the models run
        new = self.indexer._batch(reads, self.known, self.key, self.negatives, self.clock)
        self.indexed += new
        self.failed += sum(1 for r in reads if r.file.error)
        self.recorded += sum(1 for r in reads if not r.file.error) - new
        self.finished += len(reads)
        self.last_path = reads[-1].file.path
        self._bookkeep()
        return self.progress()

    def _bookkeep(self) -> None:
        """The folders this run has been through leave the unfinished list; the others say how far."""
        ended = [root for root, _start, stop in self._spans if 0 < stop <= self.finished]
        partial = {root: self.finished - start for root, start, stop in self._spans if start < self.finished < stop}
        store = self.indexer.store
        index_state.finish(store, ended)
        if partial:
            index_state.advance(store, partial)
        self._spans = [span for span in self._spans if span[0] not in ended]

    def cancel(self) -> None:
        """Stop before the next batch (what was committed stays; a rerun goes on from there)."""
        if not self.closed and self._queue:
            self.cancelled = True

    def close(self) -> None:
        """Stop the readers and flush the store; safe to call twice."""
        if self.closed:
            return
        if self._queue:
            self.cancelled = True
        self.closed = True
        try:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
        finally:
            self._queue.clear()
            self.indexer.store.flush()
            self._ended = time.perf_counter()

    def report(self) -> IndexReport:
        self.close()
        store = self.indexer.store
        failures = tuple(f for root in self.roots for f in album_store.failures(store, root))
        return IndexReport(
            self.roots,
            self.files,
            self.unchanged,
            self.indexed,
            self.recorded,
            failures,
            self.removed,
            self.cancelled,
            (self._ended or time.perf_counter()) - self.started,
            self.clock["detect"] + self.clock["embed"],
            dict(self.clock),
        )
