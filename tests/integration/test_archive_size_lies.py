"""Sizes that lie, in both directions: a backup member whose header declares more or less data than it
holds (with and without a CRC forged to match), and files of an import-rap folder whose declared size
(the file system's, or an image header's) is not what their data holds. Each is refused through the
real command line with one line on stderr and exit 2, and nothing is stored."""

from __future__ import annotations

import json
import os
import re
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from rap_desktop.cli import main
from rap_desktop.core.errors import ArchiveError, RapError
from rap_desktop.core.fsutil import read_json
from rap_desktop.core.safe_zip import SafeZipReader, write_zip_atomic

from ..unit.test_rap_import import make_reference_db

LOCAL_SIG = b"PK\x03\x04"
CENTRAL_SIG = b"PK\x01\x02"


def patch_member(path: Path, name: str, grow: int, forge_crc: bool) -> None:
    """Declare `grow` bytes more (or, negative, fewer) for member `name` than it holds, in its local
    and its central header: the uncompressed size, and for a stored member the compressed size too
    (zipfile then reads exactly that many bytes). `forge_crc`: the CRC of what will be read."""
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    local = info.header_offset
    assert raw[local : local + 4] == LOCAL_SIG
    name_length, extra_length = struct.unpack_from("<HH", raw, local + 26)
    data_start = local + 30 + name_length + extra_length
    central = next(
        i
        for i in (m.start() for m in re.finditer(re.escape(CENTRAL_SIG), raw))
        if raw[i + 46 : i + 46 + struct.unpack_from("<H", raw, i + 28)[0]] == name.encode()
    )
    size = info.file_size + grow
    fields = [(22, 24, size)]  # (local offset, central offset, value): APPNOTE 4.3.7 / 4.3.12
    if info.compress_type == zipfile.ZIP_STORED:
        fields.append((18, 20, size))
        if forge_crc:
            fields.append((14, 16, zlib.crc32(bytes(raw[data_start : data_start + size]))))
    elif forge_crc:
        data = zipfile.ZipFile(path).read(name)
        fields.append((14, 16, zlib.crc32(data[:size])))
    for lo, co, value in fields:
        struct.pack_into("<I", raw, local + lo, value)
        struct.pack_into("<I", raw, central + co, value)
    path.write_bytes(bytes(raw))


