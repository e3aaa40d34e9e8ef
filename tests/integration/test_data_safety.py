"""Nothing lost: what the data folder commands do with files the app did not make, a lost or damaged
store, damaged photos, hostile paths in the store, and a data folder that cannot be written."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from rap_desktop.cli import main


@pytest.fixture
def cli(home: Path, tiny_config: Path, capsys):
    def run(*args: str, at: Path | None = None) -> tuple[int, str, str]:
        code = main(["--home", str(at or home), "--config", str(tiny_config), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, tiny_config: Path, photos: dict[str, Path]) -> Path:
    """A data folder with three concepts (one with two photos), made once and copied per test."""
    home = tmp_path_factory.mktemp("template") / "home"
    for args in (
        ["concept", "add", "bo", str(photos["chelsea"]), "--category", "cat"],
        ["concept", "add", "mug", str(photos["coffee"])],
        ["concept", "add-image", "mug", str(photos["rocket"])],
        ["concept", "add", "astro", str(photos["astronaut"])],
    ):
        assert main(["--home", str(home), "--config", str(tiny_config), *args]) == 0
    return home


@pytest.fixture
def filled(home: Path, template: Path) -> Path:
    shutil.rmtree(home)
    shutil.copytree(template, home)
    return home


def _images(home: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in (home / "images").rglob("*") if p.is_file()}


def _rows(home: Path, sql: str, args: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(home / "store.sqlite3")
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _execute(home: Path, sql: str, args: tuple = ()) -> None:
    conn = sqlite3.connect(home / "store.sqlite3")
    with conn:
        conn.execute(sql, args)
    conn.close()


def _path_of(home: Path, concept: str) -> Path:
    (image,) = _rows(
        home, "SELECT e.image FROM exemplars e JOIN concepts c ON c.id = e.concept_id WHERE c.name=?", (concept,)
    )[0]
    return home / "images" / image[:2] / image


# --- 1. never delete what the app did not make -----------------------------------------------------


def _user_files(rng: random.Random, images: Path) -> dict[Path, bytes]:
    """Files a user (or another tool) put under images/, some named just like the app's own."""
    made: dict[Path, bytes] = {}
    for i in range(12):
        shape = rng.randrange(5)
        digest = "".join(rng.choice("0123456789abcdef") for _ in range(64))
        name = {
            0: f"holiday-{i}.jpg",
            1: f"{digest}.png",  # the app's naming, content not matching: not the app's
            2: f"{digest}.jpg.tmp-{digest[:12]}",  # the app's temp naming, never journaled
            3: f"notes {i}.txt",
            4: f".hidden-{i}",
        }[shape]
        folder = images / (digest[:2] if shape in (1, 2) else rng.choice(["", "mine", "mine/deeper"]))
        folder.mkdir(parents=True, exist_ok=True)
        made[folder / name] = rng.randbytes(rng.randrange(1, 300))
    for path, data in made.items():
        path.write_bytes(data)
    return made


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_commands_never_delete_files_the_app_did_not_make(cli, filled: Path, photos, tmp_path: Path, seed) -> None:
    theirs = _user_files(random.Random(seed), filled / "images")
    ours = _images(filled)
    astro = _path_of(filled, "astro")
    for command in (
        ["concept", "list"],
        ["check"],
        ["export", str(tmp_path / "b.zip")],
        ["concept", "add", "moto", str(photos["motorcycle"])],
        ["concept", "remove", "moto"],
        ["concept", "remove", "astro"],
        ["concept", "list"],
    ):
        code, _, err = cli(*command)
        assert code in (0, 2), err
        assert {p: p.read_bytes() for p in theirs if p.exists()} == theirs, command
    assert {p for p in ours if not p.exists()} == {astro}  # only the removed concept's photo went


@pytest.mark.parametrize("loss", ["deleted", "truncated", "replaced by an empty store"])
def test_a_lost_store_is_never_taken_as_the_truth_about_images(cli, filled: Path, tmp_path: Path, loss) -> None:
    before = _images(filled)
    db = filled / "store.sqlite3"
    if loss == "deleted":
        db.unlink()
    elif loss == "truncated":
        db.write_bytes(b"")
    else:
        assert cli("concept", "list", at=tmp_path / "other")[0] == 0  # a new, empty store elsewhere
        shutil.copyfile(tmp_path / "other" / "store.sqlite3", db)
    for command in (["check"], ["concept", "list"], ["export", str(filled.parent / "x.zip")]):
        code, out, err = cli(*command)
        assert code == 2, (command, out, err)
        assert len(err.strip().splitlines()) == 1
        assert "store.sqlite3" in err and "4 photo file(s)" in err and "nothing was changed" in err
    assert _images(filled) == before


