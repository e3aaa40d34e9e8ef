"""One album captioning run through the task runner's lanes:

    store lane: plan (once), then per photo `prepare` (file check, concepts, the prompt)
    model lane: the generator loads on first need (progress shown), then `generate_batch` for
                several prepared photos at once (as many as the GPU memory holds; a few on a CPU),
                photos with as many concepts together (prompts of about the same length)
    store lane: `save` each caption      io lane: `write_sidecar` (with the names the store holds then)

No lane is held between two steps, so concept edits and corrections run during a long run.
Cancel stops before the next step (a batch being generated stops at its next token and is not
kept); every photo finished before stays captioned. Signals arrive on the GUI thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial

from PySide6.QtCore import QObject, Signal

from rap_desktop.core.album import caption_steps
from rap_desktop.core.album.indexer import Progress
from rap_desktop.core.assistant import Assistant, Reply
from rap_desktop.core.cancel import CancelToken
from rap_desktop.core.models.decoding import Batcher
from rap_desktop.core.models.generator import GenerationOptions
from rap_desktop.core.session import Session
from rap_desktop.core.store import album as album_store

from ..assistant.chat_worker import generator_missing, load_generator
from ..runtime.tasks import Steps, TaskRunner, message
from ..status_line import activity, writing_captions

CAPTION_OPTIONS = GenerationOptions(max_new_tokens=64)  # the CLI's caption-album default


@dataclass(frozen=True)
class Job:
    folder: str
    write_xmp: bool = False
    style: str = "ext"  # "ext": photo.jpg.xmp, "stem": photo.xmp
    force: bool = False
    options: GenerationOptions = CAPTION_OPTIONS
    batch: int = 0  # photos per generate call; 0: the settings' caption_batch, else from free GPU memory


@dataclass
class Result:
    folder: str
    photos: int = 0
    captioned: int = 0
    skipped: int = 0  # captioned before (not forced)
    failed: list[tuple[str, str]] = field(default_factory=list)
    sidecars: list[str] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0
    error: str | None = None  # the run could not start (no photos, no generator)
    cancelled_because: str = ""  # said when the app, not the Cancel button, stopped the run

    def summary(self) -> str:
        if self.error:
            return self.error
        parts = [f"{self.captioned} captioned", f"{self.skipped} kept their caption", f"{len(self.failed)} failed"]
        text = f"{self.photos} photos: " + ", ".join(parts)
        if self.sidecars:
            text += f"; {len(self.sidecars)} XMP sidecars written"
        text += f" ({self.seconds:.1f} s)."
        if self.cancelled:
            why = f" ({self.cancelled_because})" if self.cancelled_because else ""
            text += f"\nCancelled{why}: what was done is kept; start again to go on."
        return text


@dataclass(frozen=True)
class Folder:
    path: str
    photos: int
    captioned: int


def indexed_folders(session: Session) -> list[Folder]:
    """Store lane: the album's folders, each with its indexed photos and how many have a caption."""
    store = session.store()
    out = []
    for path in album_store.folders(store):
        items = caption_steps.plan(store, path)
        out.append(Folder(path, len(items), sum(i.captioned for i in items)))
    return out


def assistant_for(session: Session, job: Job | None = None) -> tuple[Assistant, int]:
    """Store lane, once the generator is loaded (model lane): the assistant around it and the
    photos per generate call."""
    assistant = session.assistant()
    options = job.options if job is not None else CAPTION_OPTIONS
    override = job.batch if job is not None and job.batch > 0 else session.generation_settings()[1]
    return assistant, caption_steps.batch_size(assistant, options, override)


