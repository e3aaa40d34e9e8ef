"""Import people tags: MWG regions and people keywords other tools wrote (digiKam's compact form,
Lightroom's photo.xmp, XMP inside the JPEG, exiftool's own output) read from an indexed album,
placed on the stored regions (a rotated photo's area turned with it), applied as concepts with
confirmed matches, and taken back by one `match undo`."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rap_desktop.cli import main
from rap_desktop.core import actions
from rap_desktop.core.actions.people_tags import import_people_tags, people_tag_proposals, undo_people_tags
from rap_desktop.core.album.indexer import Indexer
from rap_desktop.core.images import load_image
from rap_desktop.core.regions import iou
from rap_desktop.core.store import photos as photo_rows

from .test_xmp import EXIFTOOL, needs_exiftool

RDF = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    "{}</rdf:RDF></x:xmpmeta>"
)
NS = (
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:digiKam="http://www.digikam.org/ns/1.0/" '
    'xmlns:lr="http://ns.adobe.com/lightroom/1.0/" '
    'xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/" '
    'xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#" xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#"'
)


def _area_of(box, size: tuple[int, int], turn: int) -> tuple[float, float, float, float]:
    """MWG area (stored image, centre-based) of a box drawn on the displayed photo, worked out by
    hand from the Exif tag: 6 shows the stored image turned 90 degrees clockwise, so a displayed
    point (u, v) is the stored point (v, 1 - u)."""
    width, height = size
    x1, y1, x2, y2 = box[0] / width, box[1] / height, box[2] / width, box[3] / height
    if turn == 1:
        return ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)
    assert turn == 6
    return ((y1 + y2) / 2, 1 - (x1 + x2) / 2, y2 - y1, x2 - x1)


def _digikam(name: str, area, dims: tuple[int, int], kind: str = "Face", subject: str = "") -> str:
    """A sidecar as digiKam / Exiv2 writes it: nested rdf:Description, attributes for the fields."""
    x, y, w, h = area
    keywords = f"<dc:subject><rdf:Bag><rdf:li>{subject or name}</rdf:li></rdf:Bag></dc:subject>"
    return RDF.format(
        f'<rdf:Description rdf:about="" {NS}>'
        f"<digiKam:TagsList><rdf:Seq><rdf:li>People/{name}</rdf:li></rdf:Seq></digiKam:TagsList>{keywords}"
        f'<mwg-rs:Regions rdf:parseType="Resource"><mwg-rs:AppliedToDimensions stDim:w="{dims[0]}" '
        f'stDim:h="{dims[1]}" stDim:unit="pixel"/><mwg-rs:RegionList><rdf:Bag><rdf:li><rdf:Description '
        f'mwg-rs:Name="{name}" mwg-rs:Type="{kind}"><mwg-rs:Area stArea:x="{x}" stArea:y="{y}" stArea:w="{w}" '
        f'stArea:h="{h}" stArea:unit="normalized"/></rdf:Description></rdf:li></rdf:Bag></mwg-rs:RegionList>'
        "</mwg-rs:Regions></rdf:Description>"
    )


def _lightroom(name: str, area, dims: tuple[int, int], kind: str, root: str) -> str:
    """As Lightroom writes photo.xmp: parseType="Resource" structs, lr:hierarchicalSubject."""
    x, y, w, h = area
    return RDF.format(
        f'<rdf:Description rdf:about="" {NS}><lr:hierarchicalSubject><rdf:Bag><rdf:li>{root}|{name}</rdf:li>'
        '</rdf:Bag></lr:hierarchicalSubject><mwg-rs:Regions rdf:parseType="Resource">'
        '<mwg-rs:AppliedToDimensions rdf:parseType="Resource">'
        f"<stDim:w>{dims[0]}</stDim:w><stDim:h>{dims[1]}</stDim:h><stDim:unit>pixel</stDim:unit>"
        '</mwg-rs:AppliedToDimensions><mwg-rs:RegionList><rdf:Bag><rdf:li rdf:parseType="Resource">'
        f'<mwg-rs:Name>{name}</mwg-rs:Name><mwg-rs:Type>{kind}</mwg-rs:Type><mwg-rs:Area rdf:parseType="Resource">'
        f"<stArea:x>{x}</stArea:x><stArea:y>{y}</stArea:y><stArea:w>{w}</stArea:w><stArea:h>{h}</stArea:h>"
        "<stArea:unit>normalized</stArea:unit></mwg-rs:Area></rdf:li></rdf:Bag></mwg-rs:RegionList>"
        "</mwg-rs:Regions></rdf:Description>"
    )


def _save(source: Path, target: Path, turn: int = 1, xmp: bytes | None = None) -> Path:
    exif = Image.Exif()
    if turn != 1:
        exif[0x0112] = turn
    extra = {"xmp": xmp} if xmp else {}
    Image.open(source).convert("RGB").save(target, "JPEG", quality=90, exif=exif.tobytes(), **extra)
    return target


def _regions(store, model: str, path: Path):
    photo_id, _, _ = photo_rows.find_photo(store, str(path))
    return photo_id, photo_rows.regions(store, photo_id, model)


def _free_box(regions, size: tuple[int, int]) -> tuple[float, float, float, float]:
    """A box near the bottom-left corner that no stored region holds (so one must be made for it)."""
    width, height = size
    box = (width * 0.02, height * 0.80, width * 0.16, height * 0.97)
    assert all(iou(box, r.box) < 0.3 for r in regions), "the tiny detector found the test's free corner"
    return box


def _matches(home: Path) -> list[tuple]:
    conn = sqlite3.connect(home / "store.sqlite3")
    try:
        return conn.execute(
            "SELECT region_id, concept_id, similarity, status, accepted FROM matches ORDER BY 1, 2"
        ).fetchall()
    finally:
        conn.close()


@pytest.fixture
def tagged_album(session, photos, tmp_path: Path):
    """Four indexed photos: zidane tagged in digiKam's sidecar on a stored region, the bus turned by
    EXIF 6 with a Lightroom photo.xmp whose area lies where no region is, chelsea with the tags inside
    the JPEG, coffee with only a flat keyword."""
    album = tmp_path / "album"
    album.mkdir()
    cat = _save(photos["chelsea"], album / "c-chelsea.jpg")
    files = {
        "zidane": _save(photos["zidane"], album / "a-zidane.jpg"),
        "bus": _save(photos["bus"], album / "b-bus.jpg", turn=6),
        "coffee": _save(photos["coffee"], album / "d-coffee.jpg"),
    }
    retriever = session.retriever()
    retriever.threshold = 0.999  # random weights: nothing is recognised on its own
    store = session.store()
    model = session.embedder.model_id
    # chelsea's tags go inside the file before indexing (the file's hash is what was indexed)
    size = Image.open(cat).size
    cat_tags = _lightroom("Mochi", (0.5, 0.5, 1.0, 1.0), size, "Pet", "Pets")
    _save(photos["chelsea"], cat, xmp=cat_tags.encode())
    files["chelsea"] = cat
    assert Indexer(retriever, workers=0).index([album]).indexed == 4

    zid_id, zid_regions = _regions(store, model, files["zidane"])
    target = max((r for r in zid_regions if r.source == "detector"), key=lambda r: r.box[2] - r.box[0])
    zsize = load_image(files["zidane"]).size
    Path(f"{files['zidane']}.xmp").write_text(_digikam("Anna", _area_of(target.box, zsize, 1), zsize))

    bus_id, bus_regions = _regions(store, model, files["bus"])
    shown = load_image(files["bus"])
    assert shown.size == (1080, 810)  # stored 810 x 1080, displayed turned
    free = _free_box(bus_regions, shown.size)
    files["bus"].with_suffix(".xmp").write_text(
        _lightroom("Anna", _area_of(free, shown.size, 6), (810, 1080), "Face", "People")
    )

    coffee = _digikam("x", (0.5, 0.5, 0.1, 0.1), (600, 400)).replace("People/x", "Places/Beach")
    coffee = coffee.replace("<rdf:li>x</rdf:li>", "<rdf:li>anna</rdf:li><rdf:li>beach</rdf:li>")
    coffee = coffee.replace('mwg-rs:Name="x"', 'mwg-rs:Name="Unknown"')
    Path(f"{files['coffee']}.xmp").write_text(coffee)
    return {"files": files, "target": target, "free": free, "bus": bus_id, "zidane": zid_id}


def test_scan_finds_the_names_and_places_the_boxes(session, tagged_album) -> None:
    files = tagged_album["files"]
    found = {p.name: p for p in people_tag_proposals(session)}
    assert set(found) == {"Anna", "Mochi"}  # "beach" (a place) and "Unknown" (a face nobody named) are not people
    anna = found["Anna"]
    assert (anna.photos, anna.category, anna.known) == (3, "person", False)
    states = {Path(t.path).name: t for t in anna.tags}
    assert states["a-zidane.jpg"].state == "match" and states["a-zidane.jpg"].region == tagged_album["target"].id
    assert states["d-coffee.jpg"].state == "keyword" and states["d-coffee.jpg"].box is None
    bus = states["b-bus.jpg"]
    assert bus.state == "region"
    assert bus.box == pytest.approx(tagged_album["free"], abs=1.0)
    # the same pixels: the displayed photo at the box, and the stored photo at the area turned with it
    with Image.open(files["bus"]) as raw:
        stored = raw.convert("RGB")
    x, y, w, h = _area_of(tagged_album["free"], (1080, 810), 6)
    left, top = round((x - w / 2) * 810), round((y - h / 2) * 1080)
    turned = stored.crop((left, top, left + round(w * 810), top + round(h * 1080))).transpose(
        Image.Transpose.ROTATE_270
    )
    seen = load_image(files["bus"]).image.crop(tuple(round(v) for v in bus.box))
    assert turned.size == seen.size
    assert np.abs(np.asarray(turned, np.int16) - np.asarray(seen, np.int16)).mean() < 2
    mochi = found["Mochi"]
    assert (mochi.photos, mochi.category) == (1, "pet")  # read from the XMP inside the JPEG
    assert mochi.usable[0].state in ("match", "region")


def test_apply_makes_concepts_and_one_undo_takes_it_back(session, home: Path, tagged_album) -> None:
    before = _matches(home)
    store = session.store()
    done = import_people_tags(session, ["anna", "<Mochi>"])
    cover = store.image_path(store.exemplars("Anna")[0].image)
    assert cover.is_file()
    imported = done.value
    assert set(imported.created) == {"Anna", "Mochi"} and done.changes.concepts and done.changes.matches
    assert imported.confirmed == 3 and imported.regions_added >= 1  # zidane's region, the bus's new one, the cat
    anna = store.get_concept("Anna")
    assert anna.category == "person" and anna.exemplar_count == 1
    target = tagged_album["target"]
    assert (target.id, anna.id, "confirmed", 1) in [(r, c, s, a) for r, c, _, s, a in _matches(home)]
    made = [r for r in photo_rows.all_regions(store, tagged_album["bus"]) if r.source == "user"]
    assert len(made) == 1 and made[0].box == pytest.approx(tagged_album["free"], abs=1.0)
    assert made[0].vector.size  # embedded: retrieval can match it
    again = {p.name: p for p in people_tag_proposals(session)}
    assert again["Anna"].known and {t.state for t in again["Anna"].tags} == {"done", "keyword"}

    undone = actions.undo_correction(session)
    assert undone.value.action == "import_tags"
    assert store.find_concept("Anna") is None and store.find_concept("Mochi") is None
    assert not [r for r in photo_rows.all_regions(store, tagged_album["bus"]) if r.source == "user"]
    assert _matches(home) == before
    assert not list((home / "images").rglob("*.*")) or all(e.concept_id not in (anna.id,) for e in store.exemplars())


def test_undo_of_an_import_is_refused_after_another_correction(session, tagged_album) -> None:
    done = import_people_tags(session, ["Anna"])
    store = session.store()
    photo, sha, _ = photo_rows.find_photo(store, str(tagged_album["files"]["zidane"]))
    other = next(
        r for r in photo_rows.regions(store, photo, session.embedder.model_id) if r.id != tagged_album["target"].id
    )
    actions.confirm(session, sha, other.name, "Anna")
    with pytest.raises(Exception, match="undo those first"):
        undo_people_tags(session, done.value.correction)
    actions.undo_correction(session)
    undo_people_tags(session, done.value.correction)
    assert store.find_concept("Anna") is None


def test_existing_concept_keeps_its_photos_and_gets_the_matches(session, photos, tagged_album) -> None:
    store = session.store()
    store.add_concept("anna", photos["astronaut"], category="person")
    found = {p.name: p for p in people_tag_proposals(session)}
    assert found["anna"].known and found["anna"].category == "person"
    done = import_people_tags(session, ["ANNA"])
    assert done.value.created == () and done.value.confirmed == 2
    assert store.get_concept("anna").exemplar_count == 1  # no photo added to a concept the user made
    actions.undo_correction(session)
    assert store.get_concept("anna").exemplar_count == 1


@pytest.fixture
def cli(home: Path, tiny_config: Path, capsys):
    def run(*args: str) -> tuple[int, object, str]:
        code = main(["--home", str(home), "--config", str(tiny_config), *args])
        out, err = capsys.readouterr()
        return code, (json.loads(out) if "--json" in args and code == 0 else out), err

    return run


@pytest.mark.slow
def test_cli_lists_applies_and_refuses_unknown_names(cli, tagged_album) -> None:
    code, doc, err = cli("album", "import-tags", "--json")
    assert code == 0, err
    listed = {p["name"]: p for p in doc["proposals"]}
    assert listed["Anna"]["photos"] == 3 and listed["Anna"]["regions"] == 2 and not listed["Anna"]["known"]
    assert {t["state"] for t in listed["Anna"]["tags"]} == {"match", "region", "keyword"}
    code, text, _ = cli("album", "import-tags")
    assert code == 0 and "Anna" in text and "3 photos" in text
    code, _, err = cli("album", "import-tags", "--apply", "Nobody")
    assert code == 2 and err.count("\n") == 1 and "Nobody" in err
    code, doc, err = cli("album", "import-tags", "--apply", "Anna", "--json")
    assert code == 0, err
    assert doc["created"] == ["Anna"] and doc["confirmed"] == 2 and doc["correction"]
    code, _, _ = cli("match", "undo")
    assert code == 0
    code, doc, _ = cli("concept", "list", "--json")
    assert "Anna" not in json.dumps(doc)


@pytest.mark.slow
@needs_exiftool
def test_tags_written_by_exiftool_in_digikam_and_lightroom_forms(session, photos, tmp_path: Path) -> None:
    album = tmp_path / "album"
    album.mkdir()
    path = _save(photos["bus"], album / "turned.jpg", turn=6)
    shown = load_image(path)
    box = (shown.size[0] * 0.05, shown.size[1] * 0.7, shown.size[0] * 0.2, shown.size[1] * 0.95)
    x, y, w, h = _area_of(box, shown.size, 6)
    region = (
        "{AppliedToDimensions={W=810,H=1080,Unit=pixel},"
        f"RegionList=[{{Name=Bo,Type=Pet,Area={{X={x},Y={y},W={w},H={h},Unit=normalized}}}}]}}"
    )
    # into the JPEG itself (before indexing: its hash is what the album knows)
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", f"-XMP-mwg-rs:RegionInfo={region}", str(path)], check=True)
    plain = _save(photos["coffee"], album / "plain.jpg")
    retriever = session.retriever()
    retriever.threshold = 0.999
    assert Indexer(retriever, workers=0).index([album]).indexed == 2
    sidecar = Path(f"{plain}.xmp")  # digiKam's name; Lightroom's hierarchy in the same file
    subprocess.run(
        [
            EXIFTOOL,
            "-q",
            "-XMP-digiKam:TagsList=People/Family/Carla",
            "-XMP-lr:HierarchicalSubject=Pets|Bo",
            "-XMP-dc:Subject=Carla",
            str(sidecar),
        ],
        check=True,
    )
    found = {p.name: p for p in people_tag_proposals(session)}
    assert set(found) == {"Bo", "Carla"}
    (bo_tag,) = [t for t in found["Bo"].tags if t.box is not None]
    assert bo_tag.box == pytest.approx(box, abs=1.0) and found["Bo"].category == "pet"
    assert found["Bo"].photos == 2 and found["Carla"].category == "person"
    done = import_people_tags(session, ["Bo"])
    assert done.value.created == ("Bo",) and done.value.confirmed == 1


def test_a_region_the_user_named_otherwise_is_left_alone(session, tagged_album) -> None:
    store = session.store()
    target = tagged_album["target"]
    _, sha, _ = photo_rows.find_photo(store, str(tagged_album["files"]["zidane"]))
    actions.reassign(session, sha, f"r{target.ordinal}", "Zed", category="person")  # the user: this is Zed
    anna = {p.name: p for p in people_tag_proposals(session)}["Anna"]
    (tag,) = [t for t in anna.tags if t.region == target.id]
    assert tag.state == "taken" and tag not in anna.usable
    done = import_people_tags(session, ["Anna"])
    assert done.value.confirmed == 1  # only the bus's new region
    zed = store.get_concept("Zed").id
    statuses = {(r, c): s for r, c, _, s, _ in _matches(session.home)}
    anna_id = store.get_concept("Anna").id
    assert statuses[(target.id, zed)] == "confirmed" and statuses.get((target.id, anna_id)) != "confirmed"
