"""How the generator decodes: several prompts in one `generate` call (left-padded), the KV-cache and
compile backend, and how many photos fit one batch in the free GPU memory. Helpers for generator.py.

Backends (settings `[generation] decode_backend`):
  "eager"           transformers' default: a growing cache, no compilation (known correct; the default).
  "static"          one preallocated KV cache reused across calls, no compilation (works on a CPU too).
  "static-compile"  the static cache plus `torch.compile` of the decode step (CUDA graphs on a GPU), also
                    for 4-bit bitsandbytes layers (their kernels are registered torch ops since bnb 0.46).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import RapError

DECODE_BACKENDS = ("eager", "static", "static-compile")
CPU_BATCH = 4  # photos per generate call on a CPU: enough to amortise the per-step overhead
MAX_BATCH = 32
_BATCH_RESERVE = 2e9  # bytes kept free beside the batch: allocator slack, the vision tower, logits
_SAMPLE_MARGIN = 1.25  # per-sample estimate times this: prefill activations and fragmentation
_CACHE_BUCKET = 256  # static cache lengths are rounded up to this: fewer reallocations and recompiles


def check_backend(name: str) -> str:
    if name not in DECODE_BACKENDS:
        raise RapError(f"unknown decode backend {name!r}; use one of {', '.join(DECODE_BACKENDS)}")
    return name


def left_pad(encoded: Sequence[dict], pad_id: int) -> dict:
    """One batch from prompts encoded one by one. Padding goes on the left, so every row's next token
    follows its own last prompt token; the attention mask hides the padding (generate derives the
    position ids from it, so each row's positions start at 0 as when it runs alone). Pixel values are
    concatenated in prompt order: LLaVA fills the image tokens row by row, in that order."""
    import torch

    width = max(int(e["input_ids"].shape[1]) for e in encoded)
    ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, item in enumerate(encoded):
        length = int(item["input_ids"].shape[1])
        ids[row, width - length :] = item["input_ids"][0]
        mask[row, width - length :] = item["attention_mask"][0]
    batch = {"input_ids": ids, "attention_mask": mask}
    pixels = [item["pixel_values"] for item in encoded if "pixel_values" in item]
    if pixels:
        batch["pixel_values"] = torch.cat(pixels)
    return batch


def trim(ids: Sequence[int], stop_ids: set[int]) -> list[int]:
    """A row's new tokens up to and including its first stop token: what the row would have produced
    alone (after its stop, generate fills the row with padding while the others go on)."""
    out: list[int] = []
    for token in ids:
        out.append(int(token))
        if token in stop_ids:
            break
    return out


def stop_ids(value) -> set[int]:
    """The stop token ids from a generation config's `eos_token_id` (an int, a list or None)."""
    if value is None:
        return set()
    return {int(v) for v in (value if isinstance(value, (list, tuple, set)) else [value])}


def kv_bytes_per_token(text_config, dtype_bytes: int = 2) -> int:
    """Key + value bytes one token of one sequence keeps in the cache, over all layers."""
    heads = int(text_config.num_attention_heads)
    kv_heads = int(getattr(text_config, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(text_config, "head_dim", None) or text_config.hidden_size // heads)
    return 2 * int(text_config.num_hidden_layers) * kv_heads * head_dim * dtype_bytes


def activation_bytes_per_token(text_config, dtype_bytes: int = 2) -> int:
    """The widest prefill activations per token (the MLP's gate and up projections, a few hidden states)."""
    return (2 * int(text_config.intermediate_size) + 4 * int(text_config.hidden_size)) * dtype_bytes


def batch_for_memory(free_bytes: float, per_sample_bytes: float, cap: int = MAX_BATCH) -> int:
    """Photos per generate call that fit `free_bytes`, keeping a reserve; at least 1, at most `cap`."""
    if per_sample_bytes <= 0:
        return 1
    fits = int((free_bytes - _BATCH_RESERVE) // (per_sample_bytes * _SAMPLE_MARGIN))
    return max(1, min(cap, fits))


def bucket(length: int) -> int:
    return -(-length // _CACHE_BUCKET) * _CACHE_BUCKET


class DecodeBackend:
    """The extra `generate` arguments for one backend; keeps the static cache between calls (same
    tensors each call: no reallocation, and a compiled decode step is not recompiled for new ones)."""

    def __init__(self, name: str = "eager") -> None:
        self.name = check_backend(name)
        self._cache = None
        self._cache_batch = 0
        self._cache_len = 0

    def generate_kwargs(self, model, batch: int, length: int) -> dict:
        """`length` = prompt tokens + new tokens: the cache must hold that many per row."""
        if self.name == "eager":
            return {}
        kwargs: dict = {"cache": self._static_cache(model, batch, length)}
        if self.name == "static":
            kwargs["disable_compile"] = True  # transformers would otherwise compile an unquantized model on CUDA
            return kwargs
        from transformers import CompileConfig

        cuda = model.device.type == "cuda"
        config = CompileConfig(fullgraph=False, dynamic=False, mode="reduce-overhead" if cuda else "default")
        if not cuda:
            config._compile_all_devices = True  # transformers compiles only on accelerators unless told
        kwargs["compile_config"] = config
        _compile_despite_quantizer(model)
        return kwargs

    def release(self) -> None:
        self._cache = None
        self._cache_batch = self._cache_len = 0

    def _static_cache(self, model, batch: int, length: int):
        if self._cache is not None and self._cache_batch == batch and self._cache_len >= length:
            self._cache.reset()
            return self._cache
        from transformers import StaticCache

        self.release()  # the old cache's memory goes before the new one is made
        self._cache_len = bucket(max(length, self._cache_len))
        self._cache = StaticCache(config=model.config.get_text_config(decoder=True), max_cache_len=self._cache_len)
        self._cache_batch = batch
        return self._cache


def _compile_despite_quantizer(model) -> None:
    """transformers never compiles a quantized model's decode step (its quantizer says "not
    compileable"); bitsandbytes >= 0.46 registers its 4-bit kernels as torch ops that compile. The
    check is replaced on this model only: compile whenever a static cache is used and not disabled."""
    if getattr(model, "_rap_compile_check", False):
        return

    def check(model_kwargs, generation_config) -> bool:
        cache = model_kwargs.get("cache")
        return not generation_config.disable_compile and cache is not None and bool(cache.is_compileable)

    model._valid_auto_compile_criteria = check
    model._rap_compile_check = True


class Batcher:
    """Gathers items into batches of `size`, one group per key: prompts with as many images (photos
    with as many concepts) are about as long, so a batch of them wastes little compute on padding.
    Items of a group keep their order; groups fill independently."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._groups: dict[int, list] = {}

    def add(self, item, key: int) -> list | None:
        """Adds `item`; returns its group as a batch once the group is full."""
        group = self._groups.setdefault(key, [])
        group.append(item)
        if len(group) < self.size:
            return None
        return self._groups.pop(key)

    def rest(self) -> list | None:
        """At the end: the next partly filled group (oldest key first), or None when all are out."""
        for key in list(self._groups):
            group = self._groups.pop(key)
            if group:
                return group
        return None

    def __len__(self) -> int:
        return sum(len(group) for group in self._groups.values())
