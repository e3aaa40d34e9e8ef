"""The CLI's command handlers: core calls in, plain dicts out (with a `text` for people)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import cli_album
from .cli import terminal_text
from .core import backup, corrections, health, rap_import
from .core.assistant import Reply
from .core.errors import RapError
from .core.fsutil import is_text
from .core.images import load_working, sha256_bytes
from .core.models import convert, weights
from .core.models.detector import detector_spec
from .core.models.embedder import embedder_spec
from .core.models.generator import GenerationOptions
from .core.names import tag
from .core.retrieval import result_dict
from .core.session import Session
from .core.store import AddResult, Concept, ImportReport


def _warn(text: str) -> None:
    if text:
        print(f"rap-desktop: warning: {terminal_text(text, one_line=True)}", file=sys.stderr)


def _path(image: Path) -> str | None:
    """The photo's path to remember with it, when it can be stored as text (not UTF-8: none)."""
    path = str(image.resolve())
    return path if is_text(path) else None


def concept_dict(c: Concept) -> dict:
    return {
        "name": c.name,
        "info": c.info,
        "category": c.category,
        "exemplars": c.exemplar_count,
        "created": c.created,
        "updated": c.updated,
    }


def _added(result: AddResult) -> dict:
    _warn(result.warning)
    return {
        "concept": concept_dict(result.concept),
        "exemplar": {"id": result.exemplar.id, "image": result.exemplar.image, "box": result.exemplar.box},
        "embedded": result.embedded,
    }


def concept_add(args: argparse.Namespace, session: Session) -> dict:
    result = session.store().add_concept(args.name, args.image, args.info, args.category, args.box)
    cli_album.after_change(session)
    return {**_added(result), "text": f"added {tag(result.concept.name)}"}


def concept_add_image(args: argparse.Namespace, session: Session) -> dict:
    result = session.store().add_exemplar(args.name, args.image, args.box)
    cli_album.after_change(session)
    n = result.concept.exemplar_count
    return {**_added(result), "text": f"{tag(result.concept.name)} now has {n} image{'s' * (n != 1)}"}


def concept_list(args: argparse.Namespace, session: Session) -> dict:
    concepts = session.store(with_embedder=False).list_concepts()
    lines = [f"{tag(c.name):24} {c.category or '-':12} {c.exemplar_count:3}  {c.info}" for c in concepts]
    text = "\n".join(lines) if lines else "no concepts yet; add one with `rap-desktop concept add NAME IMAGE`"
    return {"concepts": [concept_dict(c) for c in concepts], "text": text}


def concept_edit(args: argparse.Namespace, session: Session) -> dict:
    if args.rename is None and args.info is None and args.category is None:
        raise RapError("nothing to change: give --rename, --info or --category")
    concept = session.store(with_embedder=False).edit_concept(args.name, args.rename, args.info, args.category)
    cli_album.after_change(session)
    return {"concept": concept_dict(concept), "text": f"updated {tag(concept.name)}"}


def concept_remove(args: argparse.Namespace, session: Session) -> dict:
    concept = session.store(with_embedder=False).remove_concept(args.name)
    cli_album.after_change(session)
    return {"removed": concept.name, "text": f"removed {tag(concept.name)}"}


def _imported(report: ImportReport, verb: str) -> dict:
    for result in report.added[:1]:  # one warning covers the batch (same embedder for all)
        _warn(result.warning)
    for line in report.left_out:
        _warn(line)
    for note in report.notes:
        _warn(note)
    names = [r.concept.name for r in report.added]
    text = f"{verb} {len(names)} concept(s): {', '.join(map(tag, names))}"
    if report.skipped:
        text += f"\nskipped (already present): {', '.join(map(tag, report.skipped))}"
    doc = {"imported": names, "skipped": report.skipped, "left_out": report.left_out, "text": text}
    if report.left_out:
        doc["error"] = f"{len(report.left_out)} damaged item(s) were not {verb} (listed above); the rest was"
    return doc


def import_rap(args: argparse.Namespace, session: Session) -> dict:
    report = rap_import.import_rap(session.store(), args.folder, args.skip_existing)
    cli_album.after_change(session)
    return _imported(report, "imported")


def export(args: argparse.Namespace, session: Session) -> dict:
    report = backup.export_zip(session.store(with_embedder=False), args.file)
    for line in report.left_out:
        _warn(line)
    count = report.concepts
    doc = {"file": str(args.file), "concepts": count, "left_out": report.left_out}
    doc["text"] = f"wrote {count} concept(s) to {args.file}"
    if report.left_out:  # the backup is still usable: everything sound is in it
        left = len(report.left_out)
        doc["error"] = f"{left} damaged item(s) left out of {args.file} (listed above); the rest is in it"
    return doc


def import_backup(args: argparse.Namespace, session: Session) -> dict:
    report = backup.import_zip(session.store(), args.file, args.skip_existing)
    cli_album.after_change(session)
    return _imported(report, "restored")


def retrieve(args: argparse.Namespace, session: Session) -> dict:
    loaded = load_working(args.image)
    result = session.retriever().retrieve(
        loaded, args.question, args.top_k, path=_path(args.image), refresh=args.refresh
    )
    doc = result_dict(result)
    lines = [f"photo {result.photo[:12]}  threshold {result.threshold:.2f} ({result.model})"]
    for r in doc["regions"]:
        best = ", ".join(f"{tag(m['concept'])} {m['similarity']:.2f} {m['decision']}" for m in r["matches"][:3])
        lines.append(f"  {r['id']:4} {r['label']:12} {r['score']:.2f} {r['box']}  {best or 'no concepts stored'}")
    chosen = ", ".join(f"{tag(c['name'])} ({c['reason']})" for c in doc["concepts"]) or "none"
    lines.append(f"concepts for the generator: {chosen}")
    return {**doc, "text": "\n".join(lines)}


