"""Writing the converted folder once: one process at a time, atomically, weights copied or read in place."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import RapError
from ..fsutil import TEMP_MARK, fsync_dir
from .convert_config import (
    IMAGE_TOKEN,
    _image_processor,
    _llava_config,
    _load_tokenizer,
    _output_dtype,
    _text_config,
    _vision_config,
    _write_extras,
    chat_template_jinja,
)
from .convert_layout import ORIGINAL, _check_original, _layout_of, is_converted, read_config
from .convert_weights import Targets, WeightFiles, check_plan, expected_shapes, plan_items, write_weights
from .disk import check_free_space, free_bytes
from .llava_loading import COPY, IN_PLACE, MARKER, can_load_in_place
from .weights import WEIGHTS_DIR_ENV

CONVERTER_VERSION = 1
DEFAULT_SHARD_BYTES = 4 << 30
_VOCAB_MULTIPLE = 64  # new vocabulary rows are padded to a multiple of 64 (as transformers' own script)
_STALE_TEMP_S = 3600  # a temp folder untouched this long is a crashed conversion's leftover

Progress = Callable[[str, float], None]


def _fingerprint(src: Path) -> str:
    """Changes when the checkpoint does: its config and its weight index (or weight file sizes)."""
    digest = hashlib.sha256()
    for path in sorted(src.glob("*.json")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for path in sorted([*src.glob("*.safetensors"), *src.glob("*.bin")]):
        digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:16]


def _remove_stale_temps(dst: Path) -> None:
    # Leftovers of a crashed conversion (a 13B one is 26 GB); a recent one may still be running.
    for temp in dst.parent.glob(f"{dst.name}{TEMP_MARK}*"):
        with contextlib.suppress(OSError):
            if time.time() - temp.stat().st_mtime > _STALE_TEMP_S:
                shutil.rmtree(temp, ignore_errors=True)


@contextlib.contextmanager
def _atomic_folder(dst: Path) -> Iterator[Path]:
    """A temp folder beside `dst`, renamed to `dst` on success, removed on any failure."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(dst)
    temp = dst.with_name(f"{dst.name}{TEMP_MARK}{secrets.token_hex(6)}")
    temp.mkdir()
    try:
        yield temp
        os.replace(temp, dst)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    fsync_dir(dst.parent)


def convert_checkpoint(
    src: Path,
    dst: Path,
    vision_tower: Path,
    template: str,
    progress: Progress | None = None,
    *,
    max_shard_bytes: int = DEFAULT_SHARD_BYTES,
    in_place: bool = False,
    free_space: Callable[[Path], int] = free_bytes,
) -> Path:
    """Convert an original-LLaVA-layout checkpoint in `src` into transformers' layout in `dst`
    (atomically: `dst` appears complete or not at all). `vision_tower` is the CLIP folder (HF
    CLIPModel or CLIPVisionModel layout); its weights are used unless `src` embeds the tower. A `dst`
    that already holds a finished conversion is returned as it is. `progress(message, fraction)` is
    called from this thread with fractions rising to 1.0; raising from it cancels the conversion,
    leaving nothing behind. `in_place`: when the source allows it (safetensors, tower embedded), write
    no weights: `dst` then loads them from `src` (llava_loading.load_llava). A copy is first checked
    against the free space (`free_space(folder)` in bytes)."""
    src, dst, vision_tower = Path(src), Path(dst), Path(vision_tower)
    report = progress or (lambda _message, _fraction: None)
    if is_converted(dst):
        report("already converted", 1.0)
        return dst
    with conversion_lock(dst, report):
        if is_converted(dst):  # another process finished it while this one waited
            report("already converted", 1.0)
            return dst
        return _convert_locked(src, dst, vision_tower, template, report, max_shard_bytes, in_place, free_space)


def lock_path(dst: Path) -> Path:
    """The (empty, hidden) lock file beside `dst`; it stays: unlinking a lock file races."""
    return dst.with_name(f".{dst.name}.lock")


@contextlib.contextmanager
def conversion_lock(dst: Path, report: Progress) -> Iterator[None]:
    """One conversion into `dst` at a time, across processes (a second app instance or a CLI run):
    without it both write the whole copy (26 GB for 13B) and the later one fails at its rename. The
    waiting side reports progress once a second, so it can still be cancelled."""
    from filelock import FileLock, Timeout

    dst.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(dst)))
    while True:
        try:
            lock.acquire(timeout=1)
            break
        except Timeout:
            report(f"waiting for another process converting into {dst}", 0.0)
    try:
        yield
    finally:
        lock.release()


def _convert_locked(
    src: Path,
    dst: Path,
    vision_tower: Path,
    template: str,
    report: Progress,
    max_shard_bytes: int,
    in_place: bool,
    free_space: Callable[[Path], int],
) -> Path:
    if dst.exists():
        raise RapError(f"{dst} already exists and is not a finished conversion; remove it or choose another folder")
    original = read_config(src)
    if _layout_of(original) != ORIGINAL:
        raise RapError(f"{src} is not an original-LLaVA-layout checkpoint")
    _check_original(original)
    chat_template_jinja(template)  # an unknown template fails now, not after the weights are written
    report("reading the checkpoint", 0.0)
    tokenizer = _load_tokenizer(src)
    vocab_rows = int(original["vocab_size"])
    if len(tokenizer) > vocab_rows:
        vocab_rows = -(-len(tokenizer) // _VOCAB_MULTIPLE) * _VOCAB_MULTIPLE
    dtype = _output_dtype(original)
    vision_config = _vision_config(vision_tower)
    config = _llava_config(
        original, _text_config(original, vocab_rows), vision_config, tokenizer.convert_tokens_to_ids(IMAGE_TOKEN), dtype
    )
    expected = expected_shapes(config)
    weights = WeightFiles(src)
    tower = None
    try:
        if not any(k.startswith("model.vision_tower.") for k in weights.where):
            tower = WeightFiles(vision_tower)  # not embedded: the separate CLIP download
        items = plan_items(weights, tower, vocab_rows, Targets.from_keys(set(expected)))
        check_plan(items, expected)  # also for in place: the same names, read by key_mapping
        mode = IN_PLACE if in_place and can_load_in_place(src, tower is None) else COPY
        if mode == COPY:
            how = f"set {WEIGHTS_DIR_ENV} to a folder on a bigger disk (converted copies are kept there)"
            check_free_space(dst.parent, _planned_bytes(items, dtype), f"converting {src.name}", how, free_space)
        with _atomic_folder(dst) as out:
            if mode == COPY:
                write_weights(items, out, dtype, max_shard_bytes, report)
            else:
                config.text_config.vocab_size = int(original["vocab_size"])  # the source's rows; grown on load
            report("writing config, tokenizer and processor", 0.92)
            _write_extras(
                src, out, config, tokenizer, _image_processor(original, vision_tower, vision_config), template
            )
            marker = {
                "converter": CONVERTER_VERSION,
                "mode": mode,
                "source": str(src),
                "fingerprint": _fingerprint(src),
                "vision_tower": str(vision_tower),
                "template": template,
                **({"weights": str(src), "vocab_rows": vocab_rows} if mode == IN_PLACE else {}),
            }
            (out / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
    finally:
        weights.close()
        if tower is not None:
            tower.close()
    report("converted", 1.0)
    return dst


def _planned_bytes(items, dtype) -> int:
    import math

    import torch

    return sum(math.prod(i.shape) for i in items) * torch.empty((), dtype=dtype).element_size()

