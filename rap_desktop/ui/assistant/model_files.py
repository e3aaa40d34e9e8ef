"""What the models dialog shows and does, without Qt: which models the settings need, where each
was looked for and where a download would go; fetching with progress and cancel; pointing the
settings file at a local copy. Everything here touches the disk or the network: run it off the GUI
thread (io lane)."""

from __future__ import annotations

import io
import os
import shutil
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import tomli_w
from tqdm import tqdm

from rap_desktop.core.cancel import CancelToken
from rap_desktop.core.errors import RapError
from rap_desktop.core.fsutil import write_atomic
from rap_desktop.core.models import weights
from rap_desktop.core.models.registry import ModelSpec
from rap_desktop.core.paths import config_file
from rap_desktop.core.settings import Settings, load_settings

# what each model is for, in a family's words: the table's first column, and within a sentence
WHAT_IT_DOES = {
    "embedder": "Recognises people and things",
    "detector": "Finds regions in a photo",
    "generator": "Writes captions and answers",
    "vision tower": "Lets the caption writer see photos (set up once)",
}
PURPOSE = {
    "embedder": "recognising people and things",
    "detector": "finding regions in a photo",
    "generator": "writing captions and answers",
    "vision tower": "setting up the caption writer (once)",
}

Progress = Callable[[str, int, int | None], None]  # what, bytes (or files) done, total


@dataclass(frozen=True)
class ModelRow:
    role: str  # embedder | detector | generator | vision tower
    spec: ModelSpec
    found: weights.Resolution
    destination: str  # where a download would go

    @property
    def purpose(self) -> str:
        return PURPOSE[self.role]

    @property
    def what_it_does(self) -> str:
        return WHAT_IT_DOES[self.role]

    @property
    def state(self) -> str:
        """On this computer or not, and what can be done about it, in words."""
        if self.found.present:
            return "On this computer"
        if self.spec.download_url or self.spec.hub_repo:
            return "Not here yet: can be downloaded"
        return "Not here yet: needs a folder that holds it"

    @property
    def technical(self) -> str:
        """The model's id and where it comes from: for the tooltip and Details, never the table."""
        source = self.spec.hub_repo or self.spec.download_url or self.spec.local_path or "a local model"
        files = ", ".join(self.spec.files[:3]) + (" …" if len(self.spec.files) > 3 else "")
        return f"{self.spec.name} ({self.role}) from {source}" + (f"; files: {files}" if files else "")


def needed_models(settings: Settings) -> list[ModelRow]:
    """The models the settings select, each resolved; plus the generator's CLIP tower while the
    generator itself is missing (it is needed to convert the download)."""
    from rap_desktop.core.models.convert import vision_tower_spec
    from rap_desktop.core.models.detector import detector_spec
    from rap_desktop.core.models.embedder import embedder_spec
    from rap_desktop.core.models.generator import generator_spec

    registry, device = settings.registry(), settings.device
    specs = [
        ("embedder", embedder_spec(registry, settings.embedder, device)),
        ("detector", detector_spec(registry, settings.detector, device)),
        ("generator", generator_spec(registry, settings.generator, device)),
    ]
    rows = [ModelRow(role, spec, weights.resolve(spec), destination(spec)) for role, spec in specs]
    generator = rows[-1]
    tower = str(generator.spec.options.get("vision_tower", ""))
    if not generator.found.present and tower and not Path(tower).is_dir():
        configs_only = bool(generator.spec.options.get("tower_in_checkpoint"))
        spec = vision_tower_spec(tower, generator.spec.name, configs_only=configs_only)
        rows.append(ModelRow("vision tower", spec, weights.resolve(spec), destination(spec)))
    return rows


def destination(spec: ModelSpec) -> str:
    if spec.download_url:  # saved under its first listed file name, else the URL's (as weights.fetch does)
        name = spec.files[0] if spec.files else spec.download_url.rsplit("/", 1)[-1]
        return str(weights.weights_cache_dir() / name)
    if spec.hub_repo:
        return str(weights.hub_cache_dir() / ("models--" + spec.hub_repo.replace("/", "--")))
    return "nowhere: a local model has no download source"


class DownloadCancelled(RapError):
    def __init__(self, name: str) -> None:
        super().__init__(f"download of {name!r} cancelled; nothing half-written was kept")


def progress_class(name: str, report: Progress, cancel: CancelToken) -> type[tqdm]:
    """A tqdm class for `weights.fetch`: reports each update and raises when cancelled (the
    download then unwinds: the temp file of a URL download is removed)."""

    class _Bar(tqdm):
        monitor_interval = 0  # no tqdm monitor thread left behind

        def __init__(self, *args, **kwargs) -> None:
            kwargs.update(file=io.StringIO(), mininterval=0, delay=0, disable=False)
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1) -> bool | None:
            if cancel.cancelled:
                raise DownloadCancelled(name)
            done = super().update(n)
            report(str(self.desc or name), int(self.n), int(self.total) if self.total else None)
            return done

    return _Bar


