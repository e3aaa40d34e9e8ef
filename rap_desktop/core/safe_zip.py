"""Backup archives: read a zip that may be hostile, write one atomically.

The reader validates every member before anything is read and re-checks sizes while decompressing,
because a zip header can lie. There is deliberately no extract-to-disk API: callers get bytes for
known member names and decide themselves where data goes, so a member name never becomes a path.
"""

from __future__ import annotations

import copy
import os
import stat
import time
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import ArchiveError
from .fsutil import atomic_file

CHUNK = 1024 * 1024
MAX_COMPONENT = 255
MAX_NAME = 1024
RATIO_FLOOR = 1024 * 1024  # small members may compress extremely well (e.g. empty JSON lists)
STORED_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "webp", "heic", "heif", "gif"})
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_ENCRYPTED = 0x1 | 0x40  # traditional PKWARE and strong encryption flag bits
# zipfile's own exceptions for malformed input; all mean "broken archive" to the user.
_BROKEN = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error, ValueError, NotImplementedError)


@dataclass(frozen=True)
class ZipLimits:
    max_members: int = 200_000
    max_member_bytes: int = 512 * 1024 * 1024  # uncompressed size of one member
    max_total_bytes: int = 8 * 1024 * 1024 * 1024  # sum of uncompressed sizes
    max_ratio: float = 200.0  # uncompressed/compressed, per member, for members > 1 MiB uncompressed


def check_member_name(name: str) -> str:
    """The NFC-normalised POSIX relative form of `name`, or ArchiveError saying what is wrong."""
    shown = repr(name) if len(name) <= 80 else repr(name[:77] + "...")
    if not name:
        raise ArchiveError("empty member name")
    if any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in name):
        raise ArchiveError(f"member name {shown} contains a control character")
    if name.startswith("/"):
        raise ArchiveError(f"member name {shown} is an absolute path")
    if name.startswith("\\\\"):
        raise ArchiveError(f"member name {shown} is a Windows network (UNC) path")
    if len(name) >= 2 and name[1] == ":" and name[0].isascii() and name[0].isalpha():
        raise ArchiveError(f"member name {shown} starts with a Windows drive letter")
    if "\\" in name:
        raise ArchiveError(f"member name {shown} contains a backslash")
    name = unicodedata.normalize("NFC", name)
    if len(name) > MAX_NAME:
        raise ArchiveError(f"member name {shown} is longer than {MAX_NAME} characters")
    for part in name.split("/"):
        if part == "":
            raise ArchiveError(f"member name {shown} has an empty path component")
        if part in (".", ".."):
            raise ArchiveError(f"member name {shown} has a '{part}' component")
        if len(part) > MAX_COMPONENT:
            raise ArchiveError(f"member name {shown} has a component longer than {MAX_COMPONENT} characters")
    return name


