"""Reading the people tags other tools wrote: MWG regions (digiKam, Lightroom, Picasa, Immich),
Microsoft Photo regions, and people keywords (digiKam's TagsList "People/Anna", Lightroom's
hierarchicalSubject "People|Anna", Microsoft's LastKeywordXMP, plain dc:subject).

Pure reading: XMP bytes in, names and boxes out; nothing is written. Boxes come out in the photo as
displayed (EXIF orientation applied), the pixels the app stores its regions in. MWG areas are
normalised and centre-based and, by MWG 2.0 section 5.9, apply to the stored (unrotated) image, so
they are turned with the photo's orientation (the inverse of what core/xmp.py does when writing).
Some writers put the displayed image's size in AppliedToDimensions instead: when those dimensions
have the displayed photo's shape and not the stored one, the area is taken as already displayed.
"""

from __future__ import annotations

import contextlib
import os
import stat
import struct
import xml.etree.ElementTree as ET
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from . import names
from .errors import InvalidNameError
from .regions import Box
from .xmp import _field as xmp_field
from .xmp import _region_items, _text, _to_stored, sidecar_path

_NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "mwg-rs": "http://www.metadataworkinggroup.com/schemas/regions/",
    "stArea": "http://ns.adobe.com/xmp/sType/Area#",
    "stDim": "http://ns.adobe.com/xap/1.0/sType/Dimensions#",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "MicrosoftPhoto": "http://ns.microsoft.com/photo/1.0/",
    "MP": "http://ns.microsoft.com/photo/1.2/",
    "MPRI": "http://ns.microsoft.com/photo/1.2/t/RegionInfo#",
    "MPReg": "http://ns.microsoft.com/photo/1.2/t/Region#",
}
# first levels of a keyword hierarchy that hold people and pets (digiKam, Lightroom, Windows)
PEOPLE_ROOTS = frozenset({"people", "persons", "person", "personen", "personnes", "faces", "family"})
PET_ROOTS = frozenset({"pets", "pet", "animals", "haustiere"})
# what tools write for a face nobody named: never a concept
UNNAMED = frozenset({"unknown", "unknown person", "unknown people", "unnamed", "unconfirmed", "ignored", "?"})
# the area of a region drawn on the displayed photo turns back with the inverse orientation
_INVERSE = {6: 8, 8: 6}


def _q(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{_NS[prefix]}}}{local}"


def _field(node: ET.Element, name: str) -> str | ET.Element | None:
    """A struct field in any RDF form, as core/xmp.py reads its own, with the namespaces it does not know."""
    return xmp_field(node, name, _q)


@dataclass(frozen=True)
class TaggedArea:
    """A named region as written: normalised centre x, centre y, width, height."""

    name: str
    kind: str  # "Face", "Pet", or what else the writer said ("" when nothing)
    area: tuple[float, float, float, float]
    dims: tuple[float, float] | None  # AppliedToDimensions (w, h), when given


@dataclass(frozen=True)
class PhotoTags:
    """What one XMP packet says about people: named regions and people keywords (name, kind)."""

    areas: tuple[TaggedArea, ...] = ()
    people: tuple[tuple[str, str], ...] = ()  # from a hierarchy: ("Anna", "Face"), ("Bo", "Pet")
    keywords: tuple[str, ...] = ()  # flat keywords (dc:subject): people only if named elsewhere
    by_us: bool = False  # a sidecar this app wrote (xmp:CreatorTool): its own names are no news

    def __or__(self, other: PhotoTags) -> PhotoTags:
        return PhotoTags(self.areas + other.areas, self.people + other.people, self.keywords + other.keywords)

    def without(self, names: AbstractSet[str]) -> PhotoTags:
        """Minus the tags carrying one of `names` (casefolded)."""
        return PhotoTags(
            tuple(a for a in self.areas if a.name.strip().casefold() not in names),
            tuple(p for p in self.people if p[0].strip().casefold() not in names),
            tuple(k for k in self.keywords if k.strip().casefold() not in names),
        )


def person_name(raw: str) -> str | None:
    """A tag's name as a concept name, or None for an unnamed face or a name the app cannot hold."""
    try:
        name = names.clean_name(raw)
    except InvalidNameError:
        return None
    return None if name.casefold() in UNNAMED else name


