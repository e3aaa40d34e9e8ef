"""The chat flow off the GUI thread, one generator function (`ChatWorker._answer`) hopping lanes:

1. model lane: make the generator (convert a downloaded checkpoint once, with progress) and load it;
2. store lane: the exact RAP prompt with the concepts' images (`Assistant.prepare*`). A question about
   the photo on screen carries its `PhotoContext`: its decode and retrieval are reused, not redone;
3. model lane: `Assistant.generate`, streaming. The generator calls `on_text` on the model thread;
   it only emits a signal, which Qt queues to the GUI thread. No widget is touched off the GUI thread.

Stop sets the CancelToken: generation ends before its next step.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from rap_desktop.core.assistant import Assistant, Prepared, Reply, question_photo
from rap_desktop.core.cancel import CancelToken
from rap_desktop.core.models import weights
from rap_desktop.core.models.generator import GenerationOptions, RapGenerator, generator_spec
from rap_desktop.core.photo_context import PhotoContext
from rap_desktop.core.prompting import caption_question, parse_box
from rap_desktop.core.session import Session

from ..runtime.tasks import Steps, TaskRunner, message

# Enough for a caption or a short answer; a longer limit only makes a runaway answer cost more.
CHAT_OPTIONS = GenerationOptions(max_new_tokens=160)

NOT_LOADED, LOADING, READY, MISSING, FAILED = "not loaded", "loading", "ready", "missing", "failed"


@dataclass(frozen=True)
class Request:
    question: str
    photo: PhotoContext | Path | None  # the photo on screen, another photo file, or None: about concepts
    follow: Reply | None = None  # continue this conversation (same photo, images on turn one only)


@dataclass(frozen=True)
class Loaded:
    generator: RapGenerator
    vram_bytes: int | None  # allocated on the GPU after loading; None on a CPU


def generator_missing(session: Session) -> str | None:
    """Why the configured generator cannot load (its weights are not anywhere we look), or None.
    Disk work (and a torch import for "auto"): run it on the io lane."""
    settings = session.settings
    spec = generator_spec(settings.registry(), settings.generator, settings.device)
    found = weights.resolve(spec)
    return None if found.present else weights.missing_message(found)


def load_generator(session: Session, progress: Callable[[str, float], None]) -> Loaded:
    """Model lane: convert once if needed (progress 0..1), then load (progress -1: no percentage)."""
    generator = session.generator(progress=progress)
    progress(f"loading {generator.spec.name}", -1.0)
    generator.load()
    return Loaded(generator, _vram(generator))


def prepare(session: Session, request: Request) -> tuple[Assistant, Prepared]:
    """Store lane: the generator exists already (made on the model lane), so this only retrieves."""
    assistant = session.assistant()
    if request.follow is not None:
        return assistant, assistant.prepare_follow_up(request.follow, request.question)
    if request.photo is None:
        return assistant, assistant.prepare_text_only(request.question)
    if isinstance(request.photo, PhotoContext):
        return assistant, assistant.prepare_seen(request.photo, request.question)
    photo = question_photo(request.photo)
    return assistant, assistant.prepare(photo, request.question, path=str(request.photo.resolve()))


def answer_box(reply: Reply) -> tuple[float, float, float, float] | None:
    """The box a grounding answer gives (`[x1, y1, x2, y2]` in 0..1), in photo pixels; None when the
    answer has none or there is no photo. Read as `Assistant.ground` reads it."""
    if reply.retrieval is None:
        return None
    width, height = reply.retrieval.size
    return parse_box(reply.text, width, height)


def _vram(generator: RapGenerator) -> int | None:
    if not (generator.device or "").startswith("cuda"):
        return None
    import torch

    return int(torch.cuda.memory_allocated(torch.device(generator.device)))


class ChatWorker(QObject):
    """One question at a time. Signals arrive on the GUI thread."""

    state_changed = Signal(str, str)  # state (NOT_LOADED...), a line for the status bar
    prepared = Signal(object)  # Prepared: the exact prompt and the concepts, before the first token
    piece = Signal(str)  # streamed text; emitted on the model thread, delivered queued
    finished = Signal(object)  # Reply, or None when stopped before generation began
    failed = Signal(str)
    box_found = Signal(object, object)  # (x1, y1, x2, y2) in photo pixels, and the photo it is about
    busy_changed = Signal(bool)
    unloading = Signal()  # the user asked for the memory back: other users of the generator stop

    def __init__(
        self, session: Session, runner: TaskRunner, options: GenerationOptions = CHAT_OPTIONS, parent=None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = runner
        self.options = options
        self.state = NOT_LOADED
        self.missing: str | None = None  # the missing-weights message, when that is why we cannot answer
        self._loaded: Loaded | None = None
        self._cancel: CancelToken | None = None
        self._busy = False
        self.captioning = False  # the question being answered is the caption request (the status line says so)

    # --- state ---------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._busy

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)

    def _set_state(self, state: str, text: str) -> None:
        self.state = state
        self.state_changed.emit(state, text)

    def check(self) -> None:
        """Look for the generator's weights (io lane) and say whether answers are possible."""
        self.runner.submit(
            generator_missing, self.session, lane="io", on_done=self._checked, on_error=self._check_failed
        )

    def _checked(self, missing: str | None) -> None:
        self.missing = missing
        if self._loaded is not None:
            return
        if missing:
            self._set_state(MISSING, "Generator: weights missing (Models…)")
        else:
            self._set_state(NOT_LOADED, "Generator: not loaded")

    def _check_failed(self, error: BaseException) -> None:
        self.missing = message(error)
        self._set_state(MISSING, "Generator: not configured")

    # --- asking --------------------------------------------------------------------------------

    def ask(self, request: Request) -> bool:
        """Start answering; False when a question is already being answered."""
        if self._busy:
            return False
        self.captioning = request.question == caption_question()
        self._set_busy(True)
        token = self._cancel = CancelToken()
        self.runner.flow(self._answer(request, token), on_done=self._done, on_error=self._fail)
        return True

    def stop(self) -> None:
        if self._cancel is not None:
            self._cancel.cancel()

    def _answer(self, request: Request, token: CancelToken) -> Steps[tuple[Request, Reply | None]]:
        """The whole question, lane by lane; between the yields this runs on the GUI thread."""
        if self._loaded is None:
            yield from self._load()
        assistant, prepared = yield "store", partial(prepare, self.session, request)
        if token.cancelled:  # stopped while retrieving: no need to start the model
            return request, None
        self.prepared.emit(prepared)
        reply = yield "model", partial(assistant.generate, prepared, self.options, self.piece.emit, token)
        return request, reply

    def _load(self) -> Steps[None]:
        self._set_state(LOADING, "Generator: loading…")

        def progress(message: str, fraction: float) -> None:  # on the model thread: a signal only
            share = f" {fraction:.0%}" if fraction >= 0 else "…"
            self.state_changed.emit(LOADING, f"Generator: {message}{share}")

        try:
            self._loaded = yield "model", partial(load_generator, self.session, progress)
        except Exception:
            self._set_state(FAILED, "Generator: could not load")
            raise
        self.missing = None
        self._set_state(READY, self._ready_text())

    def adopt(self, loaded: Loaded) -> None:
        """Another user (an album caption run) loaded the generator: answers use, and Unload frees,
        the same one. A generator this worker holds already is kept."""
        if self._loaded is None:
            self._loaded = loaded
            self.missing = None
            self._set_state(READY, self._ready_text())

    def _ready_text(self) -> str:
        loaded = self._loaded
        if loaded is None:
            return "Generator: not loaded"
        gen = loaded.generator
        text = f"Generator: {gen.spec.name} ready on {gen.device} ({gen.quantization})"
        if loaded.vram_bytes is not None:
            text += f", {loaded.vram_bytes / 2**30:.1f} GiB VRAM"
        return text

    def _done(self, answered: tuple[Request, Reply | None]) -> None:
        request, reply = answered
        self._cancel = None
        self._set_busy(False)
        box = answer_box(reply) if reply is not None else None
        if box is not None:
            self.box_found.emit(box, request.photo)
        self.finished.emit(reply)

    def _fail(self, error: BaseException) -> None:
        self._cancel = None
        self._set_busy(False)
        self.failed.emit(message(error))

    # --- lifetime ------------------------------------------------------------------------------

    def unload(self) -> None:
        """Free the generator's memory (model lane, after any running answer)."""
        if self._loaded is None:
            return
        generator, self._loaded = self._loaded.generator, None
        self.unloading.emit()  # before the unload is queued: an album caption run must not load it again

        self.runner.flow(self._unload(generator))

    def _unload(self, generator: RapGenerator) -> Steps[None]:
        yield "model", partial(generator.unload, False)
        gc.collect()  # on the GUI thread (see gui_gc), then the GPU cache is freed on the lane
        yield "model", generator.free_cache
        self._set_state(NOT_LOADED, "Generator: not loaded")

    def forget_generator(self) -> None:
        """After the settings changed (a new weights folder): the next question loads afresh."""
        if self._loaded is None:
            self.session.forget_generator()
