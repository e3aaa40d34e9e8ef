"""Merging into sidecars other tools wrote, and writing the same sidecar again: every property in each
form RDF allows (element, parseType="Resource", attribute shorthand, rdf:li/rdf:Description), names
compared case-insensitively. Sidecars are made by exiftool where it can (its default and its compact
`-api Compact=Shorthand` output) and written by hand in the shapes digiKam (Exiv2) and Lightroom (Adobe
XMP Core) emit; every result is read back with exiftool."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rap_desktop.core.errors import RapError
from rap_desktop.core.xmp import NS, Region, rename_in_sidecar, sidecar_path, write_sidecar

from .test_xmp import EXIFTOOL, needs_exiftool, read_back

THEIR_REGIONS = (
    "{AppliedToDimensions={W=100,H=100,Unit=pixel},RegionList=["
    "{Name=Alice,Type=Face,Area={X=0.1,Y=0.2,W=0.05,H=0.06,Unit=normalized}},"
    "{Name=BO,Type=Pet,Area={X=0.9,Y=0.9,W=0.1,H=0.1,Unit=normalized}}]}"
)


def _exiftool_sidecar(path: Path, *options: str) -> Path:
    """A sidecar exiftool itself writes: their regions (one named like ours in another case), a
    keyword, a rating and their CreatorTool."""
    subprocess.run(
        [
            EXIFTOOL,
            "-q",
            *options,
            "-o",
            str(path),
            f"-XMP-mwg-rs:RegionInfo={THEIR_REGIONS}",
            "-XMP-dc:Subject=holiday",
            "-XMP-dc:Subject=bo",
            "-XMP-xmp:Rating=4",
            "-XMP-xmp:CreatorTool=their tool",
        ],
        check=True,
    )
    return path


def _names(doc: dict) -> list[str]:
    return sorted((r["Name"] for r in doc["RegionInfo"]["RegionList"]), key=str.casefold)


def _creator_tools(path: Path) -> int:
    """How often xmp:CreatorTool occurs, as an attribute or as an element, anywhere in the file."""
    key = f"{{{NS['xmp']}}}CreatorTool"
    root = ET.parse(path).getroot()
    return sum((key in e.attrib) + (e.tag == key) for e in root.iter())


def _bo(size: int = 100) -> Region:
    return Region("bo", "dog", (0, 0, size / 2, size / 2))


@needs_exiftool
@pytest.mark.parametrize("options", [(), ("-api", "Compact=Shorthand,OneDesc")], ids=["elements", "shorthand"])
def test_exiftool_sidecar_keeps_theirs_and_holds_one_region_per_person(tmp_path: Path, options) -> None:
    photo = tmp_path / "party.jpg"
    path = _exiftool_sidecar(sidecar_path(photo), *options)
    if options:
        assert "mwg-rs:Name=" in path.read_text(encoding="utf-8")  # the compact form is what is merged here
    write_sidecar(photo, (100, 100), "a caption", ["bo"], [_bo()])
    doc = read_back(path)
    assert "Warning" not in doc
    assert _names(doc) == ["Alice", "bo"]  # their "BO" is ours in another case: replaced, not doubled
    found = {r["Name"]: r for r in doc["RegionInfo"]["RegionList"]}
    assert found["Alice"]["Area"]["X"] == pytest.approx(0.1) and found["bo"]["Area"]["W"] == pytest.approx(0.5)
    assert doc["Subject"] == ["holiday", "bo"] and doc["Rating"] == 4 and doc["Description"] == "a caption"
    assert doc["CreatorTool"] == "rap-desktop" and _creator_tools(path) == 1


@needs_exiftool
def test_rerun_and_case_only_rename_never_add_a_region_twice(tmp_path: Path) -> None:
    photo = tmp_path / "beach.jpg"
    path = _exiftool_sidecar(sidecar_path(photo, "stem"), "-api", "Compact=Shorthand")
    anna = Region("Anna", "person", (60, 60, 90, 90))
    write_sidecar(photo, (100, 100), "first", ["Bo", "Anna"], [Region("Bo", "dog", (0, 0, 50, 50)), anna], "stem")
    first = path.read_bytes()
    write_sidecar(photo, (100, 100), "first", ["Bo", "Anna"], [Region("Bo", "dog", (0, 0, 50, 50)), anna], "stem")
    assert path.read_bytes() == first  # the same write again changes nothing
    write_sidecar(photo, (100, 100), "renamed", ["bo", "ANNA"], [_bo(), Region("ANNA", "person", anna.box)], "stem")
    doc = read_back(path)
    assert "Warning" not in doc
    assert _names(doc) == ["Alice", "ANNA", "bo"]  # one region per person, the current spelling
    assert doc["Subject"] == ["holiday", "bo", "ANNA"]
    assert doc["Description"] == "renamed" and _creator_tools(path) == 1


# digiKam writes through Exiv2: one rdf:Description, structs in the compact form, plus its own tags
# and the Lightroom hierarchy; the Regions struct itself may also be an rdf:Description.
DIGIKAM = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:digiKam="http://www.digikam.org/ns/1.0/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
    xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#"
    xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"
    xmp:Rating="3"
    xmp:CreatorTool="digiKam-8.2.0">
   <digiKam:TagsList>
    <rdf:Seq>
     <rdf:li>People/Alice</rdf:li>
     <rdf:li>People/Bo</rdf:li>
    </rdf:Seq>
   </digiKam:TagsList>
   <lr:hierarchicalSubject>
    <rdf:Bag>
     <rdf:li>People|Alice</rdf:li>
     <rdf:li>People|Bo</rdf:li>
    </rdf:Bag>
   </lr:hierarchicalSubject>
   <dc:subject>
    <rdf:Bag>
     <rdf:li>Alice</rdf:li>
     <rdf:li>Bo</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <mwg-rs:Regions>
    <rdf:Description>
     <mwg-rs:AppliedToDimensions stDim:w="100" stDim:h="100" stDim:unit="pixel"/>
     <mwg-rs:RegionList>
      <rdf:Bag>
       <rdf:li>
        <rdf:Description mwg-rs:Name="Alice" mwg-rs:Type="Face">
         <mwg-rs:Area stArea:x="0.1" stArea:y="0.2" stArea:w="0.05" stArea:h="0.06" stArea:unit="normalized"/>
        </rdf:Description>
       </rdf:li>
       <rdf:li>
        <rdf:Description mwg-rs:Name="Bo" mwg-rs:Type="Face">
         <mwg-rs:Area stArea:x="0.9" stArea:y="0.9" stArea:w="0.1" stArea:h="0.1" stArea:unit="normalized"/>
        </rdf:Description>
       </rdf:li>
      </rdf:Bag>
     </mwg-rs:RegionList>
    </rdf:Description>
   </mwg-rs:Regions>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""

# Lightroom Classic (Adobe XMP Core): attributes on the description, xmp:CreatorTool as an element in a
# second description (as Photoshop leaves it), regions as rdf:li with the fields as attributes.
LIGHTROOM = """<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000 1.000000, 0000/00/00-00:00:00">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
    xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#"
    xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"
    crs:Exposure2012="+0.35"
    crs:WhiteBalance="As Shot">
   <dc:subject>
    <rdf:Bag>
     <rdf:li>alice</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <mwg-rs:Regions rdf:parseType="Resource">
    <mwg-rs:AppliedToDimensions stDim:w="100" stDim:h="100" stDim:unit="pixel"/>
    <mwg-rs:RegionList>
     <rdf:Bag>
      <rdf:li mwg-rs:Name="alice" mwg-rs:Type="Face">
       <mwg-rs:Area stArea:x="0.1" stArea:y="0.2" stArea:w="0.05" stArea:h="0.06" stArea:unit="normalized"/>
      </rdf:li>
      <rdf:li>
       <rdf:Description mwg-rs:Name="bo" mwg-rs:Type="Pet">
        <mwg-rs:Area stArea:x="0.9" stArea:y="0.9" stArea:w="0.1" stArea:h="0.1" stArea:unit="normalized"/>
       </rdf:Description>
      </rdf:li>
     </rdf:Bag>
    </mwg-rs:RegionList>
   </mwg-rs:Regions>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <xmp:CreatorTool>Adobe Photoshop Lightroom Classic 12.0 (Windows)</xmp:CreatorTool>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