def _options(args: argparse.Namespace) -> GenerationOptions:
    return GenerationOptions(max_new_tokens=args.max_new_tokens, temperature=args.temperature)


def _stream(args: argparse.Namespace):
    """Tokens go to stdout as they come, unless stdout must hold one JSON document."""
    if getattr(args, "json", False):
        return None

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    return write


def _progress(stage: str, fraction: float) -> None:
    print(f"rap-desktop: {stage} {100 * fraction:.0f}%", file=sys.stderr)


def _reply(reply: Reply, streamed: bool) -> dict:
    concepts = [
        {"name": c.name, "reason": c.reason, **({"region": c.region} if c.region else {})} for c in reply.concepts
    ]
    return {
        "answer": reply.text,
        "concepts": concepts,
        "prompt": reply.prompt,
        "model": reply.model,
        "tokens": reply.answer.tokens,
        "text": "" if streamed else reply.text,
    }


def _assistant(session: Session):
    """The assistant with its generator loaded, saying on stderr what runs where (CPU runs are slow)."""
    assistant = session.assistant(_progress)
    assistant.generator.load()
    print(f"rap-desktop: generator {assistant.generator.label}", file=sys.stderr)
    return assistant


def caption(args: argparse.Namespace, session: Session) -> dict:
    stream = _stream(args)
    assistant = _assistant(session)
    reply = assistant.caption(
        load_working(args.image), options=_options(args), on_text=stream, path=_path(args.image)
    )
    if stream:
        print()
    return _reply(reply, stream is not None)


def ask(args: argparse.Namespace, session: Session) -> dict:
    stream = _stream(args)
    if args.text_only:
        if args.image is not None:
            raise RapError("--text-only takes just the QUESTION, no photo")
        reply = _assistant(session).ask_text_only(args.question, _options(args), stream)
    else:
        if args.image is None:
            raise RapError("give a photo and a question, or --text-only QUESTION")
        reply = _assistant(session).ask(
            load_working(args.image), args.question, _options(args), stream, path=_path(args.image)
        )
    if stream:
        print()
    return _reply(reply, stream is not None)


def recognise(args: argparse.Namespace, session: Session) -> dict:
    """ "Is <NAME> in this image?" answered by the model, parsed to yes / no (null when unclear)."""
    session.store().get_concept(args.name)  # a wrong name is bad input, said before any model loads
    found, reply = _assistant(session).recognise(
        load_working(args.image), args.name, options=_options(args), path=_path(args.image)
    )
    word = {True: "yes", False: "no", None: "unclear"}[found]
    return {**_reply(reply, False), "present": found, "text": f"{word}  ({reply.text!r})"}


def ground(args: argparse.Namespace, session: Session) -> dict:
    """ "Give <NAME>'s bounding box": the model's [x1, y1, x2, y2] mapped to pixels (null if none)."""
    session.store().get_concept(args.name)
    box, reply = _assistant(session).ground(
        load_working(args.image), args.name, options=_options(args), path=_path(args.image)
    )
    shown = ",".join(f"{v:.0f}" for v in box) if box else "no box in the answer"
    return {**_reply(reply, False), "box": list(box) if box else None, "text": f"{shown}  ({reply.text!r})"}


def chat(args: argparse.Namespace, session: Session) -> dict:
    assistant = _assistant(session)
    photo = load_working(args.image)
    reply = None
    turns = []
    while True:
        print("> ", end="", file=sys.stderr, flush=True)
        line = sys.stdin.readline()
        if not line.strip():
            break
        stream = _stream(args)
        if reply is None:
            reply = assistant.ask(photo, line.strip(), _options(args), stream, path=_path(args.image))
        else:
            reply = assistant.follow_up(reply, line.strip(), options=_options(args), on_text=stream)
        if stream:
            print()
        turns.append({"question": line.strip(), "answer": reply.text})
    return {"turns": turns, "prompt": reply.prompt if reply else "", "text": ""}


def _photo(ref: str) -> str:
    """A photo given as a file is looked up by its content, so a moved file still matches."""
    path = Path(ref)
    return sha256_bytes(path.read_bytes()) if path.is_file() else ref


def _correction(done: corrections.Correction, session: Session) -> dict:
    cli_album.after_change(session)  # a correction teaches retrieval: the album follows at once
    return {"correction": done.id, "action": done.action, "summary": done.summary, "text": done.summary}


def match_confirm(args: argparse.Namespace, session: Session) -> dict:
    return _correction(corrections.confirm(session.store(), _photo(args.photo), args.region, args.concept), session)


def match_reject(args: argparse.Namespace, session: Session) -> dict:
    return _correction(corrections.reject(session.store(), _photo(args.photo), args.region, args.concept), session)


def match_reassign(args: argparse.Namespace, session: Session) -> dict:
    store = session.store()
    return _correction(
        corrections.reassign(store, _photo(args.photo), args.region, args.name, args.info, args.category), session
    )


def match_undo(args: argparse.Namespace, session: Session) -> dict:
    return _correction(corrections.undo(session.store()), session)


def check(args: argparse.Namespace, session: Session) -> dict:
    problems = session.store(with_embedder=False).check()
    if problems:
        error = f"{session.home} has {len(problems)} problem(s) (listed above); {health.RESCUE}"
        return {"ok": False, "problems": problems, "text": "\n".join(problems), "error": error}
    return {"ok": True, "problems": [], "text": f"{session.home}: ok"}


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
