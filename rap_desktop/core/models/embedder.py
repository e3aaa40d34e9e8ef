"""CLIP image (and text) embeddings through open_clip.

A plain class: construct cheaply, weights load on first use, PIL images in, L2-normalised float32
numpy rows out. The store only sees `model_id`, `embed_images` and `dim`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from ..errors import RapError
from . import weights
from .device import dtype_for, resolve_device
from .registry import AUTO_CHOICE, EMBEDDER, ModelSpec, Registry


class ImageEmbedder(Protocol):
    @property
    def model_id(self) -> str: ...

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray: ...


class ClipEmbedder:
    """open_clip model loaded from a folder in open_clip's hub layout (config JSON + safetensors)."""

    def __init__(self, spec: ModelSpec, device: str = "auto", batch_size: int = 16) -> None:
        if spec.kind != EMBEDDER or spec.backend != "open_clip":
            raise ValueError(f"{spec.name!r} is not an open_clip embedder")
        self.spec = spec
        self._device_choice = device
        self.batch_size = batch_size
        self.tensor_crops = False  # embed_boxes through the tensor path on a CPU too (always on CUDA)
        self._lock = threading.Lock()
        self._model = None
        self._preprocess = None
        self._tokenizer = None
        self.device: str | None = None

    @property
    def model_id(self) -> str:
        return self.spec.name

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        with self._lock:
            if self._model is None:
                self._load(weights.require(self.spec))

    def _load(self, folder: Path) -> None:
        import open_clip
        import torch

        device = resolve_device(self._device_choice)
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{folder}")
            tokenizer = open_clip.get_tokenizer(f"local-dir:{folder}")
        except Exception as exc:  # a broken download must not surface as a traceback
            raise RapError(f"embedder {self.spec.name!r} in {folder} could not be loaded: {exc}") from None
        model.eval().to(device=device, dtype=dtype_for(device))
        torch.set_grad_enabled(False)
        self._model, self._preprocess, self._tokenizer, self.device = model, preprocess, tokenizer, device

    def unload(self) -> None:
        with self._lock:
            self._model = self._preprocess = self._tokenizer = None
            if self.device and self.device.startswith("cuda"):
                import torch

                torch.cuda.empty_cache()

    @property
    def dim(self) -> int:
        self.load()
        return int(self._model.visual.output_dim)  # type: ignore[union-attr]

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        import torch

        self.load()
        rows = []
        for start in range(0, len(images), self.batch_size):
            batch = torch.stack([self._preprocess(self._fitted(im)) for im in images[start : start + self.batch_size]])
            with torch.inference_mode():
                features = self._model.encode_image(batch.to(self.device, dtype_for(self.device)))  # type: ignore[union-attr]
            rows.append(_normalise(features))
        return np.concatenate(rows) if rows else np.zeros((0, self.dim), np.float32)

    def _fitted(self, image: Image.Image) -> Image.Image:
        """`image` in RGB, box-reduced by a whole factor while its shorter side stays at least 3x the
        model's input: preprocessing resizes it bicubic with antialiasing, which costs in proportion to
        the pixels it is given (a whole 12-MP working image: ~20 ms), and from 3x the result is the
        same as from the full crop (Pillow's `reducing_gap`; tests: equivalent embeddings)."""
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        side = self._model.visual.image_size  # type: ignore[union-attr]
        factor = min(rgb.size) // (3 * (side[0] if isinstance(side, list | tuple) else side))
        return rgb.reduce(factor) if factor > 1 else rgb

    def embed_boxes(self, pairs: Sequence[tuple[Image.Image, Sequence[Sequence[float]]]]) -> np.ndarray:
        """`embed_images` of the regions of several photos: (image, boxes in its pixels) per photo,
        rows in that order, all in as few model calls as `batch_size` allows. On CUDA each photo is
        uploaded once and its crops are cut, resized and normalised there (crop_tensors); on a CPU,
        PIL's resize is as fast and is what the stored embeddings were made with."""
        import torch

        from . import crop_tensors

        self.load()
        if not any(len(boxes) for _, boxes in pairs):
            return np.zeros((0, self.dim), np.float32)
        if not str(self.device).startswith("cuda") and not self.tensor_crops:
            from ..images import crop_box

            return self.embed_images([crop_box(image, tuple(box)) for image, boxes in pairs for box in boxes])  # type: ignore[arg-type]
        spec = crop_tensors.clip_input(self._preprocess, self._model.visual.image_size)  # type: ignore[union-attr]
        dtype = dtype_for(self.device)
        prepared = [
            crop_tensors.prepare(crop_tensors.upload(image, self.device), boxes, spec, dtype)  # type: ignore[arg-type]
            for image, boxes in pairs
            if len(boxes)
        ]
        inputs = torch.cat(prepared)
        rows = []
        for start in range(0, len(inputs), self.batch_size):
            with torch.inference_mode():
                rows.append(_normalise(self._model.encode_image(inputs[start : start + self.batch_size])))  # type: ignore[union-attr]
        return np.concatenate(rows)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        self.load()
        tokens = self._tokenizer(list(texts)).to(self.device)  # type: ignore[misc]
        with torch.inference_mode():
            features = self._model.encode_text(tokens)  # type: ignore[union-attr]
        return _normalise(features)


def _normalise(features) -> np.ndarray:
    array = features.float().cpu().numpy().astype(np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return array / np.maximum(norms, 1e-12)


def embedder_spec(registry: Registry, choice: str, device: str = "auto") -> ModelSpec:
    """The spec named by the settings; "auto" picks by hardware (DESIGN: light models on a CPU)."""
    if choice == "auto":
        hardware = "cuda" if resolve_device(device).startswith("cuda") else "cpu"
        choice = AUTO_CHOICE[EMBEDDER][hardware]
    spec = registry.get(choice)
    if spec.kind != EMBEDDER:
        raise RapError(f"model {choice!r} is a {spec.kind}, not an image embedder")
    return spec