@needs_exiftool
@pytest.mark.parametrize(("shape", "style"), [(DIGIKAM, "ext"), (LIGHTROOM, "stem")], ids=["digikam", "lightroom"])
def test_hand_written_tool_shapes_merge_into_one_region_per_person(tmp_path: Path, shape: str, style: str) -> None:
    photo = tmp_path / "dsc.jpg"
    path = sidecar_path(photo, style)
    path.write_text(shape, encoding="utf-8")
    before = read_back(path)
    assert len(before["RegionInfo"]["RegionList"]) == 2  # exiftool reads their shape as we assumed
    for _ in range(2):  # a rerun changes nothing
        write_sidecar(photo, (100, 100), "caption", ["BO"], [Region("BO", "dog", (0, 0, 50, 50))], style)
    doc = read_back(path)
    assert "Warning" not in doc
    assert [n.casefold() for n in _names(doc)] == ["alice", "bo"] and "BO" in _names(doc)
    assert doc["CreatorTool"] == "rap-desktop" and _creator_tools(path) == 1
    assert [w.casefold() for w in doc["Subject"]] == ["alice", "bo"]
    kept = {k: v for k, v in before.items() if k not in ("RegionInfo", "Subject", "CreatorTool", "Description")}
    kept = {k: v for k, v in kept.items() if not k.startswith(("File", "Directory", "Source", "ExifTool"))}
    assert kept and {k: doc.get(k) for k in kept} == kept  # all their other properties, as exiftool reads them
    rdf = ET.parse(path).getroot().find(f"{{{NS['rdf']}}}RDF")
    about = {f"{{{NS['rdf']}}}about"}
    descriptions = rdf.findall(f"{{{NS['rdf']}}}Description")
    assert all(len(d) or set(d.attrib) - about for d in descriptions)  # none left empty by the merge


