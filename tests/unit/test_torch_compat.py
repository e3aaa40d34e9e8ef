"""The CPU nms fallback agrees with a brute-force reference, and is only installed when needed."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
import torchvision

from rap_desktop import torch_compat


def brute_force_nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """Textbook greedy NMS over the full IoU matrix (independent of the code under test)."""
    n = len(boxes)
    iou = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            x1, y1 = max(boxes[i, 0], boxes[j, 0]), max(boxes[i, 1], boxes[j, 1])
            x2, y2 = min(boxes[i, 2], boxes[j, 2]), min(boxes[i, 3], boxes[j, 3])
            inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
            area_i = (boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1])
            area_j = (boxes[j, 2] - boxes[j, 0]) * (boxes[j, 3] - boxes[j, 1])
            iou[i, j] = inter / (area_i + area_j - inter)
    order = sorted(range(n), key=lambda i: (-scores[i], i))
    keep, dead = [], set()
    for i in order:
        if i in dead:
            continue
        keep.append(i)
        dead |= {j for j in range(n) if iou[i, j] > threshold}
    return keep


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_nms_matches_brute_force(seed: int, threshold: float) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 120))
    xy = rng.uniform(0, 200, (n, 2))
    wh = rng.uniform(1, 80, (n, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
    scores = rng.uniform(0, 1, n).astype(np.float32)
    got = torchvision.ops.nms(torch.from_numpy(boxes), torch.from_numpy(scores), threshold)
    assert got.dtype == torch.int64
    assert got.tolist() == brute_force_nms(boxes, scores, threshold)


def test_nms_empty_and_batched() -> None:
    empty = torchvision.ops.nms(torch.zeros((0, 4)), torch.zeros(0), 0.5)
    assert empty.shape == (0,)
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7])
    # same class: the overlapping lower-scored boxes go; different classes never suppress each other
    assert torchvision.ops.batched_nms(boxes, scores, torch.tensor([0, 0, 0]), 0.5).tolist() == [0]
    assert torchvision.ops.batched_nms(boxes, scores, torch.tensor([0, 1, 2]), 0.5).tolist() == [0, 1, 2]


def test_fallback_only_when_compiled_ops_do_not_load() -> None:
    path = torch_compat._compiled_ops_path()
    try:
        torch.ops.load_library(str(path))
        loads = True
    except (ImportError, OSError):
        loads = False
    assert torch_compat.ensure_torchvision_ops() is (not loads)


def test_importing_the_module_does_not_import_torch() -> None:
    code = "import sys, rap_desktop.torch_compat; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_find_spec_probe_before_the_import_does_not_disarm_the_fix() -> None:
    # transformers asks importlib.util.find_spec("torchvision") long before importing it
    code = (
        "import importlib.util, rap_desktop.torch_compat, torch\n"
        "assert importlib.util.find_spec('torchvision') is not None\n"
        "import torchvision\n"
        "boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]])\n"
        "print(torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5).tolist())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[0]"
