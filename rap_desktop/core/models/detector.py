"""Object detection through ultralytics: YOLO-World prompted with class names, or a fixed-class YOLO.

A plain class: construct cheaply, weights load on the first `detect`, a PIL image in, frozen
`Detection`s out, boxes in the pixels of the image given. YOLO-World's own `set_classes` imports the
`clip` package and downloads OpenAI's weights (both fail offline), so the class prompts are encoded
by our open_clip text tower (the same ViT-B/32 weights) and set on the model the way it does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

import rap_desktop.torch_compat  # noqa: F401  (before ultralytics imports torchvision)

from ..errors import RapError
from . import weights
from .device import resolve_device
from .embedder import ClipEmbedder
from .registry import AUTO_CHOICE, DETECTOR, ModelSpec, Registry

WORLD = "ultralytics-world"  # open vocabulary: prompted with class names
PLAIN = "ultralytics"  # fixed classes (COCO): prompts are ignored
_FEATURE_CACHE = 16  # class lists whose prompt features are kept


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels of the image given to detect()
    label: str
    score: float


@dataclass(frozen=True)
class Framed:
    """A detector's input made ahead from one image (`YoloDetector.frame`): BGR pixels reduced to the
    detector's frame, and the factors back to the image's own pixels."""

    pixels: np.ndarray
    factors: tuple[float, float]


class Detector(Protocol):
    @property
    def model_id(self) -> str: ...

    def detect(self, image: Image.Image, classes: Sequence[str]) -> list[Detection]: ...

    def detect_many(
        self, images: Sequence[Image.Image], classes: Sequence[str], framed: Sequence[Framed] | None = None
    ) -> list[list[Detection]]: ...


class _Stderr:
    """Whatever sys.stderr is at the time of writing (it may be swapped, e.g. by a test runner)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def import_ultralytics() -> Any:
    """Import ultralytics quietly: no network probe or telemetry, and its log lines off stdout
    (the CLI's stdout carries JSON)."""
    os.environ.setdefault("YOLO_OFFLINE", "1")  # read at import: skips the DNS probe, disables analytics
    os.environ.setdefault("YOLO_VERBOSE", "False")  # INFO chatter (settings file, model summary) off
    # ultralytics sets OMP_NUM_THREADS=1 at import when unset (for its training workers). torch's
    # OpenMP pool reads it when torch loads: a torch loaded after that runs every model on one core
    # (half the speed on a 2-core laptop). So torch first, and the variable gone again afterwards,
    # so that processes started from here are not held to one core either.
    import torch  # noqa: F401

    threads_set = "OMP_NUM_THREADS" in os.environ
    import ultralytics
    from ultralytics.utils import LOGGER

    if not threads_set:
        os.environ.pop("OMP_NUM_THREADS", None)

    for handler in LOGGER.handlers:  # only its own console handler, not ones a host (pytest) adds
        if type(handler) is logging.StreamHandler and not isinstance(handler.stream, _Stderr):
            handler.stream = _Stderr()  # not setStream: that flushes the old stream, maybe closed by now
    with contextlib.suppress(ImportError, AttributeError):  # telemetry, if it was imported before our env
        from ultralytics.utils.events import events

        events.enabled = False
    return ultralytics


def prompt_classes(classes: Sequence[str]) -> tuple[str, ...]:
    """The prompt list: trimmed, non-empty, the first spelling of case-insensitive duplicates
    (CLIP's tokenizer lower-cases, so "Dog" and "dog" are one prompt)."""
    seen: set[str] = set()
    out: list[str] = []
    for name in classes:
        text = " ".join(str(name).split())
        if text and text.lower() not in seen:
            seen.add(text.lower())
            out.append(text)
    return tuple(out)


def _bgr(image: Image.Image) -> np.ndarray:
    # ultralytics takes a numpy image as OpenCV BGR. Given a PIL image it would also apply EXIF
    # orientation itself, putting boxes in another frame than the caller's pixels: so hand it
    # the pixels exactly as given, channels reversed.
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])


def _fit(image: Image.Image, side: int) -> tuple[Image.Image, tuple[float, float]]:
    """`image` reduced to the detector's frame (long side `side`) with an antialiasing filter, and
    the factors back to its own pixels. Given a 12-MP photo, ultralytics would first copy all of it
    into a BGR array, then shrink that with a plain bilinear resize (aliasing: a reduced decode and a
    full one would then detect differently)."""
    width, height = image.size
    if max(width, height) <= side:
        return image, (1.0, 1.0)
    ratio = side / max(width, height)
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    small = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return small, (width / size[0], height / size[1])


def _scaled(found: list[Detection], factors: tuple[float, float]) -> list[Detection]:
    if factors == (1.0, 1.0):
        return found
    sx, sy = factors
    return [Detection((d.box[0] * sx, d.box[1] * sy, d.box[2] * sx, d.box[3] * sy), d.label, d.score) for d in found]