@needs_exiftool
def test_a_write_without_caption_keeps_the_caption_there(tmp_path: Path) -> None:
    photo = tmp_path / "dsc.jpg"
    path = _exiftool_sidecar(sidecar_path(photo), "-api", "Compact=Shorthand")
    write_sidecar(photo, (100, 100), "their words", ["bo"], [_bo()])
    write_sidecar(photo, (100, 100), None, ["bo"], [_bo()])  # e.g. a rerun that only tags
    doc = read_back(path)
    assert doc["Description"] == "their words" and _names(doc) == ["Alice", "bo"]


def test_a_sidecar_declaring_entities_is_left_untouched(tmp_path: Path) -> None:
    photo = tmp_path / "a.jpg"
    path = sidecar_path(photo)
    text = (
        '<?xml version="1.0"?><!DOCTYPE x:xmpmeta [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<dc:title>&b;</dc:title></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RapError, match="left untouched"):
        write_sidecar(photo, (10, 10), "caption", ["bo"], [])
    assert path.read_text(encoding="utf-8") == text


@needs_exiftool
@pytest.mark.parametrize("options", [(), ("-api", "Compact=Shorthand,OneDesc")], ids=["elements", "shorthand"])
def test_a_rename_in_a_merged_sidecar_reaches_every_form_and_leaves_no_keyword_twice(tmp_path: Path, options) -> None:
    photo = tmp_path / "party.jpg"
    path = _exiftool_sidecar(sidecar_path(photo), *options)  # theirs: Alice, BO, keywords holiday and bo
    write_sidecar(photo, (100, 100), "<bo> and <Alice>", ["bo", "Anna"], [_bo()])
    assert rename_in_sidecar(path, "alice", "Anna")  # their region in their form, our caption's tag
    doc = read_back(path)
    assert "Warning" not in doc
    assert _names(doc) == ["Anna", "bo"] and doc["Subject"] == ["holiday", "bo", "Anna"]
    assert doc["Description"] == "<bo> and <Anna>" and doc["Rating"] == 4
    assert rename_in_sidecar(path, "bo", "Anna")  # a merge: one keyword "Anna", both regions say it
    doc = read_back(path)
    assert _names(doc) == ["Anna", "Anna"] and doc["Subject"] == ["holiday", "Anna"]
    assert not rename_in_sidecar(path, "bo", "Anna")  # nothing left to do
    write_sidecar(photo, (100, 100), None, ["Tom & Jerry"], [Region("Tom & Jerry", "cat", (0, 0, 9, 9))])
    assert rename_in_sidecar(path, "tom & jerry", "Tom")  # a name XML writes escaped ("&amp;")
    assert "Tom & Jerry" not in _names(read_back(path)) and "Tom" in read_back(path)["Subject"]
    other = _exiftool_sidecar(sidecar_path(tmp_path / "theirs.jpg"), *options)
    before = other.read_bytes()
    assert not rename_in_sidecar(other, "bo", "Anna") and other.read_bytes() == before  # not ours
