"""One typed settings object, read from a TOML file with environment overrides.

File (all keys optional):

    schema = 1
    [models]
    embedder = "auto"            # a registry name, or "auto" (by hardware)
    detector = "auto"            # a registry name, or "auto" (by hardware)
    generator = "auto"           # rap-llava-13b on CUDA, rap-phi3-mini on a CPU
    device = "auto"              # auto | cpu | cuda | cuda:1
    quantization = "auto"        # 4bit on CUDA, fp32 on a CPU; or 8bit | fp16 | bf16 | fp32
    [models.paths]               # point a registry entry at a local folder
    "clip-vit-l-14-336" = "/data/models/clip-l-336"
    "yolo-world-v2-x" = "/data/models/yolov8x-worldv2.pt"   # single-file models: the file itself
    [models.templates]           # the chat template a generator's prompts use (prompting.TEMPLATES)
    "rap-llava-13b" = "llava_v1" # default: the one it was trained with (vicuna_v1)
    [models.custom.my-clip]      # add an entry (fields of ModelSpec)
    kind = "embedder"
    backend = "open_clip"
    path = "my-clip"             # relative paths are relative to this file
    options = { dim = 512 }
    [generation]
    decode_backend = "eager"     # eager | static | static-compile (models/decoding.py)
    caption_batch = 0            # photos per generate call in album captions; 0 = from free GPU memory (4 on a CPU)

Environment: RAP_DESKTOP_EMBEDDER, _DETECTOR, _GENERATOR, _DEVICE and _QUANTIZATION override the file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import RapError
from .models.registry import BUILTIN, DETECTOR, EMBEDDER, GENERATOR, ModelSpec, Registry

SCHEMA_VERSION = 1
_ENV = {
    "embedder": "RAP_DESKTOP_EMBEDDER",
    "detector": "RAP_DESKTOP_DETECTOR",
    "generator": "RAP_DESKTOP_GENERATOR",
    "device": "RAP_DESKTOP_DEVICE",
    "quantization": "RAP_DESKTOP_QUANTIZATION",
}
_MODEL_KEYS = {"embedder": EMBEDDER, "detector": DETECTOR, "generator": GENERATOR}  # key -> kind it must name


@dataclass(frozen=True)
class Settings:
    embedder: str = "auto"
    detector: str = "auto"
    generator: str = "auto"
    device: str = "auto"
    quantization: str = "auto"  # auto (4bit on CUDA, fp32 on CPU) | 4bit | 8bit | fp16 | bf16 | fp32
    models: tuple[ModelSpec, ...] = BUILTIN
    source: Path | None = None  # the file these came from, if any
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def registry(self) -> Registry:
        return Registry(self.models)


def _fail(path: Path, message: str) -> RapError:
    return RapError(f"settings file {path}: {message}")


def _custom_spec(path: Path, name: str, table: Mapping[str, Any]) -> ModelSpec:
    if not isinstance(table, Mapping):
        raise _fail(path, f"[models.custom.{name}] must be a table")
    fields = dict(table)
    local = fields.pop("path", None)
    options = fields.pop("options", {})
    files = tuple(fields.pop("files", ()))
    try:
        spec = ModelSpec(
            name=name,
            files=files,
            local_path=str((path.parent / local).resolve()) if local else None,
            options=MappingProxyType(dict(options)),
            **fields,
        )
    except TypeError as exc:
        raise _fail(path, f"[models.custom.{name}]: {exc}") from None
    return spec


def _set_templates(path: Path | None, registry: Registry, table: Mapping[str, Any]) -> None:
    from .prompting import TEMPLATES

    for name, chosen in table.items():
        if name not in registry or registry.get(name).kind != GENERATOR:
            raise _fail(path, f"[models.templates] names {name!r}, which is not a generator")  # type: ignore[arg-type]
        if chosen not in TEMPLATES:
            known = ", ".join(sorted(TEMPLATES))
            raise _fail(path, f"[models.templates] {name!r}: unknown template {chosen!r} (known: {known})")  # type: ignore[arg-type]
        spec = registry.get(name)
        registry.add(replace(spec, options=MappingProxyType({**spec.options, "template": chosen})))


def load_settings(path: Path | None, environ: Mapping[str, str] = os.environ) -> Settings:
    """Read `path` (missing file = defaults), then apply environment overrides."""
    data: dict[str, Any] = {}
    if path is not None and path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise _fail(path, f"not valid TOML ({exc})") from None
        except OSError as exc:
            raise _fail(path, f"cannot be read ({exc.strerror})") from None
        schema = data.get("schema", SCHEMA_VERSION)
        if not isinstance(schema, int) or schema > SCHEMA_VERSION:
            raise _fail(path, f"schema {schema!r} is newer than this app understands ({SCHEMA_VERSION})")
    models = data.get("models", {})
    if not isinstance(models, Mapping):
        raise _fail(path, "[models] must be a table")  # type: ignore[arg-type]
    registry = Registry()
    for name, table in models.get("custom", {}).items():
        registry.add(_custom_spec(path, name, table))  # type: ignore[arg-type]
    for name, folder in models.get("paths", {}).items():
        if name not in registry:
            raise _fail(path, f"[models.paths] names unknown model {name!r}")  # type: ignore[arg-type]
        registry.set_path(name, str((path.parent / folder).resolve()))  # type: ignore[union-attr]
    _set_templates(path, registry, models.get("templates", {}))
    values = {key: str(models.get(key, "auto")) for key in _ENV}
    for key, var in _ENV.items():
        if environ.get(var):
            values[key] = environ[var]
    where = f"settings file {path}" if path else "settings"
    for key, kind in _MODEL_KEYS.items():
        if values[key] == "auto":
            continue
        if values[key] not in registry:
            raise RapError(f"{where}: {key} {values[key]!r} is not a known model")
        if registry.get(values[key]).kind != kind:
            actual = registry.get(values[key]).kind
            raise RapError(f"{where}: {key} {values[key]!r} is a model of kind {actual!r}, not {kind!r}")
    extra = {k: v for k, v in data.items() if k not in {"schema", "models"}}
    return Settings(
        embedder=values["embedder"],
        detector=values["detector"],
        generator=values["generator"],
        device=values["device"],
        quantization=values["quantization"],
        models=tuple(registry.all()),
        source=path,
        extra=MappingProxyType(extra),
    )
