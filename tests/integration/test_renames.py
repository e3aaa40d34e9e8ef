"""Names that stay consistent: renaming or merging a concept rewrites the stored captions and the
XMP sidecars the app wrote (read back with exiftool), and a caption run in flight writes the name
valid when it writes. The issue's failure: "chelsea" renamed "Chelsea" during a caption run left
sidecars with one keyword and others with the other."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rap_desktop.cli import main
from rap_desktop.core import actions
from rap_desktop.core.album import name_jobs
from rap_desktop.core.album.caption import caption_folder
from rap_desktop.core.models.generator import GenerationOptions
from rap_desktop.core.session import Session
from rap_desktop.core.store import captions
from rap_desktop.core.xmp import sidecar_path

from .album_setup import index_with_concepts
from .test_xmp import needs_exiftool, read_back

N = 6
OPTIONS = GenerationOptions(max_new_tokens=4)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, tiny_config: Path) -> Path:
    """An indexed album with <chelsea> and <kitty> registered from two of its photos."""
    root = tmp_path_factory.mktemp("renames")
    concepts = [("chelsea", 0, "<chelsea> is our cat.", "cat"), ("kitty", 1, "<kitty> as a kitten.", "cat")]
    index_with_concepts(root, tiny_config, N, 11, concepts)
    return root


@pytest.fixture
def album(indexed: Path, tiny_config: Path, tmp_path: Path):
    home = shutil.copytree(indexed / "home", tmp_path / "home")
    folder = shutil.copytree(indexed / "album", tmp_path / "album")
    # the store names the album by its absolute path: point the copy's rows at the copied files
    session = Session.open(home, tiny_config)
    with session.store().transaction():
        session.store().conn.execute(
            "UPDATE album_files SET path = replace(path, ?, ?)", (str(indexed / "album"), str(folder))
        )
        for table in ("album_folders", "photos"):
            session.store().conn.execute(
                f"UPDATE {table} SET path = replace(path, ?, ?)", (str(indexed), str(tmp_path))
            )
    yield session, folder
    session.close()


def _names_in(doc: dict) -> list[str]:
    """Every name an exiftool reading of a sidecar shows: keywords and region names."""
    subject = doc.get("Subject", [])
    words = subject if isinstance(subject, list) else [subject]
    regions = doc.get("RegionInfo", {}).get("RegionList", [])
    return [str(w) for w in words] + [str(r["Name"]) for r in regions]


def _sidecars(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.xmp"))


def _accepted_photos(session: Session, name: str) -> set[str]:
    """Album paths of the photos where `name` is accepted now."""
    rows = session.store().conn.execute(
        "SELECT DISTINCT f.path FROM matches m JOIN concepts c ON c.id = m.concept_id JOIN regions r ON r.id = "
        "m.region_id JOIN album_files f ON f.photo_id = r.photo_id WHERE m.accepted = 1 AND c.name = ?",
        (name,),
    )
    return {r[0] for r in rows}


@needs_exiftool
def test_a_rename_during_a_caption_run_leaves_one_name(album) -> None:
    session, folder = album
    store = session.store()
    with_chelsea = _accepted_photos(session, "chelsea")
    assert len(with_chelsea) >= 3  # the rename lands while several of them are still to be written
    renamed: list[int] = []

    def rename_after_the_first_photo(progress) -> None:
        if progress.done == 1 and not renamed:  # photo 2 was prepared (batch of 2) with the old name
            actions.edit_concept(session, "chelsea", rename="Chelsea")
            renamed.append(sum(len(r.rewritten) for r in name_jobs.run_pending(store)))

    report = caption_folder(
        store,
        session.assistant,
        str(folder),
        write_xmp=True,
        options=OPTIONS,
        batch_size=2,
        progress=rename_after_the_first_photo,
    )
    assert (report.captioned, report.failed) == (N, ())
    assert renamed
    found = {str(p)[: -len(".xmp")]: _names_in(read_back(p)) for p in _sidecars(folder)}
    assert len(found) == N
    assert not [p for p, names in found.items() if "chelsea" in names]
    assert {p for p, names in found.items() if "Chelsea" in names} == with_chelsea
    stored = [json.loads(c) for (c,) in store.conn.execute("SELECT concepts FROM album_captions")]
    assert not [c for c in stored if "chelsea" in c] and sum("Chelsea" in c for c in stored) == len(with_chelsea)


def _cli(session: Session, tiny_config: Path, capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--home", str(session.home), "--config", str(tiny_config), *args])
    out, err = capsys.readouterr()
    return code, out, err


@needs_exiftool
def test_rename_and_merge_rewrite_captions_and_sidecars(album, tiny_config: Path, capsys) -> None:
    session, folder = album
    store = session.store()
    photo_ids = [r[0] for r in store.conn.execute("SELECT photo_id FROM album_files ORDER BY path")]
    for pid in photo_ids:  # stored captions that name both (the sidecars take them as they are)
        captions.save_caption(store, pid, "<chelsea> and <Kitty> nap.", "tiny", ["chelsea", "kitty"])
    caption_folder(store, session.assistant, str(folder), write_xmp=True, options=OPTIONS)
    theirs = sidecar_path(sorted(folder.rglob("*.jpg"))[0], "stem")  # another tool's, naming chelsea
    theirs.write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<dc:subject><rdf:Bag><rdf:li>chelsea</rdf:li></rdf:Bag></dc:subject>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    ours = [p for p in _sidecars(folder) if p != theirs]
    assert len(ours) == N and all("chelsea" in _names_in(read_back(p)) for p in ours)
    had_kitty = [p for p in ours if "kitty" in _names_in(read_back(p))]
    assert had_kitty
    session.close()  # the CLI is another process's view of the same data folder

    code, out, err = _cli(session, tiny_config, capsys, "concept", "edit", "chelsea", "--rename", "Chelsea")
    assert code == 0, err
    assert f"{N} XMP sidecars now say <Chelsea>" in out and f"rap-desktop: sidecars {N + 1}/{N + 1}" in err
    for path in ours:
        doc = read_back(path)
        assert "chelsea" not in _names_in(doc) and "Chelsea" in _names_in(doc)
        assert doc["Description"] == "<Chelsea> and <Kitty> nap."
    assert _names_in(read_back(theirs)) == ["chelsea"]  # not ours: never touched

    code, out, err = _cli(session, tiny_config, capsys, "concept", "merge", "Chelsea", "kitty")
    assert code == 0, err
    assert f"{len(had_kitty)} XMP sidecars now say <Chelsea> instead of <kitty>" in out
    for path in ours:
        doc = read_back(path)
        names = _names_in(doc)
        assert "kitty" not in [n.casefold() for n in names] and "Chelsea" in names
        assert doc["Description"] == "<Chelsea> and <Chelsea> nap."
    reopened = Session.open(session.home, tiny_config)
    try:
        rows = reopened.store().conn.execute("SELECT text, concepts FROM album_captions").fetchall()
    finally:
        reopened.close()
    assert set(rows) == {("<Chelsea> and <Chelsea> nap.", json.dumps(["Chelsea"]))}
