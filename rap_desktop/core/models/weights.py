"""Finding model weights: a configured local folder first, then the Hugging Face hub cache.

Nothing here downloads unless `fetch` is called (`rap-desktop models fetch NAME`). A missing model
is reported with the model's name, every place looked at, and the command that gets it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelMissingError, RapError
from .registry import ModelSpec


@dataclass(frozen=True)
class Resolution:
    spec: ModelSpec
    path: Path | None  # folder holding the model's files, when present
    looked: tuple[str, ...]  # each place looked at, with what was wrong there

    @property
    def present(self) -> bool:
        return self.path is not None


def hub_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _missing_files(folder: Path, spec: ModelSpec) -> list[str]:
    return [name for name in spec.files if not (folder / name).is_file()]


def _look_local(spec: ModelSpec) -> tuple[Path | None, str]:
    folder = Path(os.path.expanduser(spec.local_path or ""))
    if not folder.exists():
        return None, f"{folder} (does not exist)"
    if folder.is_file():
        return (folder, "") if not spec.files else (None, f"{folder} (a file; expected a folder)")
    missing = _missing_files(folder, spec)
    if missing:
        return None, f"{folder} (missing {', '.join(missing)})"
    return folder, ""


def _look_hub(spec: ModelSpec, cache_dir: Path) -> tuple[Path | None, str]:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = Path(
            snapshot_download(
                spec.hub_repo,
                allow_patterns=list(spec.files) or None,
                cache_dir=cache_dir,
                local_files_only=True,
            )
        )
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        return None, f"Hugging Face cache {cache_dir} ({spec.hub_repo} not downloaded)"
    missing = _missing_files(folder, spec)
    if missing:
        return None, f"Hugging Face cache {folder} (missing {', '.join(missing)})"
    return folder, ""


def resolve(spec: ModelSpec, cache_dir: Path | None = None) -> Resolution:
    looked: list[str] = []
    if spec.local_path:
        found, why = _look_local(spec)
        if found:
            return Resolution(spec, found, (str(found),))
        looked.append(why)
    if spec.hub_repo:
        found, why = _look_hub(spec, cache_dir or hub_cache_dir())
        if found:
            return Resolution(spec, found, (*looked, str(found)))
        looked.append(why)
    return Resolution(spec, None, tuple(looked))


def missing_message(resolution: Resolution) -> str:
    spec = resolution.spec
    places = "; ".join(resolution.looked) or "nowhere (no local path or hub repository configured)"
    how = (
        f"get it with `rap-desktop models fetch {spec.name}` ({spec.size_mb} MB) or point "
        f'[models.paths] "{spec.name}" at a folder holding {", ".join(spec.files)} in the settings file'
        if spec.hub_repo
        else f"point [models.custom.{spec.name}] path at a folder holding its files"
    )
    return f"{spec.kind} model {spec.name!r} is not available: looked in {places}; {how}"


def require(spec: ModelSpec, cache_dir: Path | None = None) -> Path:
    resolution = resolve(spec, cache_dir)
    if resolution.path is None:
        raise ModelMissingError(missing_message(resolution))
    return resolution.path


def fetch(
    spec: ModelSpec,
    cache_dir: Path | None = None,
    tqdm_class: Callable | None = None,
) -> Path:
    """Download the model's files into the hub cache (progress through a tqdm class)."""
    if not spec.hub_repo:
        raise RapError(f"model {spec.name!r} has no download source; it is a local model")
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(
            spec.hub_repo,
            allow_patterns=list(spec.files) or None,
            cache_dir=cache_dir or hub_cache_dir(),
            tqdm_class=tqdm_class,
        )
    except Exception as exc:  # network, auth, disk: all end the same way for the user
        raise RapError(f"could not download {spec.name!r} from {spec.hub_repo}: {exc}") from None
    return require(spec, cache_dir) if spec.files else Path(folder)