class CaptionRun(QObject):
    progress = Signal(object)  # Progress after each photo
    current = Signal(str)  # the photo being worked on
    loading = Signal(str, float)  # generator loading: message, fraction (-1: no percentage)
    loaded = Signal(object)  # Loaded: the generator is ready (the chat panel can share it)
    missing = Signal(str)  # the generator's weights are missing: the message
    finished = Signal(object)  # Result

    def __init__(self, session: Session, runner: TaskRunner, job: Job, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.runner, self.job = session, runner, job
        self.token = CancelToken()
        self.result = Result(job.folder)
        self.running = False
        self._items: list[caption_steps.Item] = []
        self._done = 0  # photos finished (captioned, kept, failed)
        self._pending = Batcher(1)  # prepared photos waiting for their batch (by prompt size)
        self._assistant: Assistant | None = None
        self._start = 0.0
        self._photos_start = 0.0  # after the generator loaded: the rate is of photos, not of loading

    # --- control -------------------------------------------------------------------------------

    def start(self) -> None:
        self.running = True
        self._start = time.perf_counter()
        activity().start(self._status_key, writing_captions(0, 0))  # the window's status line
        self.runner.flow(self._run(), on_done=lambda _none: self._finish(), on_error=self._stop_with)

    def cancel(self, because: str = "") -> None:
        self.result.cancelled_because = because
        self.token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    def _stop_with(self, error: BaseException | str) -> None:
        self.result.error = error if isinstance(error, str) else message(error)
        self._finish()

    def _finish(self) -> None:
        if not self.running:
            return
        self.running = False
        activity().end(self._status_key)
        self.result.cancelled = self.token.cancelled and self._done < len(self._items)
        self.result.seconds = time.perf_counter() - self._start
        self.finished.emit(self.result)

    # --- the run, lane by lane (between two yields: the GUI thread) ----------------------------

    def _run(self) -> Steps[None]:
        items = self._items = yield "store", partial(_plan, self.session, self.job.folder)
        self.result.photos = len(items)
        if not items:
            self.result.error = f"No indexed photos under {self.job.folder}. Index the folder first, then caption it."
            return
        if caption_steps.needs_generator(items, self.job.force):
            missing = yield "io", partial(generator_missing, self.session)
            if missing:
                self.missing.emit(missing)
                self.result.error = f"The caption model cannot load: {missing}"
                return
            if self.token.cancelled:
                return
            yield from self._load()
        yield from self._photos()

    def _load(self) -> Steps[None]:
        self.loading.emit("loading the generator", -1.0)
        loaded = yield "model", partial(load_generator, self.session, self.loading.emit)  # a queued signal
        self.loaded.emit(loaded)
        self._assistant, batch = yield "store", partial(assistant_for, self.session, self.job)
        self._pending = Batcher(batch)
        self._photos_start = time.perf_counter()

    def _photos(self) -> Steps[None]:
        for item in self._items:
            if self.token.cancelled:
                return
            if item.captioned and not self.job.force and not self.job.write_xmp:
                self.result.skipped += 1  # nothing to read or write for it (thousands may be skipped)
                self._count(item)
                continue
            self.current.emit(item.path)
            try:
                step = yield "store", partial(_prepare, self.session, self._assistant, item, self.job.force)
            except Exception as exc:
                self._photo_failed(item, exc)
                continue
            if step.prepared is None:
                self.result.skipped += 1
                yield from self._write(step, step.text or "")
                continue
            if self.token.cancelled:
                return
            batch = self._pending.add(step, caption_steps.prompt_images(step))
            if batch and not (yield from self._generate(batch)):
                return
        while not self.token.cancelled and (rest := self._pending.rest()):  # partly filled, one by one
            if not (yield from self._generate(rest)):
                return

    def _generate(self, steps: list[caption_steps.Step]) -> Steps[bool]:
        """Generate a batch and save its captions; False when cancelled (a partial caption is not kept)."""
        try:
            replies = yield (
                "model",
                partial(caption_steps.generate_batch, self._assistant, steps, self.job.options, self.token),
            )
        except Exception as exc:
            for step in steps:
                self.result.failed.append((step.item.path, message(exc)))
                self._count(step.item)
            return True
        if any(reply.answer.cancelled for reply in replies):
            return False
        for step, reply in zip(steps, replies, strict=True):
            if self.token.cancelled:
                return False  # stops before the next step: what is saved stays
            try:
                text = yield "store", partial(_save, self.session, step, reply)
            except Exception as exc:
                self._photo_failed(step.item, exc)
                continue
            self.result.captioned += 1
            yield from self._write(step, text)
        return True

    def _write(self, step: caption_steps.Step, text: str) -> Steps[None]:
        if self.job.write_xmp:
            try:
                path = yield from self._sidecar(step, text)
            except Exception as exc:
                self._photo_failed(step.item, exc)
                return
            self.result.sidecars.append(path)
        self._count(step.item)

    def _sidecar(self, step: caption_steps.Step, text: str) -> Steps[str]:
        """`caption_steps.write_sidecar_now` across the lanes: the names read from the store just
        before and just after the file is written (again while they changed: a rename meanwhile,
        made here or by another process, is never undone by this write)."""
        names = yield "store", partial(_names_now, self.session, step)
        for _ in range(caption_steps.WRITE_TRIES):
            path = yield "io", partial(caption_steps.write_sidecar, step, text, self.job.style, names)
            again = yield "store", partial(_names_now, self.session, step)
            if again == names:
                break
            names = again
        return path

    def _photo_failed(self, item: caption_steps.Item, error: BaseException) -> None:
        self.result.failed.append((item.path, message(error)))
        self._count(item)

    def _count(self, item: caption_steps.Item) -> None:
        self._done += 1
        done, total = self._done, len(self._items)
        elapsed = time.perf_counter() - (self._photos_start or self._start)
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else None
        activity().start(self._status_key, writing_captions(done, total))
        self.progress.emit(Progress(done, total, len(self.result.failed), rate, eta, item.path))

    @property
    def _status_key(self) -> str:
        return f"album-captions-{id(self)}"


def _plan(session: Session, folder: str) -> list[caption_steps.Item]:
    return caption_steps.plan(session.store(), folder)


def _prepare(session: Session, assistant: Assistant | None, item: caption_steps.Item, force: bool):
    return caption_steps.prepare(session.store(), assistant, item, force)


def _names_now(session: Session, step: caption_steps.Step) -> caption_steps.Names:
    return caption_steps.names_now(session.store(), step)


def _save(session: Session, step: caption_steps.Step, reply: Reply) -> str:
    return caption_steps.save(session.store(), step, reply)
