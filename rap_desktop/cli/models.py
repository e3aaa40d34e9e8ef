"""`rap-desktop models list|fetch|convert`: the model weights."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.errors import RapError
from ..core.models import convert, weights
from ..core.models.detector import detector_spec
from ..core.models.embedder import embedder_spec
from ..core.session import Session
from .text import progress as _progress


def register(sub, command) -> None:
    models = sub.add_parser("models", help="list and fetch model weights").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    command(models, "list", models_list, "each configured model, where it was looked for, present or not")
    p = command(models, "fetch", models_fetch, "download a model into the Hugging Face cache")
    p.add_argument("name")
    p = command(models, "convert", models_convert, "convert an original-layout RAP checkpoint for transformers")
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    p.add_argument("--vision-tower", help="CLIP tower folder or hub id (default: the checkpoint's mm_vision_tower)")
    p.add_argument("--template", help="chat template (default: guessed from the text model)")


def models_list(args: argparse.Namespace, session: Session) -> dict:
    registry = session.settings.registry()
    settings = session.settings
    chosen = {
        embedder_spec(registry, settings.embedder, settings.device).name,
        detector_spec(registry, settings.detector, settings.device).name,
    }
    rows = []
    for spec in registry.all():
        found = weights.resolve(spec)
        rows.append(
            {
                "name": spec.name,
                "kind": spec.kind,
                "backend": spec.backend,
                "selected": spec.name in chosen,
                "present": found.present,
                "path": str(found.path) if found.path else None,
                "looked": list(found.looked),
                "size_mb": spec.size_mb,
                "description": spec.description,
            }
        )
    lines = [
        f"{'*' if r['selected'] else ' '} {r['name']:20} {r['kind']:9} "
        f"{'present' if r['present'] else 'missing':8} {r['path'] or '; '.join(r['looked'])}"
        for r in rows
    ]
    return {"models": rows, "text": "\n".join(lines)}


def models_fetch(args: argparse.Namespace, session: Session) -> dict:
    spec = session.settings.registry().get(args.name) if args.name in session.settings.registry() else None
    if spec is None:
        known = ", ".join(s.name for s in session.settings.registry().all())
        raise RapError(f"unknown model {args.name!r}; known: {known}")
    from tqdm import tqdm

    print(f"fetching {spec.name} ({spec.size_mb} MB) from {spec.download_url or spec.hub_repo}", file=sys.stderr)
    path: Path = weights.fetch(spec, tqdm_class=tqdm)
    fetched = {spec.name: str(path)}
    tower = spec.options.get("vision_tower")
    if tower and not Path(str(tower)).is_dir():  # a generator also needs the CLIP tower it was trained with
        print(f"fetching its vision tower {tower}", file=sys.stderr)
        tower_spec = convert.vision_tower_spec(str(tower), spec.name, configs_only=convert.tower_embedded(path))
        fetched[str(tower)] = str(weights.fetch(tower_spec, tqdm_class=tqdm))
    return {"name": spec.name, "path": str(path), "fetched": fetched, "text": f"{spec.name}: {path}"}


def models_convert(args: argparse.Namespace, session: Session) -> dict:
    """An original-LLaVA-layout RAP checkpoint -> a transformers folder (the app converts on first
    use by itself; this is for doing it ahead of time or by hand)."""
    src = args.src
    if convert.detect_layout(src) == convert.TRANSFORMERS:
        raise RapError(f"{src} is already in transformers' layout: nothing to convert")
    tower_ref = args.vision_tower or convert.read_config(src).get("mm_vision_tower", "")
    tower = convert.resolve_vision_tower(str(tower_ref))
    template = args.template or convert.guess_template(src)
    out = convert.convert_checkpoint(src, args.dst, tower, template, _progress)
    return {"path": str(out), "template": template, "text": f"converted {src} -> {out}"}