@pytest.fixture
def run(tiny_config: Path, capsys):
    def call(home: Path, *args: str) -> tuple[int, str, str]:
        code = main(["--home", str(home), "--config", str(tiny_config), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return call


@pytest.fixture(scope="module")
def pristine_backup(tiny_config: Path, tmp_path_factory: pytest.TempPathFactory, photos) -> Path:
    """A real backup of two concepts (each image stored, the manifest deflated), made once."""
    folder = tmp_path_factory.mktemp("backup")
    home = ["--home", str(folder / "source"), "--config", str(tiny_config)]
    for name, photo in (("bo", "chelsea"), ("mug", "coffee")):
        assert main([*home, "concept", "add", name, str(photos[photo])]) == 0
    assert main([*home, "export", str(folder / "backup.zip")]) == 0
    return folder / "backup.zip"


@pytest.fixture
def backup(pristine_backup: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "backup.zip"
    copy.write_bytes(pristine_backup.read_bytes())
    return copy


def _image_member(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return next(n for n in archive.namelist() if n.startswith("images/"))


def _refused_and_nothing_stored(run, home: Path, args: tuple[str, ...], *problems: str) -> str:
    code, _, err = run(home, *args)
    assert code == 2, err
    line = err.strip()
    assert "\n" not in line and any(p in line for p in problems), line
    code, out, _ = run(home, "concept", "list", "--json")
    assert code == 0 and json.loads(out)["concepts"] == []
    return line


@pytest.mark.parametrize(
    ("member", "grow", "forge_crc", "problems"),
    [
        ("manifest.json", 1000, False, ["holds less data than its declared size"]),
        ("manifest.json", 1000, True, ["holds less data than its declared size"]),
        ("manifest.json", -10, False, ["holds more data than its declared size"]),
        # the CRC forged for the declared part: read in one go, the whole member fails it
        ("manifest.json", -10, True, ["holds more data than its declared size", "corrupt (Bad CRC"]),
        # a stored member: zipfile reads the declared number of bytes, whatever follows or is missing
        ("image", 100, False, ["corrupt", "Bad CRC"]),
        ("image", 100, True, ["does not match its checksum"]),
        ("image", -100, False, ["corrupt", "Bad CRC"]),
        ("image", -100, True, ["does not match its checksum", "truncated or corrupt image data"]),
    ],
    ids=lambda v: str(v),
)
def test_backup_member_lying_about_its_size(run, backup: Path, tmp_path: Path, member, grow, forge_crc, problems):
    if member == "manifest.json":
        patch_member(backup, "manifest.json", grow, forge_crc)
        line = _refused_and_nothing_stored(run, tmp_path / "restored", ("import", str(backup)), *problems)
        assert backup.name in line
        return
    # a lying photo is left out with its reason; the sound concept is restored (exit 2: not all of it)
    patch_member(backup, _image_member(backup), grow, forge_crc)
    home = tmp_path / "restored"
    code, _, err = run(home, "import", str(backup))
    assert code == 2, err
    left_out = [line for line in err.splitlines() if "left out" in line and backup.name in line]
    assert len(left_out) == 1 and any(p in left_out[0] for p in problems), err
    code, out, _ = run(home, "concept", "list", "--json")
    assert code == 0 and len(json.loads(out)["concepts"]) == 1


@pytest.mark.parametrize("grow", [7, -7], ids=["declared-larger", "declared-smaller"])
def test_safe_zip_reader_refuses_both_directions(tmp_path: Path, grow: int) -> None:
    path = tmp_path / "a.zip"
    write_zip_atomic(path, [("notes.txt", b"some compressible text " * 50)])
    patch_member(path, "notes.txt", grow, forge_crc=False)  # the CRC stays that of all the data
    with SafeZipReader(path) as reader, pytest.raises(ArchiveError, match=r"holds (less|more) data than its declared"):
        reader.read("notes.txt")


def _lie_in_header(png: bytes, width: int | None = None, height: int | None = None) -> bytes:
    """A PNG whose IHDR declares another size than its pixel data holds (IHDR CRC recomputed)."""
    raw = bytearray(png)
    at = raw.index(b"IHDR")
    old_w, old_h = struct.unpack_from(">II", raw, at + 4)
    struct.pack_into(">II", raw, at + 4, width or old_w, height or old_h)
    struct.pack_into(">I", raw, at + 17, zlib.crc32(bytes(raw[at : at + 17])))
    return bytes(raw)


@pytest.mark.parametrize(
    ("lie", "problem"),
    [
        ({"width": 60000, "height": 60000}, "too many pixels"),  # declared far larger: refused before decoding
        ({"width": 226}, "truncated or corrupt image data"),  # rows declared shorter than the data's
    ],
    ids=["declared-larger", "declared-smaller"],
)
def test_import_rap_image_header_lying_about_its_size(run, tmp_path: Path, photos, lie, problem) -> None:
    folder = make_reference_db(tmp_path / "example_database", photos)
    (folder / "cat-cup.png").write_bytes(_lie_in_header((folder / "cat-cup.png").read_bytes(), **lie))
    line = _refused_and_nothing_stored(run, tmp_path / "home", ("import-rap", str(folder)), problem)
    assert "cat-cup.png" in line


@pytest.mark.skipif(not Path("/proc/self/environ").is_file(), reason="needs Linux /proc")
def test_json_whose_file_declares_fewer_bytes_than_it_holds(run, tmp_path: Path, photos) -> None:
    """/proc files are regular files that declare 0 bytes and hold more: the bound is on what is read."""
    environ = Path("/proc/self/environ")
    assert environ.stat().st_size == 0 and len(environ.read_bytes()) > 64
    with pytest.raises(RapError, match="too large"):
        read_json(environ, 64, "a concept database", RapError)
    folder = make_reference_db(tmp_path / "example_database", photos)
    (folder / "database.json").unlink()
    os.symlink(environ, folder / "database.json")
    _refused_and_nothing_stored(run, tmp_path / "home", ("import-rap", str(folder)), "database.json")


def test_stored_member_whose_two_sizes_disagree_is_refused_on_open(tmp_path: Path) -> None:
    """Refused before anything is read, even a member nobody would read (the manifest does not name it)."""
    path = tmp_path / "two-sizes.zip"
    write_zip_atomic(path, [("photo.png", b"\x89PNG not really, stored as it is" * 4)])  # .png: stored
    raw = bytearray(path.read_bytes())
    local, central = raw.index(LOCAL_SIG), raw.index(CENTRAL_SIG)
    compressed = struct.unpack_from("<I", raw, local + 18)[0]
    for offset in (local + 18, central + 20):  # the compressed size only: now 10 bytes more than the data
        struct.pack_into("<I", raw, offset, compressed + 10)
    path.write_bytes(bytes(raw))
    with pytest.raises(ArchiveError, match=re.escape("'photo.png' is stored but its sizes disagree")):
        SafeZipReader(path)
