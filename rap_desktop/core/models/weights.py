"""Finding model weights: a configured local path first, then the download cache.

Hub models (open_clip) live in the Hugging Face hub cache; single-file models with a plain URL
(ultralytics' GitHub release assets) in our own weights folder (`weights_cache_dir`), or in
ultralytics' own weights folder when ultralytics downloaded them before. Nothing here
downloads unless `fetch` is called (`rap-desktop models fetch NAME`). A missing model is reported
with the model's name, every place looked at, and the command that gets it.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from ..errors import ModelMissingError, RapError
from ..fsutil import atomic_file
from .disk import check_free_space, folder_bytes
from .registry import ModelSpec

WEIGHTS_DIR_ENV = "RAP_DESKTOP_WEIGHTS_DIR"
_CHUNK = 1 << 20
_ZIP_MAGIC = b"PK\x03\x04"  # torch.save writes a zip archive; an HTML error page is not one


@dataclass(frozen=True)
class Resolution:
    spec: ModelSpec
    path: Path | None  # folder holding the model's files (or its single weights file), when present
    looked: tuple[str, ...]  # each place looked at, with what was wrong there

    @property
    def present(self) -> bool:
        return self.path is not None


def hub_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def weights_cache_dir() -> Path:
    """Where downloaded single-file weights go (the env variable lets tests and users move it)."""
    chosen = os.environ.get(WEIGHTS_DIR_ENV)
    if chosen:
        return Path(chosen).expanduser()
    return Path(platformdirs.user_cache_dir("rap-desktop", appauthor=False)) / "weights"


def _single_file(spec: ModelSpec) -> bool:
    return spec.download_url is not None or not spec.files


def _file_name(spec: ModelSpec) -> str:
    return spec.files[0] if spec.files else (spec.download_url or "").rsplit("/", 1)[-1]


def _missing_files(folder: Path, spec: ModelSpec) -> list[str]:
    return [name for name in spec.files if not (folder / name).is_file()]


def _look_local(spec: ModelSpec) -> tuple[Path | None, str]:
    folder = Path(os.path.expanduser(spec.local_path or ""))
    if not folder.exists():
        return None, f"{folder} (does not exist)"
    if folder.is_file():
        return (folder, "") if _single_file(spec) else (None, f"{folder} (a file; expected a folder)")
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


def _look_download_cache(spec: ModelSpec, cache_dir: Path) -> tuple[Path | None, str]:
    file = cache_dir / _file_name(spec)
    if file.is_file():
        return file, ""
    return None, f"weights cache {cache_dir} ({file.name} not downloaded)"


def ultralytics_settings_file() -> Path:
    """ultralytics' settings.json, found as ultralytics finds it (utils.get_user_config_dir) without
    importing ultralytics: that costs seconds, imports torch and writes the file."""
    chosen = os.environ.get("YOLO_CONFIG_DIR")
    if chosen:
        folder = Path(chosen).expanduser()
    elif sys.platform.startswith("win"):
        folder = Path.home() / "AppData" / "Roaming"
    elif sys.platform == "darwin":
        folder = Path.home() / "Library" / "Application Support"
    else:
        folder = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return folder / "Ultralytics" / "settings.json"


def ultralytics_weights_dir() -> Path | None:
    """Where ultralytics keeps the weights it downloaded (its settings' weights_dir), if it has one."""
    try:
        found = json.loads(ultralytics_settings_file().read_text(encoding="utf-8")).get("weights_dir")
    except (OSError, ValueError, AttributeError):
        return None
    return Path(found).expanduser() if isinstance(found, str) and found else None


def _look_ultralytics(spec: ModelSpec) -> tuple[Path | None, str]:
    folder = ultralytics_weights_dir()
    if folder is None:
        return None, ""
    file = folder / _file_name(spec)
    if file.is_file():
        return file, ""
    return None, f"ultralytics' weights folder {folder} ({file.name} not there)"


def resolve(spec: ModelSpec, cache_dir: Path | None = None) -> Resolution:
    """Look for the weights; `cache_dir` overrides the hub cache (hub models) or the weights
    folder (URL models)."""
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
    if spec.download_url:
        found, why = _look_download_cache(spec, cache_dir or weights_cache_dir())
        if found:
            return Resolution(spec, found, (*looked, str(found)))
        looked.append(why)
        if spec.backend.startswith("ultralytics"):  # a file ultralytics itself downloaded earlier
            found, why = _look_ultralytics(spec)
            if found:
                return Resolution(spec, found, (*looked, str(found)))
            looked += [why] if why else []
    return Resolution(spec, None, tuple(looked))


def missing_message(resolution: Resolution) -> str:
    spec = resolution.spec
    places = "; ".join(resolution.looked) or "nowhere (no local path or download source configured)"
    if spec.download_url:
        how = (
            f"get it with `rap-desktop models fetch {spec.name}` ({spec.size_mb} MB) or point "
            f'[models.paths] "{spec.name}" at your copy of {_file_name(spec)} in the settings file'
        )
    elif spec.hub_repo:
        how = (
            f"get it with `rap-desktop models fetch {spec.name}` ({spec.size_mb} MB) or point "
            f'[models.paths] "{spec.name}" at a folder holding {", ".join(spec.files)} in the settings file'
        )
    else:
        how = f"point [models.custom.{spec.name}] path at a folder holding its files"
    return f"{spec.kind} model {spec.name!r} is not available: looked in {places}; {how}"


def require(spec: ModelSpec, cache_dir: Path | None = None) -> Path:
    resolution = resolve(spec, cache_dir)
    if resolution.path is None:
        raise ModelMissingError(missing_message(resolution))
    return resolution.path


def require_file(spec: ModelSpec, cache_dir: Path | None = None) -> Path:
    """The single weights file of a one-file model (a checkpoint such as ultralytics' .pt)."""
    path = require(spec, cache_dir)
    if path.is_dir():
        if not spec.files:
            raise ModelMissingError(f"model {spec.name!r}: {path} is a folder; point the settings at the weights file")
        return path / spec.files[0]
    return path


def fetch(
    spec: ModelSpec,
    cache_dir: Path | None = None,
    tqdm_class: Callable | None = None,
    list_files: Callable[[str], list[str]] | None = None,
) -> Path:
    """Download the model's files into its cache (progress through a tqdm class), after checking
    there is room for them. `list_files(repo)` lists a hub repo's files (default: ask the hub)."""
    if spec.download_url:
        folder = cache_dir or weights_cache_dir()
        how = f'set {WEIGHTS_DIR_ENV} to a folder on a bigger disk, or point [models.paths] "{spec.name}" at a copy'
        check_free_space(folder, spec.size_mb * 1e6, f"downloading {spec.name}", how)
        _download(spec, spec.download_url, folder / _file_name(spec), tqdm_class)
        return require(spec, folder)
    if not spec.hub_repo:
        raise RapError(f"model {spec.name!r} has no download source; it is a local model")
    from huggingface_hub import snapshot_download

    hub = cache_dir or hub_cache_dir()
    have = folder_bytes(hub / ("models--" + spec.hub_repo.replace("/", "--")))  # an interrupted download's part
    how = f'set HF_HOME to a folder on a bigger disk, or point [models.paths] "{spec.name}" at a copy'
    check_free_space(hub, spec.size_mb * 1e6 - have, f"downloading {spec.name}", how)
    try:
        folder = snapshot_download(
            spec.hub_repo,
            allow_patterns=download_patterns(spec, list_files or _list_repo_files),
            cache_dir=hub,
            tqdm_class=tqdm_class,
        )
    except Exception as exc:  # network, auth, disk: all end the same way for the user
        raise RapError(f"could not download {spec.name!r} from {spec.hub_repo}: {exc}") from None
    return require(spec, cache_dir) if spec.files else Path(folder)


_WEIGHT_PATTERNS = (".safetensors", ".bin")


def select_download_patterns(repo_files: list[str]) -> list[str]:
    """allow_patterns for downloading an original checkpoint given its repo file list: configs and
    tokenizer files, and safetensors weights if the repo has any, else the .bin shards."""
    patterns = ["*.json", "tokenizer.model", "*.jinja"]
    if any(f.endswith(".safetensors") for f in repo_files):
        return [*patterns, "*.safetensors"]
    return [*patterns, "pytorch_model*.bin"]


def download_patterns(spec: ModelSpec, list_files: Callable[[str], list[str]]) -> list[str] | None:
    """What to download from a hub repo: the spec's patterns, with its weights narrowed to one format
    once the repo's file list is known (safetensors when it has them; never both)."""
    patterns = list(spec.options.get("download_patterns") or spec.files) or None
    if not patterns or not any(p.endswith(_WEIGHT_PATTERNS) for p in patterns):
        return patterns
    try:
        files = list_files(str(spec.hub_repo))
    except Exception:  # offline or refused: snapshot_download says so in a moment
        return patterns
    chosen = [p for p in select_download_patterns(files) if p.endswith(_WEIGHT_PATTERNS)]
    return [p for p in patterns if not p.endswith(_WEIGHT_PATTERNS)] + chosen


def _list_repo_files(repo: str) -> list[str]:
    from huggingface_hub import list_repo_files

    return list_repo_files(repo)


def _download(spec: ModelSpec, url: str, dest: Path, tqdm_class: Callable | None) -> None:
    """Stream `url` into a temp file beside `dest`, check it, then rename: never a half file."""
    request = urllib.request.Request(url, headers={"User-Agent": "rap-desktop"})
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(request, timeout=30) as response, atomic_file(dest) as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            bar = tqdm_class(total=total, unit="B", unit_scale=True, desc=dest.name) if tqdm_class else None
            received, head = 0, b""
            try:
                while chunk := response.read(_CHUNK):
                    head = head or chunk[:4]
                    out.write(chunk)
                    received += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
            finally:
                if bar is not None:
                    bar.close()
            if total is not None and received != total:
                raise RapError(f"download of {spec.name!r} from {url} stopped after {received} of {total} bytes")
            if dest.suffix == ".pt" and head != _ZIP_MAGIC:
                raise RapError(f"{url} did not return a PyTorch checkpoint for {spec.name!r}")
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise RapError(
            f"could not download {spec.name!r} from {url}: {reason}; check the network connection, "
            f'or download the file elsewhere and point [models.paths] "{spec.name}" at it'
        ) from None
