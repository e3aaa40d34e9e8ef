"""XMP sidecars read back by exiftool (Debian libimage-exiftool-perl; installers/setup.sh --test
installs it): caption, keywords, MWG regions; merging into another tool's sidecar."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from rap_desktop.core.errors import RapError
from rap_desktop.core.xmp import Region, sidecar_path, write_sidecar

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(
    EXIFTOOL is None and not os.environ.get("CI"), reason="exiftool missing (installers/setup.sh --test installs it)"
)


def read_back(path: Path) -> dict:
    """What exiftool makes of a sidecar (structured, as digiKam / Immich tooling reads it)."""
    assert EXIFTOOL, "exiftool is required in CI: run installers/setup.sh --test"
    out = subprocess.run([EXIFTOOL, "-j", "-struct", "-n", str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]


def _regions(doc: dict) -> dict[str, dict]:
    return {r["Name"]: r for r in doc["RegionInfo"]["RegionList"]}


@needs_exiftool
def test_caption_keywords_and_regions_read_back(tmp_path: Path) -> None:
    photo = tmp_path / "beach.jpg"
    photo.write_bytes(b"not rewritten")
    regions = [Region("bo", "dog", (100, 50, 300, 250)), Region("Anna", "person", (400, 0, 640, 480))]
    path = write_sidecar(photo, (640, 480), "<bo> and <Anna> at the beach", ["bo", "Anna"], regions)
    assert path == tmp_path / "beach.jpg.xmp" and photo.read_bytes() == b"not rewritten"
    doc = read_back(path)
    assert doc["Description"] == "<bo> and <Anna> at the beach"
    assert doc["Subject"] == ["bo", "Anna"]
    assert doc["RegionInfo"]["AppliedToDimensions"] == {"W": 640, "H": 480, "Unit": "pixel"}
    found = _regions(doc)
    assert found["bo"]["Type"] == "Pet" and found["Anna"]["Type"] == "Face"
    bo = found["bo"]["Area"]
    assert (bo["X"], bo["Y"], bo["W"], bo["H"], bo["Unit"]) == pytest.approx(
        (200 / 640, 150 / 480, 200 / 640, 200 / 480, "normalized")
    )


@needs_exiftool
def test_another_tools_sidecar_is_merged_not_clobbered(tmp_path: Path) -> None:
    photo = tmp_path / "party.jpg"
    theirs = sidecar_path(photo, "stem")
    assert theirs == tmp_path / "party.xmp"
    theirs.write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="4" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/" '
        'xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#">'
        "<dc:subject><rdf:Bag><rdf:li>holiday</rdf:li><rdf:li>bo</rdf:li></rdf:Bag></dc:subject>"
        '<mwg-rs:Regions rdf:parseType="Resource"><mwg-rs:RegionList><rdf:Bag>'
        '<rdf:li rdf:parseType="Resource"><mwg-rs:Name>Alice</mwg-rs:Name><mwg-rs:Type>Face</mwg-rs:Type>'
        '<mwg-rs:Area rdf:parseType="Resource"><stArea:x>0.1</stArea:x><stArea:y>0.2</stArea:y>'
        "<stArea:w>0.05</stArea:w><stArea:h>0.06</stArea:h><stArea:unit>normalized</stArea:unit></mwg-rs:Area>"
        "</rdf:li>"
        '<rdf:li rdf:parseType="Resource"><mwg-rs:Name>bo</mwg-rs:Name><mwg-rs:Type>Pet</mwg-rs:Type>'
        '<mwg-rs:Area rdf:parseType="Resource"><stArea:x>0.9</stArea:x><stArea:y>0.9</stArea:y>'
        "<stArea:w>0.1</stArea:w><stArea:h>0.1</stArea:h><stArea:unit>normalized</stArea:unit></mwg-rs:Area>"
        "</rdf:li></rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>",
        encoding="utf-8",
    )
    write_sidecar(photo, (100, 100), "a caption", ["bo"], [Region("bo", "dog", (0, 0, 50, 50))], style="stem")
    doc = read_back(theirs)
    assert doc["Rating"] == 4  # their property stays
    assert doc["Subject"] == ["holiday", "bo"]  # their keywords stay, ours are not doubled
    found = _regions(doc)
    assert set(found) == {"Alice", "bo"}  # their region kept, ours replaces the same name
    assert found["Alice"]["Area"]["X"] == pytest.approx(0.1)
    assert found["bo"]["Area"]["X"] == pytest.approx(0.25) and found["bo"]["Area"]["W"] == pytest.approx(0.5)
    assert doc["Description"] == "a caption"


def test_an_unreadable_sidecar_is_left_untouched(tmp_path: Path) -> None:
    photo = tmp_path / "a.jpg"
    broken = sidecar_path(photo)
    broken.write_text("<x:xmpmeta this is not xml", encoding="utf-8")
    with pytest.raises(RapError, match="left untouched"):
        write_sidecar(photo, (10, 10), "caption", ["bo"], [])
    assert broken.read_text(encoding="utf-8") == "<x:xmpmeta this is not xml"
    with pytest.raises(RapError, match="naming"):
        sidecar_path(photo, "other")


def test_characters_xml_cannot_carry_are_dropped(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    path = write_sidecar(tmp_path / "a.jpg", (10, 10), "odd \x00\x07 text", ["b\x01o"], [])
    root = ET.parse(path).getroot()  # still well-formed XML
    texts = [e.text for e in root.iter() if e.text and e.text.strip()]
    assert "odd  text" in texts and "bo" in texts
