"""Reading people tags (pure: XMP bytes in, names and boxes out): the RDF forms, Windows regions, pixel
units, the orientation turn worked out by hand, keyword hierarchies, and where a tagged box lands
among stored regions."""

from __future__ import annotations

import numpy as np
import pytest

from rap_desktop.core.people_import import place
from rap_desktop.core.people_tags import TaggedArea, parse, person_name, to_displayed
from rap_desktop.core.store.photos import StoredRegion

HEAD = (
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/">'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:digiKam="http://www.digikam.org/ns/1.0/" '
    'xmlns:lr="http://ns.adobe.com/lightroom/1.0/" xmlns:MicrosoftPhoto="http://ns.microsoft.com/photo/1.0/" '
    'xmlns:MP="http://ns.microsoft.com/photo/1.2/" xmlns:MPRI="http://ns.microsoft.com/photo/1.2/t/RegionInfo#" '
    'xmlns:MPReg="http://ns.microsoft.com/photo/1.2/t/Region#" '
    'xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/" '
    'xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#" xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#">'
)
TAIL = '</rdf:Description></rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>'


def _xmp(body: str) -> bytes:
    return (HEAD + body + TAIL).encode()


def test_regions_in_element_and_shorthand_forms_with_pixel_units() -> None:
    found = parse(
        _xmp(
            '<mwg-rs:Regions rdf:parseType="Resource"><mwg-rs:AppliedToDimensions stDim:w="400" stDim:h="200"/>'
            '<mwg-rs:RegionList><rdf:Bag><rdf:li rdf:parseType="Resource"><mwg-rs:Name>Anna</mwg-rs:Name>'
            '<mwg-rs:Type>Face</mwg-rs:Type><mwg-rs:Area rdf:parseType="Resource"><stArea:x>0.5</stArea:x>'
            "<stArea:y>0.25</stArea:y><stArea:w>0.1</stArea:w><stArea:h>0.2</stArea:h></mwg-rs:Area></rdf:li>"
            '<rdf:li><rdf:Description mwg-rs:Name="Bo" mwg-rs:Type="Pet"><mwg-rs:Area stArea:x="100" stArea:y="50" '
            'stArea:w="40" stArea:h="20" stArea:unit="pixel"/></rdf:Description></rdf:li>'
            "</rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>"
        )
    )
    anna, bo = found.areas
    assert (anna.name, anna.kind, anna.area, anna.dims) == ("Anna", "Face", (0.5, 0.25, 0.1, 0.2), (400.0, 200.0))
    assert (bo.name, bo.kind) == ("Bo", "Pet") and bo.area == pytest.approx((0.25, 0.25, 0.1, 0.1))


def test_windows_regions_and_keyword_hierarchies() -> None:
    found = parse(
        _xmp(
            '<MP:RegionInfo rdf:parseType="Resource"><MPRI:Regions><rdf:Bag><rdf:li rdf:parseType="Resource">'
            "<MPReg:Rectangle>0.1, 0.2, 0.3, 0.4</MPReg:Rectangle><MPReg:PersonDisplayName>Carla"
            "</MPReg:PersonDisplayName></rdf:li></rdf:Bag></MPRI:Regions></MP:RegionInfo>"
            "<digiKam:TagsList><rdf:Seq><rdf:li>People/Family/Anna</rdf:li><rdf:li>Places/Beach</rdf:li>"
            "<rdf:li>People</rdf:li></rdf:Seq></digiKam:TagsList>"
            "<lr:hierarchicalSubject><rdf:Bag><rdf:li>Pets|Bo</rdf:li></rdf:Bag></lr:hierarchicalSubject>"
            "<MicrosoftPhoto:LastKeywordXMP><rdf:Bag><rdf:li>People/Dan</rdf:li></rdf:Bag></MicrosoftPhoto:LastKeywordXMP>"
            "<dc:subject><rdf:Bag><rdf:li>beach</rdf:li><rdf:li>Anna</rdf:li></rdf:Bag></dc:subject>"
        )
    )
    (carla,) = found.areas
    assert carla.name == "Carla" and carla.area == pytest.approx((0.25, 0.4, 0.3, 0.4))  # top-left based
    assert found.people == (("Anna", "Face"), ("Bo", "Pet"), ("Dan", "Face"))
    assert found.keywords == ("beach", "Anna")


def test_unreadable_or_entity_declaring_xmp_says_nothing() -> None:
    assert parse(b"<x:xmpmeta><rdf:RDF") == parse(b"") == parse(b"\xff\xd8 no xmp here")
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + _xmp(
        "<dc:subject><rdf:Bag><rdf:li>&a;</rdf:li></rdf:Bag></dc:subject>"
    )
    assert parse(bomb).keywords == ()
    assert [person_name(n) for n in ("Anna", " <Bo> ", "Unknown", "unconfirmed", "a/b", "")] == [
        "Anna",
        "Bo",
        None,
        None,
        None,
        None,
    ]


# A stored 300 x 100 photo; a region in its top-left corner: stored x 0..30, y 0..20 (area centre 0.05, 0.1).
CORNER = TaggedArea("Anna", "Face", (0.05, 0.1, 0.1, 0.2), (300.0, 100.0))


