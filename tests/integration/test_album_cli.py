"""The album through the CLI: index, search, groups, caption-album --write-xmp (read back with
exiftool), bad input, and a SIGKILL mid-index followed by a rerun."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rap_desktop.cli import main
from rap_desktop.core.album import indexer as album_mod
from rap_desktop.core.images import sha256_bytes
from rap_desktop.core.xmp import clean_text
from rap_desktop.devtools.synthetic_album import add_bad_files, make_album

from .test_xmp import needs_exiftool, read_back


@pytest.fixture
def cli(home: Path, tiny_config: Path, capsys):
    def run(*args: str) -> tuple[int, object, str]:
        code = main(["--home", str(home), "--config", str(tiny_config), *args])
        out, err = capsys.readouterr()
        return code, (json.loads(out) if "--json" in args and code == 0 else out), err

    return run


@pytest.mark.slow
@needs_exiftool
def test_index_search_groups_and_captions_with_sidecars(cli, tmp_path: Path, home: Path) -> None:
    album = tmp_path / "album"
    files = make_album(album, 6, seed=3, max_side=160)
    add_bad_files(album / "bad", files[0])
    code, doc, err = cli("index", str(album), "--json")
    assert code == 0, err
    assert (doc["indexed"], len(doc["failed"])) == (6, 4) and "photos/s" in err  # progress on stderr
    assert {f["path"] for f in doc["failed"]} == {str(p) for p in (album / "bad").iterdir()}

    assert cli("concept", "add", "bo", str(files[0]), "--category", "dog")[0] == 0
    code, doc, _ = cli("search", "--concept", "bo", "--json")
    assert code == 0 and doc["photos"][0]["path"] == str(files[0]) and doc["photos"][0]["score"] > 0.999
    code, text_doc, _ = cli("search", "--text", "a dog", "--concept", "bo", "--json", "--limit", "3")
    assert code == 0 and {p["photo"] for p in text_doc["photos"]} <= {p["photo"] for p in doc["photos"]}

    code, listed, _ = cli("groups", "list", "--json", "--threshold", "0.5", "--min-size", "2")
    assert code == 0 and listed["groups"]
    first = listed["groups"][0]
    code, named, err = cli("groups", "name", str(first["id"]), "gang", "--category", "person", "--json")
    assert code == 0, err
    assert named["created"] and named["confirmed"] == first["size"]
    code, found, _ = cli("search", "--concept", "gang", "--json")
    assert sum(p["confirmed"] for p in found["photos"]) == first["photos"]
    code, again, _ = cli("rematch", "--json")  # nothing changed since the naming's re-match
    assert code == 0 and not again["full"] and again["redecided"] == 0
    code, full, _ = cli("rematch", "--full", "--json")
    assert code == 0 and full["full"] and full["redecided"] == full["regions"] == again["regions"]
    assert full["accepted"] == again["accepted"]

    before = [sha256_bytes(p.read_bytes()) for p in files]
    code, doc, err = cli("caption-album", str(album), "--write-xmp", "--max-new-tokens", "3", "--json")
    assert code == 0, err
    assert doc["captioned"] == 6 and len(doc["sidecars"]) == 6 and "caption" in err
    conn = sqlite3.connect(home / "store.sqlite3")
    for photo in files:
        sidecar = Path(f"{photo}.xmp")
        xmp = read_back(sidecar)
        photo_id, width, height = conn.execute(
            "SELECT p.id, p.width, p.height FROM photos p JOIN album_files f ON f.photo_id = p.id WHERE f.path = ?",
            (str(photo),),
        ).fetchone()
        expected = conn.execute(
            "SELECT c.name, r.x1, r.y1, r.x2, r.y2 FROM matches m JOIN regions r ON r.id = m.region_id "
            "JOIN concepts c ON c.id = m.concept_id WHERE r.photo_id = ? AND m.accepted = 1",
            (photo_id,),
        ).fetchall()
        assert sorted(set(xmp.get("Subject", []))) == sorted({n for n, *_ in expected})
        areas = sorted(
            (r["Name"], *(round(r["Area"][k], 4) for k in "XYWH"))
            for r in xmp.get("RegionInfo", {}).get("RegionList", [])
        )
        assert areas == sorted(
            (
                n,
                *(
                    round(v, 4)
                    for v in ((x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height)
                ),
            )
            for n, x1, y1, x2, y2 in expected
        )
        assert xmp["Description"] == clean_text(stored_caption(conn, photo_id))
    conn.close()
    assert [sha256_bytes(p.read_bytes()) for p in files] == before  # the photos are never rewritten
    code, again, _ = cli("caption-album", str(album), "--json")
    assert code == 0 and (again["captioned"], again["skipped"]) == (0, 6)


def stored_caption(conn: sqlite3.Connection, photo_id: int) -> str:
    return conn.execute("SELECT text FROM album_captions WHERE photo_id = ?", (photo_id,)).fetchone()[0]


def test_bad_usage_exits_2(cli, tmp_path: Path) -> None:
    code, _, err = cli("index", str(tmp_path / "missing"))
    assert code == 2 and "no such folder" in err
    code, _, err = cli("search")
    assert code == 2 and "--concept" in err
    code, _, err = cli("groups", "name", "7", "bo")
    assert code == 2 and "no group 7" in err


def _committed(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT COUNT(*) FROM album_files").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_sigkill_mid_index_then_rerun_loses_and_duplicates_nothing(tmp_path: Path, tiny_config: Path) -> None:
    album = tmp_path / "album"
    files = make_album(album, 40, seed=4, max_side=160)
    (album / "dup.jpg").write_bytes(files[5].read_bytes())
    home = tmp_path / "home"
    command = [sys.executable, "-m", "rap_desktop.cli", "--home", str(home), "--config", str(tiny_config)]
    command += ["index", str(album), "--batch", "2", "--workers", "1"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    db = home / "store.sqlite3"
    deadline = time.monotonic() + 300
    while proc.poll() is None and _committed(db) < 6 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the index finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    at_kill = _committed(db)
    assert 6 <= at_kill < 41

    rerun = subprocess.run([*command, "--json"], capture_output=True, text=True, env=os.environ.copy(), timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    doc = json.loads(rerun.stdout)
    assert doc["unchanged"] >= at_kill - 2  # at most the batch in flight is redone
    assert doc["unchanged"] + doc["indexed"] + doc["recorded"] == 41 and not doc["failed"]
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM album_files WHERE status = 'indexed'").fetchone()[0] == 41
    assert conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0] == 40  # the duplicate is one photo
    assert (
        conn.execute(
            "SELECT COUNT(*) FROM photos p WHERE NOT EXISTS (SELECT 1 FROM regions r WHERE r.photo_id = p.id)"
        ).fetchone()[0]
        == 0
    )
    # regions are numbered 1..n per photo, each once: nothing half-written, nothing doubled
    for count, top in conn.execute("SELECT COUNT(*), MAX(ordinal) FROM regions GROUP BY photo_id"):
        assert count == top
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


# --- one photo never stops a run (issue 13, items 2 and 10) -----------------------------------------


@pytest.fixture(scope="session")
def big_photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Written once per session, cheaply (flat colour): a 108-MP phone-size JPEG. (Crops of a 196-MP
    photo, which Pillow's default limit refused, are tested on the crop itself in test_images.)"""
    from PIL import Image

    folder = tmp_path_factory.mktemp("big-photos")
    out = {"jpeg": folder / "phone.jpg"}
    Image.new("RGB", (12000, 9000), (120, 60, 30)).save(out["jpeg"], quality=80)
    return out