# --- 4. backups that can be restored ----------------------------------------------------------------


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:200])


def _swap(path: Path) -> None:
    path.write_bytes(b"\x89PNG" + bytes(random.Random(4).randbytes(500)))


@pytest.mark.parametrize("damage", [_truncate, _swap, Path.unlink])
def test_a_damaged_photo_is_found_left_out_and_the_rest_restored(cli, filled: Path, tmp_path: Path, damage) -> None:
    damage(_path_of(filled, "bo"))
    code, out, err = cli("check")
    assert code == 2 and "<bo>" in out and ("damaged" in out or "missing" in out), out
    assert "export" in err  # says how to rescue
    archive = tmp_path / "backup.zip"
    code, out, err = cli("export", str(archive))
    assert code == 2 and archive.is_file()
    assert "<bo>" in err and "left out" in err
    code, out, err = cli("import", str(archive), at=tmp_path / "restored")
    assert code == 0, err
    code, out, _ = cli("--json", "concept", "list", at=tmp_path / "restored")
    assert sorted((c["name"], c["exemplars"]) for c in json.loads(out)["concepts"]) == [("astro", 1), ("mug", 2)]
    assert cli("check", at=tmp_path / "restored")[0] == 0


def test_import_restores_the_sound_part_of_a_damaged_backup(cli, filled: Path, tmp_path: Path) -> None:
    good, bad = tmp_path / "good.zip", tmp_path / "bad.zip"
    assert cli("export", str(good))[0] == 0
    damaged = "images/" + _path_of(filled, "mug").name
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info.filename, data[:300] if info.filename == damaged else data)
    code, out, err = cli("--json", "import", str(bad), at=tmp_path / "restored")
    assert code == 2, err
    assert sorted(json.loads(out)["imported"]) == ["astro", "bo", "mug"]
    assert damaged.split("/")[1] in err and len(json.loads(out)["left_out"]) == 1
    code, out, _ = cli("--json", "concept", "list", at=tmp_path / "restored")
    assert sorted((c["name"], c["exemplars"]) for c in json.loads(out)["concepts"]) == [
        ("astro", 1),
        ("bo", 1),
        ("mug", 1),
    ]


# --- 6. no path read from the store leads outside it -------------------------------------------------


@pytest.mark.parametrize("image", ["../victim.txt", "../../victim.txt", "/VICTIM", "ab/../../victim.txt", "..", ""])
def test_a_path_in_the_store_never_leads_outside(cli, filled: Path, tmp_path: Path, image: str) -> None:
    image = image.replace("VICTIM", str(tmp_path / "victim.txt").lstrip("/"))
    # where the store's old path joining (images/<first two>/<name>) would lead
    target = (filled / "images" / image[:2] / image).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_dir():
        target.write_bytes(b"not the app's")
    (row,) = _rows(filled, "SELECT e.id FROM exemplars e JOIN concepts c ON c.id = e.concept_id WHERE c.name='bo'")
    _execute(filled, "UPDATE exemplars SET image = ? WHERE id = ?", (image, row[0]))
    code, out, err = cli("check")
    assert code == 2 and f"exemplars row {row[0]}" in out and repr(image) in out
    code, _, err = cli("export", str(tmp_path / "b.zip"))
    assert code == 2 and "<bo>" in err
    code, _, err = cli("concept", "remove", "bo")
    assert code == 0, err
    assert target.exists()


# --- 7. a damaged database: reported, never a crash --------------------------------------------------


def _bad_text(home: Path) -> None:
    _execute(home, "UPDATE concepts SET info = CAST(x'fffe41' AS TEXT) WHERE name = 'mug'")


def _short_vector(home: Path) -> None:
    _execute(home, "UPDATE embeddings SET vector = x'00000000' WHERE exemplar_id = 2")
    shutil.rmtree(home / "cache")  # the index is rebuilt from the rows


@pytest.mark.parametrize(("damage", "said"), [(_bad_text, "concepts row 2: info"), (_short_vector, "photo 2")])
def test_check_reports_damaged_rows(cli, filled: Path, tmp_path: Path, damage, said: str) -> None:
    damage(filled)
    code, out, err = cli("concept", "list")  # reading past damage: one line, how to rescue
    assert code in (0, 2) and "internal error" not in err, err
    if code == 2:
        assert len(err.strip().splitlines()) == 1 and "rap-desktop check" in err
    code, out, err = cli("check")
    assert code == 2, err
    assert said in out and "internal error" not in err and "export" in err
    code, _, err = cli("export", str(tmp_path / "rescue.zip"))
    assert code == 2 and ("left out" in err or "U+FFFD" in err)
    code, out, err = cli("--json", "import", str(tmp_path / "rescue.zip"), at=tmp_path / "rescued")
    assert code == 0, err
    assert sorted(json.loads(out)["imported"]) == ["astro", "bo", "mug"]