class YoloDetector:
    """An ultralytics checkpoint (.pt); YOLO-World models get their class prompts from `text_encoder`."""

    def __init__(self, spec: ModelSpec, text_encoder: ClipEmbedder | None, device: str = "auto") -> None:
        if spec.kind != DETECTOR or spec.backend not in (WORLD, PLAIN):
            raise ValueError(f"{spec.name!r} is not an ultralytics detector")
        if spec.backend == WORLD and text_encoder is None:
            raise RapError(f"detector {spec.name!r} needs a text encoder (options.text_encoder) for its prompts")
        self.spec = spec
        self.text_encoder = text_encoder
        self._device_choice = device
        self.confidence = float(spec.options.get("confidence", 0.1))
        self.image_size = int(spec.options.get("image_size", 640))
        self.max_detections = int(spec.options.get("max_detections", 300))
        self.max_batch = max(1, int(spec.options.get("max_batch", 16)))  # images per model call in detect_many
        self._lock = threading.Lock()  # one ultralytics predictor: not safe to share between threads
        self._model: Any = None
        self._text_dim = 0
        self._prompt: tuple[str, ...] | None = None  # classes currently set on the model
        self._features: OrderedDict[tuple[str, ...], Any] = OrderedDict()
        self.encode_count = 0  # text-encoder runs, to see the per-class-list cache work
        self.device: str | None = None

    @property
    def model_id(self) -> str:
        return self.spec.name

    @property
    def open_vocabulary(self) -> bool:
        return self.spec.backend == WORLD

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def names(self) -> dict[int, str]:
        """The class names the model currently detects."""
        self.load()
        names = self._model.model.names
        return dict(enumerate(names)) if isinstance(names, list | tuple) else dict(names)

    def load(self) -> None:
        with self._lock:
            self._ensure_loaded()

    def _ensure_loaded(self) -> None:
        if self._model is not None:
            return
        path = weights.require_file(self.spec)
        device = resolve_device(self._device_choice)
        self._model = self._read(path)
        self.device = "cuda:0" if device == "cuda" else device
        if self.open_vocabulary:
            self._text_dim = int(self._model.model.txt_feats.shape[-1])  # 512 for YOLO-World v2
        self._prompt = None

    def _read(self, path: Path) -> Any:
        ultralytics = import_ultralytics()
        try:
            model = (ultralytics.YOLOWorld if self.open_vocabulary else ultralytics.YOLO)(str(path), verbose=False)
        except Exception as exc:  # a broken or foreign file must not surface as a traceback
            raise RapError(f"detector {self.spec.name!r} in {path} could not be loaded: {exc}") from None
        if self.open_vocabulary and not hasattr(model.model, "txt_feats"):
            raise RapError(f"detector {self.spec.name!r}: {path} is not a YOLO-World checkpoint")
        return model

    def unload(self) -> None:
        with self._lock:
            self._model, self._prompt = None, None
            if self.device and self.device.startswith("cuda"):
                import torch

                torch.cuda.empty_cache()

    def prompt_features(self, classes: Sequence[str]) -> Any:
        """(1, n, d) float32 CPU tensor of the class prompts, cached per class list (ignoring case)."""
        import torch

        wanted = prompt_classes(classes)
        key = tuple(name.lower() for name in wanted)  # CLIP's tokenizer lower-cases: same features
        cached = self._features.get(key)
        if cached is not None:
            self._features.move_to_end(key)
            return cached
        array = self.text_encoder.embed_texts(list(wanted))  # type: ignore[union-attr]
        if self._text_dim and array.shape[1] != self._text_dim:
            raise RapError(
                f"text encoder {self.text_encoder.model_id!r} makes {array.shape[1]}-d features but detector "  # type: ignore[union-attr]
                f"{self.spec.name!r} needs {self._text_dim}-d (YOLO-World v2: CLIP ViT-B/32 text features)"
            )
        features = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))[None]
        self.encode_count += 1
        self._features[key] = features
        while len(self._features) > _FEATURE_CACHE:
            self._features.popitem(last=False)
        return features

    def _set_prompt(self, classes: tuple[str, ...]) -> None:
        # What YOLOWorld.set_classes does, with our features: the world model's txt_feats, the
        # head's class count and the names; the predictor holds a copy with the old names, so it goes.
        if classes == self._prompt:
            return
        world = self._model.model
        world.txt_feats = self.prompt_features(classes)
        world.model[-1].nc = len(classes)
        world.names = list(classes)
        self._model.predictor = None
        self._prompt = classes

    def detect(self, image: Image.Image, classes: Sequence[str]) -> list[Detection]:
        """Boxes in `image`'s pixels, best first. `classes` prompts a YOLO-World model (no
        classes: nothing to look for); a fixed-class model ignores it and uses its own names."""
        with self._lock:
            if not self._prompted(classes):
                return []
            small, factors = _fit(image, self.image_size)
            results = self._predict([_bgr(small)])
        return _scaled(_detections(results[0]), factors)

    def frame(self, image: Image.Image) -> Framed:
        """The reduction and colour order `detect` applies first, without the model (thread-safe): the
        album's reader threads make it while the models run, so a 12-MP photo's ~15 ms of resizing is
        off the thread that feeds the GPU."""
        small, factors = _fit(image, self.image_size)
        return Framed(_bgr(small), factors)

    def detect_many(
        self, images: Sequence[Image.Image], classes: Sequence[str], framed: Sequence[Framed] | None = None
    ) -> list[list[Detection]]:
        """`detect` for each image, in as few model calls as the images allow (`framed`: their `frame`s,
        made ahead).

        A single call letterboxes its image to the smallest stride-multiple frame around it; a batch
        must share one frame, and ultralytics pads a batch of mixed sizes to the full square, which
        changes the boxes. So each image is letterboxed here exactly as a single call would, images
        with the same frame go through the model together (at most `max_batch`), and the boxes are
        mapped back to each image's pixels with the same scaling the single call applies."""
        if not images:
            return []
        with self._lock:
            if not self._prompted(classes):
                return [[] for _ in images]
            inputs = list(framed) if framed is not None else [self.frame(image) for image in images]
            boxed = self._letterbox([item.pixels for item in inputs])
            groups: dict[tuple[int, ...], list[int]] = {}
            for i, (pixels, _) in enumerate(boxed):
                groups.setdefault(pixels.shape, []).append(i)
            found: list[list[Detection]] = [[] for _ in images]
            for members in groups.values():
                for start in range(0, len(members), self.max_batch):
                    chunk = members[start : start + self.max_batch]
                    results = self._predict([boxed[i][0] for i in chunk])
                    for i, result in zip(chunk, results, strict=True):
                        found[i] = _scaled(_detections(result, boxed[i]), inputs[i].factors)
        return found

    def _prompted(self, classes: Sequence[str]) -> bool:
        """Under the lock: the model loaded and prompted; False when there is nothing to look for."""
        self._ensure_loaded()
        if self.open_vocabulary:
            wanted = prompt_classes(classes)
            if not wanted:
                return False
            self._set_prompt(wanted)
        return True

    def _letterbox(self, arrays: list[np.ndarray]) -> list[tuple[np.ndarray, tuple[int, int]]]:
        """(letterboxed image, original (height, width)) per image, framed as ultralytics frames a
        lone image (LetterBox with auto=True: the model's stride, the checked image size)."""
        from ultralytics.data.augment import LetterBox
        from ultralytics.utils.checks import check_imgsz

        stride = max(int(self._model.model.stride.max()), 32)  # what ultralytics' AutoBackend uses
        size = check_imgsz(self.image_size, stride=stride, min_dim=2)
        letterbox = LetterBox(tuple(size), auto=True, stride=stride)
        return [(letterbox(image=array), array.shape[:2]) for array in arrays]

    def _predict(self, arrays: list[np.ndarray]) -> list[Any]:
        import torch

        threads = torch.get_num_threads()
        try:
            return self._model.predict(
                arrays if len(arrays) > 1 else arrays[0],
                conf=self.confidence,
                imgsz=self.image_size,
                max_det=self.max_detections,
                device=self.device,
                verbose=False,
                **_half_precision(self.device),
            )
        finally:
            # ultralytics' device selection sets torch to cpu_count - 1 threads (1 on a 2-core
            # laptop), which would slow every later CLIP embedding in this process
            torch.set_num_threads(threads)