@pytest.mark.slow
def test_big_photos_index_with_reader_threads(
    cli, tmp_path: Path, big_photos: dict[str, Path], photos
) -> None:
    album = tmp_path / "album"
    album.mkdir()
    for path in big_photos.values():
        os.symlink(path, album / path.name)  # links to the session's files: nothing copied
    bad_name = os.fsencode(album) + b"/caf\xe9.png"  # a Latin-1 file name: not UTF-8
    with open(bad_name, "wb") as handle:
        handle.write(photos["coffee"].read_bytes())
    code, doc, err = cli("index", str(album), "--json")  # default reader threads
    assert code == 0, err
    assert doc["indexed"] == 1 and [f["reason"] for f in doc["failed"]] == [album_mod.NOT_UTF8]
    assert "Warning" not in err and "warn" not in err.lower()
    code, doc, err = cli("index", str(album), "--json")
    assert code == 0 and doc["unchanged"] == 2 and len(doc["failed"]) == 1, err


def test_file_names_of_random_bytes_are_indexed_or_listed(cli, tmp_path: Path) -> None:
    # Random file-name bytes (seeded): a name that is UTF-8 is indexed, any other is listed with its
    # reason; a rerun finds all of them unchanged; the text output keeps one line per file.
    import random

    from PIL import Image

    rng = random.Random(13)
    album = tmp_path / "album"
    album.mkdir()
    expected_bad = 0
    made = set()
    while len(made) < 8:
        if len(made) % 2:  # any bytes but '/' and NUL
            raw = bytes(rng.choice([*range(1, 47), *range(48, 256)]) for _ in range(rng.randint(1, 12)))
        else:  # text: newlines, ESC, bidi overrides, accents, CJK (UTF-8, valid)
            chars = [chr(rng.choice([10, 27, 0x202E, 0xE9, 0x4E2D, rng.randrange(32, 127)])) for _ in range(6)]
            raw = "".join(chars).replace("/", "_").encode("utf-8")
        name = b"n" + raw + b".png"
        if name in made:
            continue
        made.add(name)
        colour = (len(made) * 30, rng.randrange(256), 90)
        Image.new("RGB", (24 + len(made), 24), colour).save(os.fsencode(album) + b"/" + name, "PNG")
        try:
            name.decode("utf-8")
        except UnicodeDecodeError:
            expected_bad += 1
    assert 0 < expected_bad < 8  # the seed gives both kinds
    code, doc, err = cli("index", str(album), "--json")
    assert code == 0, err
    assert doc["indexed"] + doc["recorded"] == 8 - expected_bad
    assert [f["reason"] for f in doc["failed"]] == [album_mod.NOT_UTF8] * expected_bad
    code, text, err = cli("index", str(album))
    assert code == 0, err
    assert "8 unchanged" in text and len(text.strip().splitlines()) == 2 + expected_bad  # escaped: one line each


