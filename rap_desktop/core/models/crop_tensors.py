"""CLIP's image preprocessing for many regions of one photo as tensor ops, on any torch device.

open_clip prepares each crop with PIL on the CPU: cut, resize (bicubic, antialiased, shorter side to
the model's input), centre-crop, to float, normalise. Here the photo is uploaded once (on CUDA: to
the GPU) and every region is cut, resized and normalised there, so a GPU never waits on a CPU thread
resizing crops. Same steps and geometry as the PIL path (tests: equivalent embeddings on CPU).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class ClipInput:
    size: int  # square input side (224, 336...)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def clip_input(preprocess, image_size) -> ClipInput:
    """The input geometry and normalisation of an open_clip preprocess pipeline."""
    mean, std = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
    for step in getattr(preprocess, "transforms", ()):
        if type(step).__name__ == "Normalize":
            mean, std = tuple(float(v) for v in step.mean), tuple(float(v) for v in step.std)
    side = image_size[0] if isinstance(image_size, list | tuple) else image_size
    return ClipInput(int(side), mean, std)  # type: ignore[arg-type]


def upload(image: Image.Image, device: str):
    """(3, H, W) uint8 tensor of an RGB image on `device`: the one copy every crop is cut from."""
    import torch

    array = np.asarray(image.convert("RGB"))
    return torch.from_numpy(np.array(array)).to(device, non_blocking=True).permute(2, 0, 1)  # writable copy


def pixel_box(box: Sequence[float], width: int, height: int) -> tuple[int, int, int, int] | None:
    """Every pixel the box touches, clipped to the image (as images.crop_box); None: no area."""
    x1, y1, x2, y2 = (float(v) for v in box)
    left, top = max(0, math.floor(x1)), max(0, math.floor(y1))
    right, bottom = min(width, math.ceil(x2)), min(height, math.ceil(y2))
    return None if right <= left or bottom <= top else (left, top, right, bottom)


def _resized_size(height: int, width: int, size: int) -> tuple[int, int]:
    # torchvision Resize(int): the shorter side becomes `size`, the longer one int(size * long / short)
    if height <= width:
        return size, int(size * width / height)
    return int(size * height / width), size


def prepare(pixels, boxes: Sequence[Sequence[float]], spec: ClipInput, dtype=None):
    """(n, 3, size, size) normalised model input for the regions `boxes` (pixels of `pixels`, a
    (3, H, W) uint8 tensor from `upload`), on the tensor's device."""
    import torch
    import torch.nn.functional as F

    _, height, width = pixels.shape
    mean = torch.tensor(spec.mean, device=pixels.device).view(3, 1, 1)
    std = torch.tensor(spec.std, device=pixels.device).view(3, 1, 1)
    out = []
    for box in boxes:
        edges = pixel_box(box, width, height)
        if edges is None:
            raise ValueError(f"box {tuple(box)} has no area inside the {width}x{height} image")
        left, top, right, bottom = edges
        crop = pixels[:, top:bottom, left:right].float()[None]
        new_h, new_w = _resized_size(bottom - top, right - left, spec.size)
        if (new_h, new_w) != (bottom - top, right - left):
            crop = F.interpolate(crop, size=(new_h, new_w), mode="bicubic", align_corners=False, antialias=True)
            crop = crop.clamp_(0, 255).round_()  # PIL hands back 8-bit pixels
        y0 = round((new_h - spec.size) / 2.0)
        x0 = round((new_w - spec.size) / 2.0)
        out.append(crop[0, :, y0 : y0 + spec.size, x0 : x0 + spec.size])
    batch = (torch.stack(out) / 255.0 - mean) / std
    return batch if dtype is None else batch.to(dtype)