@pytest.mark.parametrize(
    ("turn", "size", "expected"),
    [
        (1, (300, 100), (0, 0, 30, 20)),
        (3, (300, 100), (270, 80, 300, 100)),  # turned 180: the corner is now bottom-right
        (6, (100, 300), (80, 0, 100, 30)),  # shown turned clockwise: stored top-left is displayed top-right
        (8, (100, 300), (0, 270, 20, 300)),  # counter-clockwise: bottom-left
        (2, (300, 100), (270, 0, 300, 20)),  # mirrored left-right
    ],
)
def test_areas_turn_with_the_photo(turn: int, size: tuple[int, int], expected) -> None:
    assert to_displayed(CORNER, size, turn) == pytest.approx(expected)


def test_an_area_written_on_the_displayed_photo_is_not_turned_again() -> None:
    # AppliedToDimensions shaped like the displayed (portrait) photo, not the stored landscape one
    drawn = TaggedArea("Anna", "Face", (0.1, 0.05, 0.2, 0.1), (100.0, 300.0))
    assert to_displayed(drawn, (100, 300), 6) == pytest.approx((0, 0, 20, 30))
    assert to_displayed(TaggedArea("x", "", (2.0, 2.0, 0.1, 0.1), None), (100, 100), 1) is None  # outside


def _region(rid: int, box, source: str = "detector") -> StoredRegion:
    return StoredRegion(rid, 1, rid, box, "person", 0.5, source, np.zeros(2, np.float32))


def test_a_tagged_box_lands_on_the_overlapping_region_or_the_body_holding_the_face() -> None:
    whole = _region(1, (0, 0, 1000, 1000), "whole")
    body = _region(2, (100, 100, 400, 900))
    big = _region(3, (50, 50, 600, 950))
    other = _region(4, (600, 100, 900, 900))
    regions = [whole, body, big, other]
    assert place((610, 110, 890, 880), regions) is other  # IoU
    assert place((200, 150, 300, 280), regions) is body  # a face in the top of two bodies: the smaller
    assert place((200, 700, 300, 850), regions) is None  # low in the body: not its face
    assert place((200, 150, 300, 280), [whole]) is None  # the whole photo holds every face: not a match
    assert place((1, 1, 2, 2), []) is None


def test_our_own_sidecar_is_no_news_but_other_tools_names_in_it_are(tmp_path) -> None:
    from rap_desktop.core.people_tags import photo_tags
    from rap_desktop.core.xmp import Region, write_sidecar

    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"not a photo")
    theirs = tmp_path / "p.jpg.xmp"
    theirs.write_bytes(
        _xmp(
            '<mwg-rs:Regions rdf:parseType="Resource"><mwg-rs:RegionList><rdf:Bag><rdf:li rdf:parseType="Resource">'
            '<mwg-rs:Name>Anna</mwg-rs:Name><mwg-rs:Area stArea:x="0.5" stArea:y="0.5" stArea:w="0.1" '
            'stArea:h="0.1"/></rdf:li></rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>'
        )
    )
    assert [a.name for a in photo_tags(photo, {"bo"})[0].areas] == ["Anna"]  # digiKam's alone
    write_sidecar(photo, (100, 100), "a caption", ["bo"], [Region("bo", "dog", (10, 10, 50, 50))])
    merged, turn = photo_tags(photo, {"bo"})  # ours merged in: our match of bo is not offered back
    assert turn == 1 and [a.name for a in merged.areas] == ["Anna"] and merged.keywords == ()
    assert {a.name for a in photo_tags(photo)[0].areas} == {"Anna", "bo"}  # bo unknown to the library now


def test_the_jpeg_header_is_read_as_pillow_reads_it_and_a_changed_sidecar_is_read_again(tmp_path) -> None:
    from PIL import Image as PILImage

    from rap_desktop.core import people_tags as tags

    photo = tmp_path / "p.jpg"
    exif = PILImage.Exif()
    exif[0x0112] = 6
    packet = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>'
    PILImage.new("RGB", (64, 48), (9, 9, 9)).save(photo, quality=90, exif=exif, xmp=packet)
    with PILImage.open(photo) as image:
        expected = (image.info["xmp"], int(image.getexif()[0x0112]))
    assert tags._jpeg_header(photo) == expected == (packet, 6)
    side = tmp_path / "p.jpg.xmp"
    keywords = '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    keywords += '<rdf:Description xmlns:digiKam="http://www.digikam.org/ns/1.0/"><digiKam:TagsList><rdf:Seq>'
    side.write_text(
        keywords + "<rdf:li>People/Anna</rdf:li></rdf:Seq></digiKam:TagsList></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    assert tags.photo_tags(photo)[0].people == (("Anna", "Face"),)
    side.write_text(
        keywords + "<rdf:li>People/Bruno</rdf:li></rdf:Seq></digiKam:TagsList></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    assert tags.photo_tags(photo)[0].people == (("Bruno", "Face"),)  # read again: the sidecar changed
    side.unlink()
    assert tags.photo_tags(photo)[0].people == ()
