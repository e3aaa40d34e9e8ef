"""Personalised captions for an indexed album folder, stored (a rerun skips captioned photos unless
forced), and optionally written with the names and regions to XMP sidecars.

The concepts given to the generator come from the album's stored matches (the user's confirmations
included), not from a fresh retrieval: captioning never re-detects, and never replaces regions that
carry corrections.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..assistant import Assistant
from ..cancel import CancelToken
from ..errors import RapError
from ..models.generator import DEFAULT_OPTIONS, GenerationOptions
from ..store import Store
from . import caption_steps
from .indexer import Progress


@dataclass(frozen=True)
class CaptionReport:
    photos: int
    captioned: int
    skipped: int  # captioned before (no --force)
    failed: tuple[tuple[str, str], ...]
    sidecars: tuple[str, ...]
    cancelled: bool
    seconds: float


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
    batch_size: int = 0,
) -> CaptionReport:
    """Caption every indexed photo under `folder` (taken order), `batch_size` photos per generate
    call (0: as many as the free GPU memory holds; a few on a CPU). `assistant` may be a factory: the
    generator is only loaded when some photo needs a caption. A cancel keeps every caption finished
    before it; the photos of the batch being generated stay uncaptioned (a rerun goes on from there)."""

    run = _Run(store, assistant, options, cancel, write_xmp, style, progress, batch_size)
    run.caption(caption_steps.plan(store, folder), force)
    return run.report()


class _Run:
    """One caption_folder run: photos prepared one by one, generated in batches, saved one by one."""

    def __init__(
        self,
        store: Store,
        assistant: Assistant | Callable[[], Assistant],
        options: GenerationOptions,
        cancel: CancelToken | None,
        write_xmp: bool,
        style: str,
        progress: Callable[[Progress], None] | None,
        batch_size: int,
    ) -> None:
        self.store, self.assistant, self.options, self.cancel = store, assistant, options, cancel
        self.write_xmp, self.style, self.progress, self.batch_size = write_xmp, style, progress, batch_size
        self.start = time.perf_counter()
        self.total = self.finished = self.captioned = self.skipped = 0
        self.failed: list[tuple[str, str]] = []
        self.sidecars: list[str] = []
        self.cancelled = False

    @property
    def stopped(self) -> bool:
        return self.cancel is not None and self.cancel.cancelled

    def caption(self, items: list, force: bool) -> None:
        from ..models.decoding import Batcher
        self.total = len(items)
        pending: Batcher | None = None
        for item in items:
            if self.stopped:
                break
            try:
                if (force or not item.captioned) and not isinstance(self.assistant, Assistant):
                    self.assistant = self.assistant()  # the generator loads on the first photo that needs it
                step = caption_steps.prepare(self.store, _or_none(self.assistant), item, force)
            except RapError as exc:
                self._done(item.path, str(exc))
                continue
            if step.prepared is None:
                self.skipped += 1
                self._finish(step, step.text or "")
                continue
            if pending is None:  # a photo to generate: the assistant is loaded by now
                pending = Batcher(caption_steps.batch_size(self.assistant, self.options, self.batch_size))
            batch = pending.add(step, caption_steps.prompt_images(step))
            if batch:
                self._generate(batch)
        while pending is not None and not self.stopped and (batch := pending.rest()):
            self._generate(batch)
        self.cancelled = self.stopped

    def _generate(self, steps: list) -> None:
        try:
            replies = caption_steps.generate_batch(self.assistant, steps, self.options, self.cancel)
        except RapError as exc:
            for step in steps:
                self._done(step.item.path, str(exc))
            return
        for step, reply in zip(steps, replies, strict=True):
            if reply.answer.cancelled or self.stopped:
                return  # a partial caption is not kept; after a cancel nothing more is written
            try:
                text = caption_steps.save(self.store, step, reply)
            except RapError as exc:
                self._done(step.item.path, str(exc))
                continue
            self.captioned += 1
            self._finish(step, text)

    def _finish(self, step, text: str) -> None:
        error = None
        if self.write_xmp:
            try:
                self.sidecars.append(caption_steps.write_sidecar_now(self.store, step, text, self.style))
            except RapError as exc:
                error = str(exc)
        self._done(step.item.path, error)

    def _done(self, path: str, error: str | None = None) -> None:
        if error is not None:
            self.failed.append((path, error))
        self.finished += 1
        if self.progress is not None:
            elapsed = time.perf_counter() - self.start
            rate = self.finished / elapsed if elapsed > 0 else 0.0
            eta = (self.total - self.finished) / rate if rate > 0 else None
            self.progress(Progress(self.finished, self.total, len(self.failed), rate, eta, path))

    def report(self) -> CaptionReport:
        return CaptionReport(
            self.total,
            self.captioned,
            self.skipped,
            tuple(self.failed),
            tuple(self.sidecars),
            self.cancelled,
            time.perf_counter() - self.start,
        )


def _or_none(assistant: Assistant | Callable[[], Assistant]) -> Assistant | None:
    return assistant if isinstance(assistant, Assistant) else None
