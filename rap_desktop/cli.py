"""`rap-desktop`: the command line. Every GUI action has a twin here (see docs in README).

Exit status: 0 success, 2 bad usage or bad input (one-line reason on stderr), 1 internal failure.
A command that could do only part of its work (a backup leaving damaged photos out, a check that
found problems) prints what it did, then the reason on stderr, and exits 2.
With --json, stdout carries exactly one JSON document; logs and progress go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import rap_desktop.torch_compat  # noqa: F401  (before anything imports torchvision)

from . import __version__
from .core.errors import RapError
from .core.images import parse_box
from .core.session import Session

Handler = Callable[[argparse.Namespace, Session], object]


class UsageError(RapError):
    pass


def _box(text: str):
    try:
        return parse_box(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _common() -> argparse.ArgumentParser:
    # SUPPRESS: an option given before the sub-command is not reset by the sub-parser's default
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", default=argparse.SUPPRESS, help="data folder (or RAP_DESKTOP_HOME)")
    common.add_argument("--config", default=argparse.SUPPRESS, help="settings TOML (or RAP_DESKTOP_CONFIG)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON document")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="tracebacks on errors")
    return common


def build_parser() -> argparse.ArgumentParser:
    from . import cli_album, cli_eval
    from . import cli_commands as c

    common = _common()
    parser = argparse.ArgumentParser(
        prog="rap-desktop", parents=[common], description="A local assistant that knows your own concepts."
    )
    parser.add_argument("--version", action="version", version=f"rap-desktop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(parent, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = parent.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    concept = sub.add_parser("concept", help="remember, list, edit and remove concepts").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    p = command(concept, "add", c.concept_add, "register a new concept from one photo")
    p.add_argument("name")
    p.add_argument("image", type=Path)
    p.add_argument("--info", default="", help="a short description (use <name> to refer to it)")
    p.add_argument("--category", default="", help="one word the detector can look for: dog, person, mug")
    p.add_argument("--box", type=_box, help="X1,Y1,X2,Y2 in pixels of the photo (default: whole photo)")
    p = command(concept, "add-image", c.concept_add_image, "add another photo of a concept")
    p.add_argument("name")
    p.add_argument("image", type=Path)
    p.add_argument("--box", type=_box)
    command(concept, "list", c.concept_list, "list concepts")
    p = command(concept, "edit", c.concept_edit, "rename a concept or change its info / category")
    p.add_argument("name")
    p.add_argument("--rename")
    p.add_argument("--info")
    p.add_argument("--category")
    p = command(concept, "remove", c.concept_remove, "remove a concept and its images")
    p.add_argument("name")

    p = command(sub, "import-rap", c.import_rap, "import a RAP reference database folder (database.json)")
    p.add_argument("folder", type=Path)
    p.add_argument("--skip-existing", action="store_true", help="leave out concepts whose name is taken")
    p = command(sub, "export", c.export, "write a full backup zip")
    p.add_argument("file", type=Path)
    p = command(sub, "import", c.import_backup, "restore concepts from a backup zip")
    p.add_argument("file", type=Path)
    p.add_argument("--skip-existing", action="store_true", help="leave out concepts whose name is taken")
    command(sub, "check", c.check, "check the data folder for damage")

    p = command(sub, "retrieve", c.retrieve, "find stored concepts in a photo (regions, matches, decisions)")
    p.add_argument("image", type=Path)
    p.add_argument("--question", help="a question; concepts it names go first")
    p.add_argument("--top-k", type=int, help="concepts for the generator (at most the model's limit)")
    p.add_argument("--refresh", action="store_true", help="detect and embed again instead of reusing regions")

    def generation_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--max-new-tokens", type=int, default=256)
        p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default): same photo, same answer")

    p = command(sub, "caption", c.caption, "a personalised caption of a photo (streams)")
    p.add_argument("image", type=Path)
    generation_options(p)
    p = command(sub, "ask", c.ask, "ask about a photo, or with --text-only about your concepts (streams)")
    p.add_argument("image", nargs="?", type=Path)
    p.add_argument("question")
    p.add_argument("--text-only", action="store_true", help="no photo: QUESTION is the only argument")
    generation_options(p)
    for name, handler, text in (
        ("recognise", c.recognise, 'ask the model "Is <NAME> in this image?" and parse yes / no'),
        ("ground", c.ground, "ask the model for NAME's bounding box, in pixels of the photo"),
    ):
        p = command(sub, name, handler, text)
        p.add_argument("image", type=Path)
        p.add_argument("name")
        generation_options(p)
    p = command(sub, "chat", c.chat, "multi-turn chat about a photo: one question per line, empty line ends")
    p.add_argument("image", type=Path)
    generation_options(p)

    match = sub.add_parser("match", help="correct retrieval: confirm, reject, reassign, undo").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    for name, handler, text in (
        ("confirm", c.match_confirm, "the region shows its accepted concept (or --concept)"),
        ("reject", c.match_reject, "the region does not show its accepted concept (or --concept)"),
    ):
        p = command(match, name, handler, text)
        p.add_argument("photo", help="photo path or content hash (as printed by retrieve --json)")
        p.add_argument("region", help="region id, e.g. r1")
        p.add_argument("--concept", help="the concept meant (default: the region's accepted one)")
    p = command(match, "reassign", c.match_reassign, "the region shows NAME (created from the region if new)")
    p.add_argument("photo")
    p.add_argument("region")
    p.add_argument("name")
    p.add_argument("--info", default="", help="description, when NAME is a new concept")
    p.add_argument("--category", help="category, when NAME is a new concept (default: the detector label)")
    command(match, "undo", c.match_undo, "take back the last correction")

    models = sub.add_parser("models", help="list and fetch model weights").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    command(models, "list", c.models_list, "each configured model, where it was looked for, present or not")
    p = command(models, "fetch", c.models_fetch, "download a model into the Hugging Face cache")
    p.add_argument("name")
    p = command(models, "convert", c.models_convert, "convert an original-layout RAP checkpoint for transformers")
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    p.add_argument("--vision-tower", help="CLIP tower folder or hub id (default: the checkpoint's mm_vision_tower)")
    p.add_argument("--template", help="chat template (default: guessed from the text model)")
    cli_album.register(sub, command)
    cli_eval.register(sub, command)
    return parser


# Control characters, bidi overrides, line separators and lone surrogates (file names that are not
# UTF-8): printed raw they would recolour or reorder the terminal, or split a one-line message.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_LINE = re.compile(_UNSAFE.pattern[:-1] + "\t\n]")


def terminal_text(text: str, one_line: bool = False) -> str:
    """`text` safe to print on a terminal: what could act on it is shown escaped (\\x1b, \\u202e, \\n)."""
    pattern = _UNSAFE_LINE if one_line else _UNSAFE
    return pattern.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _emit(result: object, as_json: bool) -> None:
    if result is None:
        return
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    else:
        text = result.get("text") if isinstance(result, dict) else str(result)
        if text:
            sys.stdout.write(terminal_text(text.rstrip("\n")) + "\n")


_RESCUE = "see where with: rap-desktop check; save what is readable with: rap-desktop export rescue.zip"
# what SQLite says when the file's content, not our SQL, is wrong
_DAMAGE = ("malformed", "could not decode to utf-8", "file is not a database", "disk image")


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    return any(word in str(exc).lower() for word in _DAMAGE)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        from .ui.app import run

        return run()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 for bad usage, 0 for --help
        return int(exc.code or 0)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 2
    as_json = getattr(args, "json", False)
    session = None
    try:
        session = Session.open(getattr(args, "home", None), getattr(args, "config", None))
        session.notice = lambda text: print(f"rap-desktop: warning: {text}", file=sys.stderr)
        result = args.handler(args, session)
        # "error": the command did what it could (a usable backup, a check report) but not all of it
        failure = result.pop("error", None) if isinstance(result, dict) else None
        if as_json and isinstance(result, dict):
            result.pop("text", None)
        _emit(result, as_json)
        if failure:
            print(f"rap-desktop: {failure}", file=sys.stderr)
            return 2
        # a run Ctrl-C cancelled between batches reports what it did, and still exits as interrupted
        return 130 if isinstance(result, dict) and result.get("interrupted") else 0
    except RapError as exc:
        print(f"rap-desktop: {terminal_text(str(exc), one_line=True)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rap-desktop: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if isinstance(exc, sqlite3.DatabaseError) and _damaged(exc):
            print(f"rap-desktop: the data folder's database is damaged ({exc}); {_RESCUE}", file=sys.stderr)
            return 2
        if isinstance(exc, UnicodeEncodeError) and "surrogates" in str(exc):
            # a file name or argument that is not UTF-8 reached a place that keeps text (SQLite)
            print("rap-desktop: a file name or argument is not valid UTF-8; rename it and try again", file=sys.stderr)
            return 2
        if getattr(args, "debug", False) or os.environ.get("RAP_DESKTOP_DEBUG"):
            traceback.print_exc()
        print(f"rap-desktop: internal error: {type(exc).__name__}: {terminal_text(str(exc), True)}", file=sys.stderr)
        return 1
    finally:
        if session is not None:
            try:
                session.close()
            except Exception as exc:  # never mask the command's own outcome
                print(f"rap-desktop: warning: closing the store failed: {exc}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
