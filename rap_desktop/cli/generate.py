"""`rap-desktop retrieve|caption|ask|recognise|ground|chat`: retrieval and the generator on a photo."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.assistant import Reply
from ..core.errors import RapError
from ..core.images import load_working
from ..core.models.generator import GenerationOptions
from ..core.names import tag
from ..core.retrieval import result_dict
from ..core.session import Session
from .text import photo_path as _path
from .text import progress as _progress


def register(sub, command) -> None:
    p = command(sub, "retrieve", retrieve, "find stored concepts in a photo (regions, matches, decisions)")
    p.add_argument("image", type=Path)
    p.add_argument("--question", help="a question; concepts it names go first")
    p.add_argument("--top-k", type=int, help="concepts for the generator (at most the model's limit)")
    p.add_argument("--refresh", action="store_true", help="detect and embed again instead of reusing regions")

    def generation_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--max-new-tokens", type=int, default=256)
        p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default): same photo, same answer")

    p = command(sub, "caption", caption, "a personalised caption of a photo (streams)")
    p.add_argument("image", type=Path)
    generation_options(p)
    p = command(sub, "ask", ask, "ask about a photo, or with --text-only about your concepts (streams)")
    p.add_argument("image", nargs="?", type=Path)
    p.add_argument("question")
    p.add_argument("--text-only", action="store_true", help="no photo: QUESTION is the only argument")
    generation_options(p)
    for name, handler, text in (
        ("recognise", recognise, 'ask the model "Is <NAME> in this image?" and parse yes / no'),
        ("ground", ground, "ask the model for NAME's bounding box, in pixels of the photo"),
    ):
        p = command(sub, name, handler, text)
        p.add_argument("image", type=Path)
        p.add_argument("name")
        generation_options(p)
    p = command(sub, "chat", chat, "multi-turn chat about a photo: one question per line, empty line ends")
    p.add_argument("image", type=Path)
    generation_options(p)


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
    reply = assistant.caption(load_working(args.image), options=_options(args), on_text=stream, path=_path(args.image))
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