@pytest.mark.parametrize("seed", range(8))
def test_random_damage_to_the_database_is_reported_never_a_crash(cli, filled: Path, tmp_path: Path, seed) -> None:
    rng = random.Random(seed)
    db = filled / "store.sqlite3"
    data = bytearray(db.read_bytes())
    pages = len(data) // 4096
    for _ in range(rng.choice([1, 4, 40])):  # a few bytes of some pages (never the header page)
        page = rng.randrange(1, pages)
        for _ in range(rng.randrange(1, 64)):
            data[page * 4096 + rng.randrange(4096)] = rng.randrange(256)
    db.write_bytes(bytes(data))
    code, _, err = cli("check")
    assert code in (0, 2) and "internal error" not in err, err
    if code == 2:
        assert len(err.strip().splitlines()) == 1 and ("export" in err or "cannot be opened" in err)
    archive = tmp_path / "rescue.zip"
    code, _, err = cli("export", str(archive))
    assert code in (0, 2) and "internal error" not in err, err
    if archive.exists():  # whatever export wrote restores
        code, _, err = cli("import", str(archive), at=tmp_path / "rescued")
        assert code == 0, err
        assert cli("check", at=tmp_path / "rescued")[0] == 0


# --- 9. a data folder that cannot be written ---------------------------------------------------------


def _run(args: list[str], env: dict, limit_bytes: int | None = None) -> subprocess.CompletedProcess:
    def limit() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) like a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, resource.RLIM_INFINITY))

    return subprocess.run(
        args,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limit if limit_bytes is not None else None,
    )


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_full_disk_still_lists_and_checks(filled: Path, tiny_config: Path, photos) -> None:
    env = {**os.environ, "RAP_DESKTOP_HOME": str(filled), "RAP_DESKTOP_CONFIG": str(tiny_config)}
    exe = str(Path(sys.executable).with_name("rap-desktop"))
    before = _images(filled)
    listed = _run([exe, "--json", "concept", "list"], env, limit_bytes=0)
    assert listed.returncode == 0, listed.stderr
    assert sorted(c["name"] for c in json.loads(listed.stdout)["concepts"]) == ["astro", "bo", "mug"]
    assert listed.stderr.count("opened read-only") == 1
    checked = _run([exe, "check"], env, limit_bytes=0)
    assert checked.returncode == 0 and "ok" in checked.stdout, checked.stderr
    added = _run([exe, "concept", "add", "moto", str(photos["motorcycle"])], env, limit_bytes=0)
    assert added.returncode == 2 and "nothing was changed" in added.stderr
    assert _images(filled) == before


def _read_only_mount_works(tmp_path: Path) -> bool:
    probe = tmp_path / "probe"
    probe.mkdir()
    script = f"mount --bind {probe} {probe} && mount -o remount,bind,ro {probe} && ! touch {probe}/x 2>/dev/null"
    try:
        return subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare for a read-only mount")
def test_a_read_only_data_folder_lists_checks_and_exports(filled: Path, tiny_config: Path, tmp_path: Path) -> None:
    if not _read_only_mount_works(tmp_path):
        pytest.skip("read-only bind mounts in a user namespace are not allowed here")
    exe = str(Path(sys.executable).with_name("rap-desktop"))
    archive = tmp_path / "elsewhere" / "backup.zip"
    archive.parent.mkdir()
    commands = " ; ".join(
        f"{exe} {args} >> {tmp_path}/out 2>> {tmp_path}/err; echo $? >> {tmp_path}/codes"
        for args in ("concept list", "check", f"export {archive}", "concept remove bo")
    )
    script = f"mount --bind {filled} {filled} && mount -o remount,bind,ro {filled} && {{ {commands} ; }}"
    env = {**os.environ, "RAP_DESKTOP_HOME": str(filled), "RAP_DESKTOP_CONFIG": str(tiny_config)}
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    codes = (tmp_path / "codes").read_text().split()
    err = (tmp_path / "err").read_text()
    assert codes == ["0", "0", "0", "2"], err
    assert "<bo>" in (tmp_path / "out").read_text() and err.count("opened read-only") == 4
    with zipfile.ZipFile(archive) as z:
        assert len(json.loads(z.read("manifest.json"))["concepts"]) == 3
