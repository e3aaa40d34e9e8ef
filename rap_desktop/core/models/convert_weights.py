"""Checkpoint conversion, the weights half: reading original shards (safetensors, or .bin through
torch's restricted unpickler), the key mapping to transformers' LLaVA names, and writing the output
shards one at a time. convert.py drives it."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelMissingError, RapError

Progress = Callable[[str, float], None]


# --- weights: reading -----------------------------------------------------------------------------


class WeightFiles:
    """The tensors of a checkpoint folder, looked up by key without loading them all: safetensors
    through safe_open, .bin through torch's weights-only unpickler with mmap."""

    def __init__(self, folder: Path, stems: tuple[str, ...] = ("model", "pytorch_model")) -> None:
        self.folder = folder
        self.files = self._find(folder, stems)
        self._stack = contextlib.ExitStack()
        self._open: dict[Path, Any] = {}
        self.where: dict[str, Path] = {}
        for file in self.files:
            for key in self._handle(file).keys():  # noqa: SIM118 (safe_open handles are not dicts)
                self.where[key] = file

    @staticmethod
    def _find(folder: Path, stems: tuple[str, ...]) -> list[Path]:
        # Safetensors first; .bin only when a folder has no safetensors at all.
        for ext in (".safetensors", ".bin"):
            for stem in stems:
                index = folder / f"{stem}{ext}.index.json"
                if index.is_file():
                    names = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
                    return [folder / n for n in names]
                single = folder / f"{stem}{ext}"
                if single.is_file():
                    return [single]
            shards = sorted(p for stem in stems for p in folder.glob(f"{stem}-*-of-*{ext}"))
            if shards:
                return shards
        raise ModelMissingError(
            f"{folder} has no weight files (model*.safetensors or pytorch_model*.bin): the download is "
            "incomplete; `rap-desktop models fetch NAME` completes it"
        )

    def _handle(self, file: Path):
        if file not in self._open:
            if not file.is_file():
                raise ModelMissingError(f"weight file {file} is missing (named by the index)")
            if file.suffix == ".safetensors":
                from safetensors import safe_open

                self._open[file] = self._stack.enter_context(safe_open(str(file), framework="pt", device="cpu"))
            else:
                self._open[file] = _load_bin(file)
        return self._open[file]

    def shape(self, key: str) -> tuple[int, ...]:
        handle = self._handle(self.where[key])
        if isinstance(handle, dict):
            return tuple(handle[key].shape)
        return tuple(handle.get_slice(key).get_shape())

    def get(self, key: str):
        handle = self._handle(self.where[key])
        return handle[key] if isinstance(handle, dict) else handle.get_tensor(key)

    def close(self) -> None:
        self._stack.close()
        self._open.clear()