class SafeZipReader:
    """Read-only view of a zip archive whose members have all been checked on open."""

    def __init__(self, path: str | os.PathLike[str], limits: ZipLimits = ZipLimits()) -> None:
        self._label = Path(path).name
        self._limits = limits
        self._read_total = 0
        try:
            self._zip = zipfile.ZipFile(path)
        except OSError as exc:
            raise ArchiveError(f"{self._label}: cannot open ({exc.strerror or exc})") from None
        except _BROKEN as exc:
            raise ArchiveError(f"{self._label}: not a zip archive or truncated ({exc})") from None
        try:
            self._members = self._validate()
        except BaseException:
            self._zip.close()
            raise

    def _fail(self, what: str) -> ArchiveError:
        return ArchiveError(f"{self._label}: {what}")

    def _validate(self) -> dict[str, zipfile.ZipInfo]:
        infos = self._zip.infolist()
        lim = self._limits
        if len(infos) > lim.max_members:
            raise self._fail(f"has {len(infos)} members, more than the limit of {lim.max_members}")
        files: dict[str, zipfile.ZipInfo] = {}
        seen: set[str] = set()
        total = 0
        for info in infos:
            raw = info.orig_filename  # zipfile cuts `filename` at a NUL; the original shows it
            kind = stat.S_IFMT(info.external_attr >> 16)
            is_dir = raw.endswith("/") or kind == stat.S_IFDIR
            try:
                name = check_member_name(raw[:-1] if raw.endswith("/") else raw)
            except ArchiveError as exc:
                raise self._fail(str(exc)) from None
            shown = repr(name)
            if name in seen:
                raise self._fail(f"member {shown} appears more than once")
            seen.add(name)
            if kind == stat.S_IFLNK:
                raise self._fail(f"member {shown} is a symbolic link")
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise self._fail(f"member {shown} is a special file (device, fifo or socket)")
            if info.flag_bits & _ENCRYPTED:
                raise self._fail(f"member {shown} is encrypted")
            if is_dir:
                continue  # folders carry no data; they are allowed and ignored
            if info.compress_type not in _METHODS:
                raise self._fail(f"member {shown} uses unsupported compression method {info.compress_type}")
            if info.file_size > lim.max_member_bytes:
                raise self._fail(f"member {shown} is {info.file_size} bytes, over {lim.max_member_bytes}")
            if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
                raise self._fail(f"member {shown} is stored but its sizes disagree")
            if info.file_size > RATIO_FLOOR and info.file_size > lim.max_ratio * info.compress_size:
                raise self._fail(f"member {shown} has a suspicious compression ratio (zip bomb?)")
            total += info.file_size
            if total > lim.max_total_bytes:
                raise self._fail(f"members add up to more than {lim.max_total_bytes} bytes")
            files[name] = info
        for name in files:  # "a" as a file and "a/b" would clash wherever the data ends up
            parts = name.split("/")
            for i in range(1, len(parts)):
                if "/".join(parts[:i]) in files:
                    raise self._fail(f"member {name!r} lies inside {'/'.join(parts[:i])!r}, which is a file")
        return files

    def names(self) -> list[str]:
        return list(self._members)

    def read(self, name: str) -> bytes:
        return b"".join(self.open_stream(name))

    def open_stream(self, name: str) -> Iterator[bytes]:
        info = self._members.get(name)
        if info is None:
            raise self._fail(f"no member {name!r}")
        return self._stream(name, info)

    def _stream(self, name: str, info: zipfile.ZipInfo) -> Iterator[bytes]:
        lim = self._limits
        # zipfile silently cuts output at the declared size (then fails the CRC, or not if it was
        # forged); lift its cap to our limit so a header that under-declares is caught by name below.
        probe = copy.copy(info)
        probe.file_size = lim.max_member_bytes + 1
        got = 0
        try:
            with self._zip.open(probe) as handle:
                while chunk := handle.read(CHUNK):
                    got += len(chunk)
                    self._read_total += len(chunk)
                    if got > info.file_size:
                        raise self._fail(f"member {name!r} holds more data than its declared size")
                    if got > lim.max_member_bytes:
                        raise self._fail(f"member {name!r} is larger than {lim.max_member_bytes} bytes")
                    if self._read_total > lim.max_total_bytes:
                        raise self._fail(f"reading exceeded {lim.max_total_bytes} bytes in total")
                    yield chunk
        except (*_BROKEN, RuntimeError) as exc:
            raise self._fail(f"member {name!r} is corrupt ({exc})") from None
        except OSError as exc:
            raise self._fail(f"cannot read member {name!r} ({exc.strerror or exc})") from None
        if got != info.file_size:
            raise self._fail(f"member {name!r} holds less data than its declared size")

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> SafeZipReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _compression_for(name: str, overrides: Mapping[str, int]) -> int:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name.rsplit("/", 1)[-1] else ""
    if ext in overrides:
        return overrides[ext]
    # Re-deflating JPEG/PNG costs CPU and saves nothing.
    return zipfile.ZIP_STORED if ext in STORED_EXTENSIONS else zipfile.ZIP_DEFLATED


def write_zip_atomic(
    path: str | os.PathLike[str],
    members: Iterable[tuple[str, bytes | Callable[[], bytes]]],
    *,
    compress_types: Mapping[str, int] | None = None,
) -> None:
    """Write `members` to a zip at `path`; the file is either complete or absent/unchanged.

    A member's data may be a callable, called only when that member is written (keeps memory low).
    `compress_types` maps a lower-case extension (no dot) to a zipfile method, overriding the default.
    """
    target = Path(path)
    overrides = {k.lower().lstrip("."): v for k, v in (compress_types or {}).items()}
    with atomic_file(target) as handle, zipfile.ZipFile(handle, "w") as archive:
        written: set[str] = set()
        for raw, data in members:
            try:
                name = check_member_name(raw)
            except ArchiveError as exc:  # name the archive being written, too
                raise ArchiveError(f"{target.name}: {exc}") from None
            if name in written:
                raise ArchiveError(f"{target.name}: member {name!r} given twice")
            written.add(name)
            info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
            info.compress_type = _compression_for(name, overrides)
            info.create_system = 3  # Unix, so the mode bits below mean "regular file"
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, data() if callable(data) else data)