def parse(data: bytes) -> PhotoTags:
    """The people tags in one XMP packet (a sidecar's bytes or the packet embedded in a photo).
    Unreadable XMP, or XMP declaring a DTD (entities are never expanded), says nothing."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        return PhotoTags()
    start = data.find(b"<x:xmpmeta")
    start = data.find(b"<rdf:RDF") if start < 0 else start
    end_meta, end_rdf = data.rfind(b"</x:xmpmeta>"), data.rfind(b"</rdf:RDF>")
    if start < 0:
        return PhotoTags()
    end = end_meta + len(b"</x:xmpmeta>") if end_meta > start else end_rdf + len(b"</rdf:RDF>")
    try:
        root = ET.fromstring(data[start:end])  # the packet without its wrapper (padding, xpacket)
    except ET.ParseError:
        return PhotoTags()
    descriptions = [d for rdf in root.iter(_q("rdf:RDF")) for d in rdf.findall(_q("rdf:Description"))]
    found = PhotoTags()
    for description in descriptions:
        found = found | PhotoTags(_mwg(description) + _microsoft(description), *_keywords(description))
    creator = {_text(_field(d, "xmp:CreatorTool")) for d in descriptions}
    return PhotoTags(found.areas, found.people, found.keywords, "rap-desktop" in creator)


def _float(value: object) -> float | None:
    try:
        number = float(_text(value))  # type: ignore[arg-type]
    except ValueError:
        return None
    return number


def _mwg(description: ET.Element) -> tuple[TaggedArea, ...]:
    regions = description.find(_q("mwg-rs:Regions"))
    if regions is None:
        return ()
    dims_node = _field(regions, "mwg-rs:AppliedToDimensions")
    dims = None
    if isinstance(dims_node, ET.Element):
        w, h = _float(_field(dims_node, "stDim:w")), _float(_field(dims_node, "stDim:h"))
        dims = (w, h) if w and h and w > 0 and h > 0 else None
    out = []
    for li in _region_items(regions):
        area = _field(li, "mwg-rs:Area")
        values = [_float(_field(area, f"stArea:{k}")) for k in "xywh"] if isinstance(area, ET.Element) else []
        if len(values) != 4 or any(v is None for v in values):
            continue
        x, y, w, h = (float(v) for v in values)  # type: ignore[arg-type]
        if isinstance(area, ET.Element) and _text(_field(area, "stArea:unit")).lower() == "pixel":
            if dims is None:
                continue  # pixels of an unknown image: cannot place it
            x, y, w, h = x / dims[0], y / dims[1], w / dims[0], h / dims[1]
        kind = _text(_field(li, "mwg-rs:Type"))
        out.append(TaggedArea(_text(_field(li, "mwg-rs:Name")), kind, (x, y, w, h), dims))
    return tuple(out)


def _microsoft(description: ET.Element) -> tuple[TaggedArea, ...]:
    """Windows Photo Gallery's regions: MPReg:Rectangle "x, y, w, h" from the top-left corner."""
    info = description.find(_q("MP:RegionInfo"))
    holder = _field(info, "MPRI:Regions") if info is not None else None
    if not isinstance(holder, ET.Element):
        return ()
    out = []
    for li in holder.iter(_q("rdf:li")):
        rect = _text(_field(li, "MPReg:Rectangle"))
        parts = [p.strip() for p in rect.split(",")]
        try:
            x, y, w, h = (float(p) for p in parts)
        except ValueError:
            continue
        out.append(TaggedArea(_text(_field(li, "MPReg:PersonDisplayName")), "Face", (x + w / 2, y + h / 2, w, h), None))
    return tuple(out)


def _items(description: ET.Element, name: str) -> list[str]:
    element = description.find(_q(name))
    if element is None:
        return []
    return [li.text.strip() for li in element.iter(_q("rdf:li")) if li.text and li.text.strip()]


def _keywords(description: ET.Element) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    people = []
    for prop, separator in (
        ("digiKam:TagsList", "/"),
        ("lr:hierarchicalSubject", "|"),
        ("MicrosoftPhoto:LastKeywordXMP", "/"),
    ):
        for path in _items(description, prop):
            parts = [p.strip() for p in path.split(separator) if p.strip()]
            if len(parts) >= 2 and parts[0].casefold() in PEOPLE_ROOTS | PET_ROOTS:
                people.append((parts[-1], "Pet" if parts[0].casefold() in PET_ROOTS else "Face"))
    return tuple(people), tuple(_items(description, "dc:subject"))


def to_displayed(area: TaggedArea, size: tuple[int, int], turn: int) -> Box | None:
    """The area as a box in pixels of the photo as displayed (`size`, EXIF orientation `turn`
    applied); None when it has no area inside the photo."""
    width, height = size
    cx, cy, w, h = area.area
    corners = [(cx - w / 2, cy - h / 2), (cx + w / 2, cy + h / 2)]
    if turn >= 5 and area.dims is not None and width != height and _drawn_displayed(area.dims, size):
        turn = 1  # the writer used the displayed image: nothing to turn
    back = _INVERSE.get(turn, turn)
    points = [_to_stored(u, v, back) for u, v in corners]
    (a, b), (c, d) = points
    x1, x2 = sorted((min(max(a, 0.0), 1.0) * width, min(max(c, 0.0), 1.0) * width))
    y1, y2 = sorted((min(max(b, 0.0), 1.0) * height, min(max(d, 0.0), 1.0) * height))
    return (x1, y1, x2, y2) if x2 - x1 >= 1 and y2 - y1 >= 1 else None


def _drawn_displayed(dims: tuple[float, float], size: tuple[int, int]) -> bool:
    """AppliedToDimensions shaped like the displayed photo (portrait vs landscape), not the stored one."""
    return (dims[0] > dims[1]) == (size[0] > size[1])


