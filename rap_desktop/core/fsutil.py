"""Crash-safe file writes: a file is complete on disk before anything names it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

TEMP_MARK = ".tmp-"
TEMP_HEX = 12  # atomic_file's temp names: "<name>.tmp-" + 12 hex digits, nothing else


def read_json(path: Path, max_bytes: int, what: str, error: type[Exception]) -> Any:
    """A JSON file given by a user: bounded in size, and one plain error for every way it is bad."""
    if path.stat().st_size > max_bytes:  # an OSError is the caller's to word
        raise error(f"{path} is too large to be {what}")
    with path.open("rb") as handle:  # the size a file declares can be smaller than its data (/proc, growing)
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise error(f"{path} is too large to be {what}")
    return parse_json(data, str(path), error)


def parse_json(data: bytes, where: str, error: type[Exception]) -> Any:
    """JSON from a file a user gave; every way it can be bad is `error` with one plain line. Bytes in:
    UTF-8 with or without a BOM (as some editors write it)."""
    try:
        return json.loads(data)
    except RecursionError:
        raise error(f"{where} is nested too deeply to be read") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{where} is not valid JSON ({exc})") from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise error(f"{where} holds a value that cannot be read ({exc})") from None


def text_path(path: str) -> str:
    """`path` as text that SQLite and messages can hold: the bytes of a file name that are not UTF-8
    (which Python carries as lone surrogates) become \\xNN escapes."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    return path


def is_text(path: str) -> bool:
    """True when `path` can be stored and shown as it is (valid UTF-8)."""
    return text_path(path) == path


def fsync_dir(folder: Path) -> None:
    # The rename itself is only durable once the folder entry is flushed (POSIX).
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A handle to a temp file beside `path`; on success it is fsynced and renamed over `path`
    (then the folder is fsynced). On any exception the temp file goes and `path` is untouched."""
    temp = path.with_name(f"{path.name}{TEMP_MARK}{secrets.token_hex(TEMP_HEX // 2)}")
    try:
        with open(temp, "xb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    fsync_dir(path.parent)


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as handle:
        handle.write(data)


def temp_files(path: Path) -> list[Path]:
    """The temp files atomic_file may have left beside `path` (a crash mid-write): exactly its names."""
    pattern = re.compile(re.escape(path.name + TEMP_MARK) + f"[0-9a-f]{{{TEMP_HEX}}}")
    with contextlib.suppress(OSError):
        return [p for p in path.parent.glob(path.name + TEMP_MARK + "*") if pattern.fullmatch(p.name)]
    return []
