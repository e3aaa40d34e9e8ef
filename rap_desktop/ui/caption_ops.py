"""One album captioning run through the task runner's lanes:

    store lane: plan (once), then per photo `prepare` (file check, concepts, the prompt)
    model lane: the generator loads on first need (progress shown), then `generate_batch` for
                several prepared photos at once (as many as the GPU memory holds; a few on a CPU),
                photos with as many concepts together (prompts of about the same length)
    store lane: `save` each caption      io lane: `write_sidecar`

No lane is held between two steps, so concept edits and corrections run during a long run.
Cancel stops before the next step (a batch being generated stops at its next token and is not
kept); every photo finished before stays captioned. Signals arrive on the GUI thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from rap_desktop.core import album_store, caption_steps
from rap_desktop.core.album import Progress
from rap_desktop.core.assistant import Assistant, Reply
from rap_desktop.core.cancel import CancelToken
from rap_desktop.core.models.decoding import Batcher
from rap_desktop.core.models.generator import GenerationOptions
from rap_desktop.core.session import Session

from .chat_worker import Loaded, generator_missing, load_generator
from .tasks import TaskRunner

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
        self._next = 0  # the next photo to prepare
        self._done = 0  # photos finished (captioned, kept, failed)
        self._pending = Batcher(1)  # prepared photos waiting for their batch (by prompt size)
        self._saving: list[tuple[caption_steps.Step, Reply]] = []  # generated, to be saved one by one
        self._assistant: Assistant | None = None
        self._start = 0.0
        self._photos_start = 0.0  # after the generator loaded: the rate is of photos, not of loading

    # --- control -------------------------------------------------------------------------------

    def start(self) -> None:
        self.running = True
        self._start = time.perf_counter()
        self.runner.submit(
            _plan,
            self.session,
            self.job.folder,
            on_done=self._planned,
            on_error=self._stop_with,
        )

    def cancel(self, because: str = "") -> None:
        self.result.cancelled_because = because
        self.token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    def _stop_with(self, message: str) -> None:
        self.result.error = message
        self._finish()

    def _finish(self) -> None:
        if not self.running:
            return
        self.running = False
        self.result.cancelled = self.token.cancelled and self._done < len(self._items)
        self.result.seconds = time.perf_counter() - self._start
        self.finished.emit(self.result)

    # --- plan and generator --------------------------------------------------------------------

    def _planned(self, items: list[caption_steps.Item]) -> None:
        self._items = items
        self.result.photos = len(items)
        if not items:
            self._stop_with(f"No indexed photos under {self.job.folder}. Index the folder first, then caption it.")
            return
        if not caption_steps.needs_generator(items, self.job.force):
            self._step()
            return
        self.runner.submit(generator_missing, self.session, lane="io", on_done=self._checked, on_error=self._stop_with)

    def _checked(self, missing: str | None) -> None:
        if missing:
            self.missing.emit(missing)
            self._stop_with(f"The caption model cannot load: {missing}")
            return
        if self.token.cancelled:
            self._finish()
            return
        self.loading.emit("loading the generator", -1.0)

        def progress(message: str, fraction: float) -> None:  # model thread: a queued signal only
            self.loading.emit(message, fraction)

        self.runner.submit(
            load_generator,
            self.session,
            progress,
            lane="model",
            on_done=self._generator_ready,
            on_error=self._stop_with,
        )

    def _generator_ready(self, loaded: Loaded) -> None:
        self.loaded.emit(loaded)
        self.runner.submit(
            assistant_for, self.session, self.job, on_done=self._have_assistant, on_error=self._stop_with
        )

    def _have_assistant(self, ready: tuple[Assistant, int]) -> None:
        self._assistant, batch = ready
        self._pending = Batcher(batch)
        self._photos_start = time.perf_counter()
        self._step()

    # --- one photo -----------------------------------------------------------------------------

    def _step(self) -> None:
        while not self.token.cancelled and self._next < len(self._items):
            item = self._items[self._next]
            if not (item.captioned and not self.job.force and not self.job.write_xmp):
                break
            self.result.skipped += 1  # nothing to read or write for it (a loop: thousands may be skipped)
            self._next += 1
            self._count(item)
        if self.token.cancelled:
            self._finish()
            return
        if self._next >= len(self._items):
            rest = self._pending.rest()  # the partly filled batches, one after another
            if rest:
                self._generate(rest)
            else:
                self._finish()
            return
        item = self._items[self._next]
        self._next += 1
        self.current.emit(item.path)
        self.runner.submit(
            _prepare,
            self.session,
            self._assistant,
            item,
            self.job.force,
            on_done=self._prepared,
            on_error=lambda message: self._photo_failed(item, message),
        )

    def _prepared(self, step: caption_steps.Step) -> None:
        if step.prepared is None:
            self.result.skipped += 1
            self._write(step, step.text or "")
            return
        if self.token.cancelled:
            self._finish()
            return
        batch = self._pending.add(step, caption_steps.prompt_images(step))
        if batch:
            self._generate(batch)
        else:
            self._step()

    def _generate(self, steps: list[caption_steps.Step]) -> None:
        self.runner.submit(
            caption_steps.generate_batch,
            self._assistant,
            steps,
            self.job.options,
            self.token,
            lane="model",
            on_done=lambda replies: self._generated(steps, replies),
            on_error=lambda message: self._batch_failed(steps, message),
        )

    def _generated(self, steps: list[caption_steps.Step], replies: list[Reply]) -> None:
        if any(reply.answer.cancelled for reply in replies):
            self._finish()  # a partial caption is not kept
            return
        self._saving = list(zip(steps, replies, strict=True))
        self._continue()

    def _continue(self) -> None:
        """After a photo: save the next caption of the batch, or go on to the next photo."""
        if not self._saving:
            self._step()
            return
        if self.token.cancelled:
            self._finish()  # stops before the next step: what is saved stays
            return
        step, reply = self._saving.pop(0)
        self.runner.submit(
            _save,
            self.session,
            step,
            reply,
            on_done=lambda text: self._saved(step, text),
            on_error=lambda message: self._photo_failed(step.item, message),
        )

    def _batch_failed(self, steps: list[caption_steps.Step], message: str) -> None:
        for step in steps:
            self.result.failed.append((step.item.path, message))
            self._count(step.item)
        self._continue()

    def _saved(self, step: caption_steps.Step, text: str) -> None:
        self.result.captioned += 1
        self._write(step, text)

    def _write(self, step: caption_steps.Step, text: str) -> None:
        if not self.job.write_xmp:
            self._photo_done(step.item)
            return
        self.runner.submit(
            caption_steps.write_sidecar,
            step,
            text,
            self.job.style,
            lane="io",
            on_done=lambda path: self._written(step, path),
            on_error=lambda message: self._photo_failed(step.item, message),
        )

    def _written(self, step: caption_steps.Step, path: str) -> None:
        self.result.sidecars.append(path)
        self._photo_done(step.item)

    def _photo_failed(self, item: caption_steps.Item, message: str) -> None:
        self.result.failed.append((item.path, message))
        self._photo_done(item)

    def _photo_done(self, item: caption_steps.Item) -> None:
        self._count(item)
        self._continue()

    def _count(self, item: caption_steps.Item) -> None:
        self._done += 1
        done, total = self._done, len(self._items)
        elapsed = time.perf_counter() - (self._photos_start or self._start)
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else None
        self.progress.emit(Progress(done, total, len(self.result.failed), rate, eta, item.path))


def _plan(session: Session, folder: str) -> list[caption_steps.Item]:
    return caption_steps.plan(session.store(), folder)


def _prepare(session: Session, assistant: Assistant | None, item: caption_steps.Item, force: bool):
    return caption_steps.prepare(session.store(), assistant, item, force)


def _save(session: Session, step: caption_steps.Step, reply: Reply) -> str:
    return caption_steps.save(session.store(), step, reply)