def _load_bin(file: Path) -> dict:
    """A .bin shard through torch's restricted unpickler (tensors and plain containers only, never
    code), memory-mapped where the file allows it (zip format, torch >= 1.6 saves)."""
    import pickle

    import torch

    try:
        try:
            state = torch.load(file, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise
            state = torch.load(file, map_location="cpu", weights_only=True)  # legacy format: no mmap
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        raise RapError(f"refusing {file}: not a plain tensor checkpoint ({exc})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise RapError(f"refusing {file}: it holds something other than a dict of tensors")
    return state


# --- weights: the plan ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    target: str  # key in the converted checkpoint
    source: WeightFiles
    key: str  # key in the source files
    shape: tuple[int, ...]  # shape after conversion
    grow_to: int = 0  # rows after padding the vocabulary (embed_tokens, lm_head); 0 = unchanged


@dataclass(frozen=True)
class Targets:
    """Where each part lives in the installed transformers' LlavaForConditionalGeneration. 5.x:
    model.language_model. / lm_head. / model.multi_modal_projector. / model.vision_tower. (its CLIP
    vision model has no `vision_model.` level any more); 4.4x-4.51: language_model.model. /
    language_model.lm_head. / multi_modal_projector. / vision_tower.vision_model."""

    language_model: str = "model.language_model."
    lm_head: str = "lm_head."
    projector: str = "model.multi_modal_projector."
    vision: str = "model.vision_tower."

    @classmethod
    def from_keys(cls, keys: set[str]) -> Targets:
        def first(*candidates: str) -> str:
            return next((c for c in candidates if any(k.startswith(c) for k in keys)), candidates[0])

        return cls(
            language_model=first("model.language_model.", "language_model.model."),
            lm_head=first("lm_head.", "language_model.lm_head."),
            projector=first("model.multi_modal_projector.", "multi_modal_projector."),
            vision=first(
                "model.vision_tower.vision_model.", "vision_tower.vision_model.", "model.vision_tower.", "vision_tower."
            ),
        )


def map_original_key(key: str, targets: Targets = Targets()) -> str | None:
    """The converted name of an original checkpoint key; None for keys with no counterpart."""
    if key.endswith("rotary_emb.inv_freq") or key == "model.image_newline" or key.endswith(".position_ids"):
        return None  # recomputed buffers; image_newline is unused with flat patch merging
    for old, new in (("model.mm_projector.0.", "linear_1."), ("model.mm_projector.2.", "linear_2.")):
        if key.startswith(old):
            return targets.projector + new + key[len(old) :]
    embedded = "model.vision_tower.vision_tower.vision_model."  # LLaVA's CLIPVisionTower wraps CLIPVisionModel
    if key.startswith(embedded):
        return targets.vision + key[len(embedded) :]
    if key.startswith("model."):
        return targets.language_model + key[len("model.") :]
    if key.startswith("lm_head."):
        return targets.lm_head + key[len("lm_head.") :]
    raise RapError(f"unexpected key {key!r} in the original checkpoint")


def map_tower_key(key: str, targets: Targets = Targets()) -> str | None:
    """CLIPModel / CLIPVisionModel keys: only the vision half is kept."""
    if not key.startswith("vision_model.") or key.endswith(".position_ids"):
        return None
    return targets.vision + key[len("vision_model.") :]


def plan_items(original: WeightFiles, tower: WeightFiles | None, vocab_rows: int, targets: Targets) -> list[_Item]:
    items: list[_Item] = []
    growing = (targets.language_model + "embed_tokens.weight", targets.lm_head + "weight")
    for key in original.where:
        target = map_original_key(key, targets)
        if target is None:
            continue
        shape = original.shape(key)
        grow = vocab_rows if target in growing and vocab_rows > shape[0] else 0
        items.append(_Item(target, original, key, (grow, *shape[1:]) if grow else shape, grow))
    if tower is not None:
        for key in tower.where:
            target = map_tower_key(key, targets)
            if target is not None:
                items.append(_Item(target, tower, key, tower.shape(key)))
    return items


def expected_shapes(config) -> dict[str, tuple[int, ...]]:
    """Every key and shape the installed transformers expects (a meta-device model: no memory)."""
    import torch
    from transformers import LlavaForConditionalGeneration

    with torch.device("meta"):
        model = LlavaForConditionalGeneration(config)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if config.tie_word_embeddings:
        expected = {k: v for k, v in expected.items() if not k.endswith("lm_head.weight")}  # saved once
    return expected


def check_plan(items: list[_Item], expected: dict[str, tuple[int, ...]]) -> None:
    """The planned keys and shapes must be exactly the expected ones: guards against a transformers
    release renaming modules, a wrong tower, or a truncated checkpoint."""
    planned = {i.target: i.shape for i in items}
    missing = sorted(set(expected) - set(planned))
    extra = sorted(set(planned) - set(expected))
    wrong = sorted(k for k in set(expected) & set(planned) if expected[k] != planned[k])
    if missing or extra or wrong:
        detail = "; ".join(
            f"{what}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}"
            for what, keys in (("missing", missing), ("unexpected", extra), ("wrong shape", wrong))
            if keys
        )
        raise RapError(f"the converted weights would not match LlavaForConditionalGeneration: {detail}")


def _materialize(item: _Item, dtype):
    import torch

    tensor = item.source.get(item.key)
    if item.grow_to:
        # New rows (the <image> token and padding) = the mean of the existing rows: deterministic, and
        # harmless: the <image> row is never looked up (image features replace it), and an output row
        # equal to the mean never stands out in the logits.
        mean = tensor.float().mean(dim=0, keepdim=True)
        extra = mean.expand(item.grow_to - tensor.shape[0], -1).to(tensor.dtype)
        tensor = torch.cat([tensor, extra], dim=0)
    return tensor.to(dtype).contiguous()


def _shards(items: list[_Item], dtype, max_bytes: int) -> list[list[_Item]]:
    import torch

    size = torch.empty((), dtype=dtype).element_size()
    shards: list[list[_Item]] = [[]]
    used = 0
    for item in items:
        nbytes = math.prod(item.shape) * size
        if shards[-1] and used + nbytes > max_bytes:
            shards.append([])
            used = 0
        shards[-1].append(item)
        used += nbytes
    return shards


def write_weights(items: list[_Item], out: Path, dtype, max_bytes: int, progress: Progress) -> None:
    from safetensors.torch import save_file

    shards = _shards(items, dtype, max_bytes)
    names = (
        ["model.safetensors"]
        if len(shards) == 1
        else [f"model-{i:05d}-of-{len(shards):05d}.safetensors" for i in range(1, len(shards) + 1)]
    )
    planned = sum(math.prod(i.shape) for i in items) or 1
    weight_map: dict[str, str] = {}
    done = total = 0
    reported = -1.0
    for n, (name, shard) in enumerate(zip(names, shards, strict=True)):
        tensors = {}
        for item in shard:
            fraction = 0.05 + 0.85 * done / planned
            if fraction - reported >= 0.01:  # about a hundred updates, whatever the model size
                progress(f"writing weights, shard {n + 1} of {len(shards)}", fraction)
                reported = fraction
            tensors[item.target] = _materialize(item, dtype)
            done += math.prod(item.shape)
        save_file(tensors, str(out / name), metadata={"format": "pt"})
        for key, tensor in tensors.items():
            weight_map[key] = name
            total += tensor.numel() * tensor.element_size()
        del tensors  # one shard in memory at a time
    if len(shards) > 1:
        index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
        (out / "model.safetensors.index.json").write_text(json.dumps(index, indent=2), encoding="utf-8")