def test_broken_link_in_an_album_is_listed(cli, tmp_path: Path, photos) -> None:
    album = tmp_path / "album"
    album.mkdir()
    (album / "ok.png").write_bytes(photos["coffee"].read_bytes())
    os.symlink(tmp_path / "gone.jpg", album / "link.jpg")
    code, doc, err = cli("index", str(album), "--json")
    assert code == 0, err
    assert [(Path(f["path"]).name, "broken link" in f["reason"]) for f in doc["failed"]] == [("link.jpg", True)]


def test_retrieve_a_photo_whose_name_is_not_utf8(cli, tmp_path: Path, photos) -> None:
    bad_name = os.fsencode(tmp_path) + b"/caf\xe9.png"
    with open(bad_name, "wb") as handle:
        handle.write(photos["coffee"].read_bytes())
    code, _, err = cli("retrieve", os.fsdecode(bad_name))
    assert code == 0, err


def test_terminal_output_is_escaped_and_errors_stay_on_one_line(cli, tmp_path: Path, photos) -> None:
    hostile = "\x1b[31mred\x1b[0m \u202eevil\u202c\x07 line\nbreak"
    assert cli("concept", "add", "bo", str(photos["coffee"]), "--info", hostile)[0] == 0
    code, out, _ = cli("concept", "list")
    assert code == 0 and "\\x1b[31mred" in out and "\\u202e" in out and "\\x07" in out
    assert not any(c in out for c in "\x1b\u202e\u202c\x07")
    code, doc, _ = cli("concept", "list", "--json")
    assert doc["concepts"][0]["info"] == hostile  # data stays as typed
    folder = tmp_path / "two\nlines"
    code, _, err = cli("index", str(folder))
    assert code == 2 and "two\\nlines" in err and len(err.strip().splitlines()) == 1, err


def test_a_settings_file_that_does_not_exist_is_refused(home: Path, tmp_path: Path, capsys) -> None:
    code = main(["--home", str(home), "--config", str(tmp_path / "typo.toml"), "concept", "list"])
    err = capsys.readouterr().err
    assert code == 2 and "typo.toml" in err and "does not exist" in err
    os.environ["XDG_CONFIG_HOME"], before = str(tmp_path / "empty"), os.environ["XDG_CONFIG_HOME"]
    try:  # the default settings file may be absent: defaults apply
        assert main(["--home", str(home), "concept", "list"]) == 0
    finally:
        os.environ["XDG_CONFIG_HOME"] = before
