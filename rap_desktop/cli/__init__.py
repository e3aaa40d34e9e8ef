"""`rap-desktop`: the command line. Every GUI action has a twin here (see docs in README); one module
per command group (concepts, data, generate, match, models, album, eval), each with its `register`.

Exit status: 0 success, 2 bad usage or bad input (one-line reason on stderr), 1 internal failure.
A command that could do only part of its work (a backup leaving damaged photos out, a check that
found problems) prints what it did, then the reason on stderr, and exits 2.
With --json, stdout carries exactly one JSON document; logs and progress go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import traceback
from collections.abc import Callable

import rap_desktop.torch_compat  # noqa: F401  (before anything imports torchvision)

from ..core.errors import RapError
from ..core.session import Session
from .text import terminal_text
from .version import VersionAction

Handler = Callable[[argparse.Namespace, Session], object]


class UsageError(RapError):
    pass


def _common() -> argparse.ArgumentParser:
    # SUPPRESS: an option given before the sub-command is not reset by the sub-parser's default
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", default=argparse.SUPPRESS, help="data folder (or RAP_DESKTOP_HOME)")
    common.add_argument("--config", default=argparse.SUPPRESS, help="settings TOML (or RAP_DESKTOP_CONFIG)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON document")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="tracebacks on errors")
    return common


def build_parser() -> argparse.ArgumentParser:
    from . import album, concepts, data, generate, match, models, review
    from . import eval as eval_commands

    common = _common()
    parser = argparse.ArgumentParser(
        prog="rap-desktop", parents=[common], description="A local assistant that knows your own concepts."
    )
    parser.add_argument("--version", action=VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(parent, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = parent.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    # in the order `--help` lists them
    for group in (concepts, data, generate, match, models, album, review, eval_commands):
        group.register(sub, command)
    return parser


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
        from ..ui.app import run

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