def fetch(spec: ModelSpec, report: Progress, cancel: CancelToken) -> Path:
    """Download one model (a generator also gets its vision tower, as `models fetch` does)."""
    from rap_desktop.core.models.convert import tower_embedded, vision_tower_spec

    path = weights.fetch(spec, tqdm_class=progress_class(spec.name, report, cancel))
    tower = str(spec.options.get("vision_tower", "")) if spec.kind == "generator" else ""
    if tower and not Path(tower).is_dir() and not cancel.cancelled:
        # only its configs when the checkpoint holds the tower's weights (1.7 GB less)
        tower_spec = vision_tower_spec(tower, spec.name, configs_only=tower_embedded(path))
        weights.fetch(tower_spec, tqdm_class=progress_class(tower_spec.name, report, cancel))
    if cancel.cancelled:
        raise DownloadCancelled(spec.name)
    return path


def settings_path(settings: Settings) -> Path:
    return settings.source or config_file(None)


def use_local_copy(settings: Settings, spec: ModelSpec, path: Path) -> Settings:
    """Check `path` holds the model, then write `[models.paths] NAME = path` into the settings file
    and return the settings re-read from it. (The file is rewritten from its parsed content, so
    comments in it are not kept.)"""
    found = weights.resolve(spec.with_path(str(path)))
    if not found.present:
        raise RapError(f"{path} does not hold {spec.name!r}: {'; '.join(found.looked)}")
    target = settings_path(settings)
    data: dict = {}
    if target.exists():
        try:
            data = tomllib.loads(target.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise RapError(f"settings file {target} cannot be updated: {exc}") from None
    data.setdefault("schema", 1)
    data.setdefault("models", {}).setdefault("paths", {})[spec.name] = str(Path(path).resolve())
    try:
        write_atomic(target, tomli_w.dumps(data).encode("utf-8"))
    except OSError as exc:
        raise RapError(f"cannot write the settings file {target}: {exc.strerror or exc}") from None
    return load_settings(target)


# --- the same, in a person's words -------------------------------------------------------------

OFFLINE = "This computer is offline, so nothing can be downloaded now."
_OFFLINE_HINTS = ("offline", "connection", "resolve", "network", "unreachable", "timed out", "max retries")


def offline() -> bool:
    """The app was told to stay off the network (the hub's own switch)."""
    return any(os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on") for var in _OFFLINE_ENV)


_OFFLINE_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def download_trouble(raw: str) -> str:
    """One plain sentence for a failed download (the raw error goes behind "Details")."""
    lowered = raw.lower()
    if offline() or any(hint in lowered for hint in _OFFLINE_HINTS):
        return OFFLINE
    if "space" in lowered or "disk" in lowered:
        return "There is not enough free disk space for this download."
    return "The download did not work. Try again later, or use a folder you already have."


def free_space(place: str | Path) -> int | None:
    """Bytes free on the disk that `place` (or its nearest existing folder) is on."""
    path = Path(place)
    for folder in (path, *path.parents):
        if folder.exists():
            try:
                return shutil.disk_usage(folder).free
            except OSError:
                return None
    return None


def expected_names(spec: ModelSpec) -> str:
    """What "Use a folder…" looks for, in words: the file, or a folder holding these files."""
    if spec.download_url:
        return f'the file "{spec.files[0] if spec.files else spec.download_url.rsplit("/", 1)[-1]}"'
    if spec.files:
        shown = ", ".join(f'"{name}"' for name in spec.files[:3]) + (" …" if len(spec.files) > 3 else "")
        return f"a folder holding {shown}"
    return f'a folder named "{spec.name}"'


def size_words(mb: int) -> str:
    return f"{mb / 1000:.1f} GB" if mb >= 1000 else f"{mb} MB"


def size_in_words(mb: int) -> str:
    """A download's size for the table: "about 1.7 GB", "about 30 MB"; unknown when not listed."""
    return f"about {size_words(mb)}" if mb else "size not known"


def first_start_text(rows: list[ModelRow]) -> str:
    """What the app needs, how big, where it goes and how much room is there: for a first start."""
    missing = [row for row in rows if not row.found.present]
    if not missing:
        return "Everything RAP Desktop needs is on this computer."
    total = sum(row.spec.size_mb for row in missing)
    uses = "; ".join(dict.fromkeys(row.purpose for row in missing))
    where = Path(missing[0].destination).parent
    free = free_space(where)
    room = f" That disk has {size_words(int(free / 1e6))} free." if free is not None else ""
    text = (
        f"RAP Desktop needs {len(missing)} more model file{'s' if len(missing) > 1 else ''} "
        f"({size_words(total)} in all) for {uses}. They are downloaded once, into {where}.{room}"
    )
    if offline():
        names = "\n".join(f"  • for {row.purpose}: {expected_names(row.spec)}" for row in missing)
        text += (
            f"\n\n{OFFLINE}\nIf you have the models on a disk, select one below, "
            f'choose "Use a folder…" and pick\n{names}'
        )
    return text
