"""Backup archives: round trip, atomic writes, and hostile archives refused with a clear message."""

from __future__ import annotations

import os
import re
import struct
import warnings
import zipfile
import zlib
from pathlib import Path

import pytest

from rap_desktop.core.errors import ArchiveError, RapError
from rap_desktop.core.safe_zip import SafeZipReader, ZipLimits, check_member_name, write_zip_atomic

LOCAL_SIG = b"PK\x03\x04"
CENTRAL_SIG = b"PK\x01\x02"


def make_zip(path: Path, members: list[tuple[str | zipfile.ZipInfo, bytes]], **kwargs: object) -> Path:
    """A zip built with plain zipfile, so hostile names and attributes go in unfiltered."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, **kwargs) as archive:
            for name, data in members:
                archive.writestr(name, data)
    return path


def patch_headers(path: Path, *, flags: int | None = None, crc: int | None = None, size: int | None = None):
    """Rewrite fields of the (single) member in both its local and its central header."""
    raw = bytearray(path.read_bytes())
    local, central = raw.index(LOCAL_SIG), raw.index(CENTRAL_SIG)
    # (local offset, central offset) of each field, from the zip spec (APPNOTE 4.3.7 / 4.3.12)
    for value, fmt, lo, co in ((flags, "<H", 6, 8), (crc, "<I", 14, 16), (size, "<I", 22, 24)):
        if value is not None:
            struct.pack_into(fmt, raw, local + lo, value)
            struct.pack_into(fmt, raw, central + co, value)
    path.write_bytes(bytes(raw))


def refused(path: Path, problem: str, limits: ZipLimits = ZipLimits()) -> ArchiveError:  # noqa: B008
    """Open and read everything; it must fail with a one-line message naming file and problem."""
    with pytest.raises(ArchiveError, match=re.escape(problem)) as caught, SafeZipReader(path, limits) as r:
        for name in r.names():
            r.read(name)
    message = str(caught.value)
    assert path.name in message and "\n" not in message
    assert isinstance(caught.value, RapError)
    return caught.value


def text_blob(n: int) -> bytes:
    return b"".join(b"line %d of some compressible text\n" % i for i in range(n))


# --- round trip and atomic write -------------------------------------------------------------------


def test_round_trip_and_compression_choice(tmp_path: Path) -> None:
    big = os.urandom(3_000_000)
    target = tmp_path / "backup.zip"
    members = [
        ("meta.json", b'{"version": 1}'),
        ("photos/bo/1.jpg", big),
        ("notes/cafe\u0301.txt", lambda: "caf\u00e9".encode()),  # NFD name comes back NFC
        ("db/store.sqlite", text_blob(1000)),
    ]
    write_zip_atomic(target, members)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.zip"]  # no temp file left behind

    with SafeZipReader(target) as reader:
        assert reader.names() == ["meta.json", "photos/bo/1.jpg", "notes/caf\u00e9.txt", "db/store.sqlite"]
        assert reader.read("meta.json") == b'{"version": 1}'
        assert reader.read("photos/bo/1.jpg") == big
        assert reader.read("notes/caf\u00e9.txt") == "caf\u00e9".encode()
        assert reader.read("db/store.sqlite") == text_blob(1000)
        chunks = list(reader.open_stream("photos/bo/1.jpg"))
        assert len(chunks) > 1 and b"".join(chunks) == big
        with pytest.raises(ArchiveError, match="no member 'missing'"):
            reader.read("missing")

    with zipfile.ZipFile(target) as plain:
        kinds = {info.filename: info.compress_type for info in plain.infolist()}
    assert kinds["photos/bo/1.jpg"] == zipfile.ZIP_STORED
    assert kinds["meta.json"] == kinds["db/store.sqlite"] == zipfile.ZIP_DEFLATED


def test_compress_types_override(tmp_path: Path) -> None:
    target = tmp_path / "b.zip"
    write_zip_atomic(target, [("a.json", b"{}" * 100), ("b.png", b"x")], compress_types={".json": 0})
    with zipfile.ZipFile(target) as plain:
        assert all(info.compress_type == zipfile.ZIP_STORED for info in plain.infolist())


def test_failed_write_leaves_existing_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "backup.zip"
    target.write_bytes(b"the old backup")

    def explode() -> bytes:
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        write_zip_atomic(target, [("a.txt", b"first"), ("b.txt", explode), ("c.txt", b"never")])
    with pytest.raises(ArchiveError, match=re.escape("'..' component")):
        write_zip_atomic(target, [("a.txt", b"first"), ("../evil.txt", b"x")])
    with pytest.raises(ArchiveError, match="given twice"):
        write_zip_atomic(target, [("a.txt", b"1"), ("a.txt", b"2")])
    assert target.read_bytes() == b"the old backup"
    assert [p.name for p in tmp_path.iterdir()] == ["backup.zip"]


# --- member names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "empty"),
        ("../evil", "'..' component"),
        ("a/../../evil", "'..' component"),
        ("./a", "'.' component"),
        ("a/./b", "'.' component"),
        ("/etc/passwd", "absolute"),
        ("C:\\evil", "drive letter"),
        ("C:evil", "drive letter"),
        ("\\\\host\\share\\x", "UNC"),
        ("dir\\file", "backslash"),
        ("a//b", "empty path component"),
        ("a/", "empty path component"),
        ("a\x00b", "control character"),
        ("a\nb", "control character"),
        ("a\x7fb", "control character"),
        ("x" * 256, "longer than 255"),
        ("/".join(["x" * 200] * 6), "longer than 1024"),
    ],
)
def test_bad_member_names(name: str, problem: str) -> None:
    with pytest.raises(ArchiveError, match=re.escape(problem)) as caught:
        check_member_name(name)
    assert "\n" not in str(caught.value)


def test_good_member_names() -> None:
    assert check_member_name("photos/bo/1.jpg") == "photos/bo/1.jpg"
    assert check_member_name("cafe\u0301") == "caf\u00e9"
    assert check_member_name("x" * 255) == "x" * 255
    assert check_member_name("a..b/c.") == "a..b/c."


# --- hostile archives ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../evil", "'../evil' has a '..' component"),
        ("a/../../evil", "'..' component"),
        ("/etc/passwd", "'/etc/passwd' is an absolute path"),
        ("C:\\evil", "drive letter"),
        ("\\\\host\\share\\x", "UNC"),
        ("dir\\file.txt", "backslash"),
    ],
)
def test_hostile_names_in_archive(tmp_path: Path, name: str, problem: str) -> None:
    path = make_zip(tmp_path / "evil.zip", [("ok.txt", b"fine"), (zipfile.ZipInfo(name), b"pwned")])
    refused(path, problem)


def test_nul_in_name(tmp_path: Path) -> None:
    # zipfile would silently cut the name at the NUL; patch the raw bytes in both headers.
    path = make_zip(tmp_path / "nul.zip", [("aXb.txt", b"data")])
    path.write_bytes(path.read_bytes().replace(b"aXb.txt", b"a\x00b.txt"))
    refused(path, "control character")


def test_symlink_member(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("link")
    info.create_system = 3
    info.external_attr = 0o120777 << 16
    refused(make_zip(tmp_path / "link.zip", [(info, b"/etc/passwd")]), "'link' is a symbolic link")


def test_fifo_member(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("pipe")
    info.create_system = 3
    info.external_attr = 0o010644 << 16
    refused(make_zip(tmp_path / "fifo.zip", [(info, b"")]), "'pipe' is a special file")


def test_directories_are_ignored(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "dirs.zip", [("photos/", b""), ("photos/a.txt", b"a")])
    with SafeZipReader(path) as reader:
        assert reader.names() == ["photos/a.txt"]


def test_duplicate_names(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "dup.zip", [("a.txt", b"one"), ("a.txt", b"two")])
    refused(path, "'a.txt' appears more than once")


def test_file_used_as_folder(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "clash.zip", [("a", b"file"), ("a/b", b"inside a file")])
    refused(path, "'a/b' lies inside 'a'")


def test_too_many_members(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "many.zip", [(f"{i}.txt", b"x") for i in range(4)])
    refused(path, "4 members, more than the limit of 3", ZipLimits(max_members=3))


def test_declared_size_over_limit(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "big.zip", [("big.bin", os.urandom(2000))])
    refused(path, "'big.bin' is 2000 bytes, over 1000", ZipLimits(max_member_bytes=1000))


def test_declared_total_over_limit(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "total.zip", [("a", os.urandom(600)), ("b", os.urandom(600))])
    refused(path, "add up to more than 1000 bytes", ZipLimits(max_total_bytes=1000))


def test_read_budget_counts_actual_bytes(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "budget.zip", [("a", os.urandom(1000))])
    with SafeZipReader(path, ZipLimits(max_total_bytes=1500)) as reader:
        reader.read("a")
        with pytest.raises(ArchiveError, match="exceeded 1500 bytes in total"):
            reader.read("a")


def test_compression_ratio_bomb(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "bomb.zip", [("zeros.bin", bytes(50 * 1024 * 1024))], compresslevel=9)
    refused(path, "'zeros.bin' has a suspicious compression ratio", ZipLimits(max_ratio=200))


@pytest.mark.parametrize("forge_crc", [False, True], ids=["size-only", "size-and-crc"])
def test_header_lies_about_size(tmp_path: Path, forge_crc: bool) -> None:
    payload = bytes(5 * 1024 * 1024)  # 5 MiB declared as 100 bytes
    path = make_zip(tmp_path / "liar.zip", [("liar.bin", payload)])
    patch_headers(path, size=100, crc=zlib.crc32(payload[:100]) if forge_crc else None)
    with SafeZipReader(path) as reader:
        assert reader.names() == ["liar.bin"]
        with pytest.raises(ArchiveError, match=re.escape("'liar.bin' holds more data than its declared size")):
            reader.read("liar.bin")
        stream = reader.open_stream("liar.bin")
        with pytest.raises(ArchiveError, match="more data than its declared size"):
            for chunk in stream:
                assert len(chunk) <= 100  # nothing past the declared size is ever handed out


def test_truncated_zip(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "cut.zip", [("a.txt", text_blob(2000)), ("b.txt", b"b")])
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    refused(path, "cut.zip: not a zip archive")


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "notes.zip"
    path.write_text("just some text, not an archive\n")
    refused(path, "notes.zip: not a zip archive")


def test_missing_file(tmp_path: Path) -> None:
    refused(tmp_path / "gone.zip", "gone.zip: cannot open")


def test_encrypted_member(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "locked.zip", [("secret.txt", b"secret")])
    patch_headers(path, flags=0x1)
    refused(path, "'secret.txt' is encrypted")


def test_corrupted_crc(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "crc.zip", [("a.txt", text_blob(100))])
    patch_headers(path, crc=0xDEADBEEF)
    refused(path, "'a.txt' is corrupt")


def test_refusing_never_writes_outside_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # There is no extract-to-disk API at all; reading hostile archives only ever yields bytes.
    assert not any(hasattr(SafeZipReader, attr) for attr in ("extract", "extractall"))
    archives = tmp_path / "archives"
    archives.mkdir()
    hostile = ["../evil", "a/../../evil", "/tmp/evil-rap-test", "C:\\evil", "\\\\host\\share\\evil"]
    paths = [make_zip(archives / f"{i}.zip", [(zipfile.ZipInfo(n), b"pwned")]) for i, n in enumerate(hostile)]
    link = zipfile.ZipInfo("evil-link")
    link.external_attr = 0o120777 << 16
    paths.append(make_zip(archives / "link.zip", [(link, b"/etc/passwd")]))
    work = tmp_path / "work" / "deeper"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    before = sorted(tmp_path.parent.rglob("*"))
    for path in paths:
        refused(path, "member")
    assert sorted(tmp_path.parent.rglob("*")) == before
    assert list(work.iterdir()) == []
    assert not Path("/tmp/evil-rap-test").exists()