def photo_tags(photo: str | os.PathLike, ours: AbstractSet[str] = frozenset()) -> tuple[PhotoTags, int]:
    """(the people tags of a photo: its sidecars photo.jpg.xmp and photo.xmp, then the XMP embedded
    in the file; its EXIF orientation). A file that cannot be read adds nothing. `ours`: the library's
    names (casefolded); in a sidecar this app wrote, the regions and keywords with those names are the
    app's own matches written out (its writer replaces other tools' regions of its names), not news."""
    sidecars, embedded, turn = _read_tags(photo)
    found = PhotoTags()
    for packet in sidecars:
        found = found | (packet.without(ours) if packet.by_us else packet)
    return found | embedded, turn


# What the files said, per photo path, while none of them changed (size and modification time of the
# photo and of both sidecars): an album read again (the import after the scan, the dialog opened once
# more) only looks at the files' dates. Measured at 20,000 photos: see benchmarks/people_import.results.md.
_Key = tuple[tuple[int, int] | None, ...]
_read_cache: dict[str, tuple[_Key, tuple[tuple[PhotoTags, ...], PhotoTags, int]]] = {}
_CACHE_LIMIT = 200_000


def _stamp(path: str | os.PathLike) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns) if stat.S_ISREG(info.st_mode) else None


def _read_tags(photo: str | os.PathLike) -> tuple[tuple[PhotoTags, ...], PhotoTags, int]:
    """(each sidecar's packet, the embedded packet, the orientation), read again only when a file changed."""
    sides = [sidecar_path(photo, style) for style in ("ext", "stem")]
    sides = [p for p in sides if p != Path(photo)]
    key = (_stamp(photo), *(_stamp(p) for p in sides))
    cached = _read_cache.get(os.fspath(photo))
    if cached is not None and cached[0] == key:
        return cached[1]
    packets = []
    for path, stamp in zip(sides, key[1:], strict=True):
        if stamp is not None:
            with contextlib.suppress(OSError):
                packets.append(parse(path.read_bytes()))
    data, turn = _embedded(photo) if key[0] is not None else (b"", 1)
    value = (tuple(packets), parse(data) if data else PhotoTags(), turn)
    if len(_read_cache) >= _CACHE_LIMIT:
        _read_cache.clear()
    _read_cache[os.fspath(photo)] = (key, value)
    return value


_XMP_APP1 = b"http://ns.adobe.com/xap/1.0/\x00"


def _embedded(photo: str | os.PathLike) -> tuple[bytes, int]:
    """The XMP packet inside the photo file and its EXIF orientation (the header only is read)."""
    with contextlib.suppress(OSError, ValueError, struct.error):
        found = _jpeg_header(photo)
        if found is not None:
            return found
    try:
        with Image.open(photo) as image:
            value = int(image.getexif().get(0x0112, 1))
            packet = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp") or b""
    except Exception:  # not an image, unreadable, a broken EXIF block: nothing to read
        return b"", 1
    if isinstance(packet, str):
        packet = packet.encode("utf-8")
    return bytes(packet), value if 1 <= value <= 8 else 1


def _jpeg_header(photo: str | os.PathLike) -> tuple[bytes, int] | None:
    """A JPEG's XMP packet and orientation from its APP1 segments, read as Pillow reads them (the last
    XMP segment, the first EXIF one) without Pillow's plugin search and EXIF parsing: three times
    faster per photo. None when the file is not a plain JPEG (then Pillow reads it)."""
    packet, turn, exif_seen = b"", 1, False
    with open(photo, "rb") as handle:
        if handle.read(2) != b"\xff\xd8":
            return None
        while True:
            marker = handle.read(2)
            if len(marker) < 2 or marker[0] != 0xFF:
                return None
            while marker[1] == 0xFF:  # fill bytes
                marker = marker[1:] + handle.read(1)
            if marker[1] in (0xDA, 0xD9):  # start of scan, end of image: the header is over
                return packet, turn
            if 0xD0 <= marker[1] <= 0xD7 or marker[1] == 0x01:
                return None
            (length,) = struct.unpack(">H", handle.read(2))
            if length < 2:
                return None
            if marker[1] != 0xE1:
                handle.seek(length - 2, os.SEEK_CUR)
                continue
            body = handle.read(length - 2)
            if body.startswith(_XMP_APP1):
                packet = body[len(_XMP_APP1) :]
            elif body.startswith(b"Exif\x00\x00") and not exif_seen:
                exif_seen = True
                turn = _orientation(body[6:])


def _orientation(tiff: bytes) -> int:
    """Tag 0x0112 of IFD0 in a TIFF-structured EXIF block; 1 when absent or not 1-8."""
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        raise ValueError("not a TIFF header")
    (offset,) = struct.unpack(order + "I", tiff[4:8])
    (count,) = struct.unpack(order + "H", tiff[offset : offset + 2])
    for n in range(count):
        entry = tiff[offset + 2 + 12 * n : offset + 14 + 12 * n]
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag == 0x0112:
            short = kind == 3  # SHORT, as cameras write it; else LONG
            value = struct.unpack(order + ("H" if short else "I"), entry[8:10] if short else entry[8:12])[0]
            return value if 1 <= value <= 8 else 1
    return 1
