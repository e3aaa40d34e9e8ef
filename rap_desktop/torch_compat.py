"""Make torchvision importable with a CPU torch when its compiled ops cannot load.

The registry's torchvision wheel is a CUDA build: next to a CPU torch its `_C` extension fails to
load and `import torchvision` dies on "operator torchvision::nms does not exist". Importing this
module installs an import hook: right before torchvision is first imported we try to load the
compiled ops; only if that fails do we define `torchvision::nms` (and `qnms`) with a pure-torch CPU
kernel. Where the compiled ops load, nothing is changed. Importing this module does not import torch.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from pathlib import Path

_STATE: dict[str, object] = {"done": False, "library": None, "fallback": False}


def _compiled_ops_path() -> Path | None:
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        for candidate in sorted(Path(folder).glob("_C*")):
            if candidate.suffix in {".so", ".pyd", ".dylib"}:
                return candidate
    return None


def nms_reference(boxes, scores, iou_threshold: float):
    """Greedy non-maximum suppression, same contract as torchvision.ops.nms.

    Boxes are (x1, y1, x2, y2); returns indices of kept boxes, highest score first.
    A box is dropped when its IoU with a kept, higher-scoring box is strictly above the threshold.
    """
    import torch

    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    boxes = boxes.float()
    order = torch.sort(scores, stable=True, descending=True).indices
    ordered = boxes[order]
    x1, y1, x2, y2 = ordered.unbind(1)
    areas = (x2 - x1).clamp(min=0) * (y2 - y1).clamp(min=0)
    removed = torch.zeros(len(order), dtype=torch.bool, device=boxes.device)
    keep = []
    for i in range(len(order)):
        if removed[i]:
            continue
        keep.append(i)
        rest = slice(i + 1, None)
        width = (torch.minimum(x2[i], x2[rest]) - torch.maximum(x1[i], x1[rest])).clamp(min=0)
        height = (torch.minimum(y2[i], y2[rest]) - torch.maximum(y1[i], y1[rest])).clamp(min=0)
        inter = width * height
        iou = inter / (areas[i] + areas[rest] - inter)
        removed[rest] |= iou > iou_threshold
    return order[torch.tensor(keep, dtype=torch.int64, device=boxes.device)]


def _qnms(boxes, scores, iou_threshold: float):
    return nms_reference(boxes.dequantize(), scores.dequantize(), iou_threshold)


def ensure_torchvision_ops() -> bool:
    """Make `torchvision::nms` exist. Returns True when our CPU fallback was installed."""
    if _STATE["done"]:
        return bool(_STATE["fallback"])
    _STATE["done"] = True
    path = _compiled_ops_path()
    if path is None:
        return False
    import torch

    try:
        torch.ops.load_library(str(path))
        return False
    except (ImportError, OSError):
        pass
    library = torch.library.Library("torchvision", "DEF")
    library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    library.define("qnms(Tensor qdets, Tensor qscores, float iou_threshold) -> Tensor")
    library.impl("nms", nms_reference, "CPU")
    library.impl("qnms", _qnms, "QuantizedCPU")
    _STATE["library"] = library  # the registration lives as long as this object
    _STATE["fallback"] = True
    return True


def _allow_fallback_nms() -> None:
    # torchvision.ops.nms refuses to run when the compiled extension did not load, even though the
    # operator it calls now exists; lift that check for the functions in ops.boxes only.
    boxes = sys.modules.get("torchvision.ops.boxes")
    if boxes is not None and _STATE["fallback"]:
        boxes._assert_has_ops = lambda: None


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader) -> None:
        self.inner = inner

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module) -> None:
        self.inner.exec_module(module)
        _allow_fallback_nms()


class _TorchvisionHook(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        # Stay installed until torchvision really runs: libraries probe it with
        # importlib.util.find_spec (transformers does) long before importing it.
        if fullname != "torchvision" or "torchvision" in sys.modules:
            return None
        ensure_torchvision_ops()
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None and not isinstance(spec.loader, _Loader):
            spec.loader = _Loader(spec.loader)
        return spec


def install() -> None:
    if "torchvision" in sys.modules:
        return
    if not any(isinstance(f, _TorchvisionHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _TorchvisionHook())


install()