def _half_precision(device: str | None) -> dict[str, Any]:
    if not (device or "").startswith("cuda"):
        return {}
    from ultralytics.cfg import DEFAULT_CFG_DICT

    # ultralytics 8.4 replaced `half` by `quantize`; older releases only know `half`
    return {"quantize": 16} if "quantize" in DEFAULT_CFG_DICT else {"half": True}


def _detections(result: Any, framed: tuple[np.ndarray, tuple[int, int]] | None = None) -> list[Detection]:
    boxes = result.boxes
    xyxy = boxes.xyxy.float().cpu().numpy()
    if framed is not None:  # boxes in the letterboxed frame: back to the image's own pixels
        from ultralytics.utils import ops

        xyxy = ops.scale_boxes(framed[0].shape[:2], xyxy.copy(), framed[1])
    scores = boxes.conf.float().cpu().numpy()
    labels = boxes.cls.cpu().numpy().astype(int)
    found = [
        Detection(tuple(float(v) for v in box), str(result.names[label]), float(score))  # type: ignore[arg-type]
        for box, score, label in zip(xyxy, scores, labels, strict=True)
    ]
    return sorted(found, key=lambda d: -d.score)


def detector_spec(registry: Registry, choice: str, device: str = "auto") -> ModelSpec:
    """The spec named by the settings; "auto" picks by hardware (DESIGN: light models on a CPU)."""
    if choice == "auto":
        hardware = "cuda" if resolve_device(device).startswith("cuda") else "cpu"
        choice = AUTO_CHOICE[DETECTOR][hardware]
    try:
        spec = registry.get(choice)
    except KeyError as exc:
        raise RapError(str(exc.args[0])) from None
    if spec.kind != DETECTOR:
        raise RapError(f"model {choice!r} is a {spec.kind}, not a detector")
    return spec
