"""XMP sidecars: the caption (dc:description), the names as keywords (dc:subject) and the regions as
MWG Regions (name, type Face / Pet / Focus, normalised centre-based area), which digiKam, Immich and
Lightroom read. The photo itself is never rewritten.

An existing sidecar is merged, never clobbered: other tools' properties stay; its keywords are kept
and ours added; its regions are kept except those carrying one of our names (ours replace them); our
caption replaces dc:description. Names are compared case-insensitively, and every property is read in
each form RDF allows (element, parseType="Resource", attribute shorthand, nested rdf:Description), so
a rerun never adds a region or keyword twice. A sidecar we cannot parse, or one declaring a DTD
(entities are never expanded), is left untouched and reported.
Our boxes are in the photo as displayed (EXIF orientation applied); MWG areas are not. The MWG
Guidelines for Handling Image Metadata 2.0 (2010), section 5.9 "Image Region Metadata", say region
metadata applies to the stored image, and that a reader applying the Exif Orientation must rotate the
regions with it. So for a photo whose file carries an orientation other than 1 the areas and the
AppliedToDimensions are written in the stored (unrotated) pixels: exiftool's rotate_regions.config
and the orientation test images of skatsubo/exif-orientation-vs-face-regions (made for the Immich and
PiGallery2 region fixes) read regions the same way.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import Image

from .errors import RapError
from .fsutil import atomic_file

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "mwg-rs": "http://www.metadataworkinggroup.com/schemas/regions/",
    "stArea": "http://ns.adobe.com/xmp/sType/Area#",
    "stDim": "http://ns.adobe.com/xap/1.0/sType/Dimensions#",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

PET = frozenset(
    "animal pet dog puppy cat kitten bird parrot horse pony rabbit bunny hamster guinea-pig fish turtle "  # noqa: SIM905
    "cow sheep goat pig chicken duck".split()
)
FACE = frozenset("person people man woman boy girl child baby kid face".split())  # noqa: SIM905
# characters XML 1.0 cannot carry (a generator may emit them): dropped, or the sidecar would not parse
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean_text(text: str) -> str:
    """`text` without the characters XML 1.0 cannot carry (what the sidecar will hold)."""
    return _NOT_XML.sub("", text)


def _q(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{NS[prefix]}}}{local}"


@dataclass(frozen=True)
class Region:
    name: str
    category: str
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels of the displayed photo

    @property
    def type(self) -> str:
        word = self.category.strip().lower()
        return "Face" if word in FACE else "Pet" if word in PET else "Focus"

    def area(self, width: int, height: int, orientation: int = 1) -> tuple[float, float, float, float]:
        """MWG area: centre x, centre y, width, height, each normalised to 0..1, in the stored
        image of a photo displayed `width` x `height` after its EXIF `orientation`."""
        x1, y1, x2, y2 = self.box
        corners = [_to_stored(x / width, y / height, orientation) for x, y in ((x1, y1), (x2, y2))]
        (a, b), (c, d) = corners
        left, right, top, bottom = min(a, c), max(a, c), min(b, d), max(b, d)
        return ((left + right) / 2, (top + bottom) / 2, right - left, bottom - top)


def _to_stored(u: float, v: float, orientation: int) -> tuple[float, float]:
    """A normalised point of the displayed photo in its stored pixels. Orientation 6 displays the
    stored image turned 90 degrees clockwise, 8 turned 90 degrees counter-clockwise, 3 turned 180;
    2, 4, 5 and 7 are the mirrored forms (TIFF/Exif tag 0x0112)."""
    return {
        2: (1 - u, v),
        3: (1 - u, 1 - v),
        4: (u, 1 - v),
        5: (v, u),
        6: (v, 1 - u),
        7: (1 - v, 1 - u),
        8: (1 - v, u),
    }.get(orientation, (u, v))


def orientation(photo: str | os.PathLike) -> int:
    """The EXIF orientation (1-8) of a photo file; 1 when it has none or cannot be read."""
    try:
        with Image.open(photo) as image:  # the header only: no pixels are decoded
            value = int(image.getexif().get(0x0112, 1))
    except Exception:  # not an image, unreadable, a broken EXIF block: as displayed
        return 1
    return value if 1 <= value <= 8 else 1


def sidecar_path(photo: str | os.PathLike, style: str = "ext") -> Path:
    """`photo.jpg.xmp` (style "ext": digiKam's default) or `photo.xmp` (style "stem": Lightroom's)."""
    path = Path(photo)
    if style == "ext":
        return path.with_name(path.name + ".xmp")
    if style == "stem":
        return path.with_suffix(".xmp")
    raise RapError(f"unknown sidecar naming {style!r}: use 'ext' (photo.jpg.xmp) or 'stem' (photo.xmp)")


def _sub(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, _q(name), {(_q(k) if ":" in k else k): v for k, v in attrs.items()})
    if text is not None:
        element.text = clean_text(text)
    return element


def _resource(parent: ET.Element, name: str) -> ET.Element:
    return _sub(parent, name, **{"rdf:parseType": "Resource"})


def _rdf(root: ET.Element) -> ET.Element:
    rdf = root if root.tag == _q("rdf:RDF") else root.find(_q("rdf:RDF"))
    return rdf if rdf is not None else _sub(root, "rdf:RDF")


def _description(rdf: ET.Element) -> ET.Element:
    found = rdf.find(_q("rdf:Description"))
    return found if found is not None else _sub(rdf, "rdf:Description", **{"rdf:about": ""})


def _drop_empty(rdf: ET.Element, keep: ET.Element) -> None:
    """Descriptions that held only properties we replaced (exiftool writes one per namespace) go."""
    for description in rdf.findall(_q("rdf:Description")):
        if description is not keep and not len(description) and set(description.attrib) <= {_q("rdf:about")}:
            rdf.remove(description)


def _existing(path: Path) -> ET.Element | None:
    if not path.exists():
        return None
    try:
        data = path.read_bytes()
        # XMP never needs a DTD: refusing one means no entity is ever expanded (defusedxml's rule)
        if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
            raise ET.ParseError("it declares a DTD or entities, which XMP does not use")
        _keep_prefixes(data)
        root = ET.fromstring(data)
    except (ET.ParseError, OSError) as exc:
        raise RapError(f"{path} exists but cannot be read as XMP ({exc}); left untouched") from None
    if root.tag not in (_q("x:xmpmeta"), _q("rdf:RDF")):
        raise RapError(f"{path} exists but is not an XMP sidecar; left untouched")
    return root


def _keep_prefixes(data: bytes) -> None:
    """Write other tools' namespaces with their own prefixes (crs:, digiKam:, lr:), not ns0:. ElementTree
    keeps one process-wide table; a prefix or URI it already knows keeps its first meaning."""
    known = set(ET._namespace_map) | set(ET._namespace_map.values())  # no public reader
    with contextlib.suppress(ET.ParseError):
        for _, (prefix, uri) in ET.iterparse(io.BytesIO(data), events=("start-ns",)):
            if prefix and uri not in known and prefix not in known:
                with contextlib.suppress(ValueError):  # ns0-style prefixes are refused
                    ET.register_namespace(prefix, uri)
                known |= {prefix, uri}


def _take(descriptions: list[ET.Element], name: str) -> list[ET.Element]:
    """Remove property `name` from every description, in element and in attribute (shorthand)
    form; returns the elements removed. RDF allows either, and two of them are one property twice."""
    removed = []
    key = _q(name)
    for description in descriptions:
        description.attrib.pop(key, None)
        for element in description.findall(key):
            description.remove(element)
            removed.append(element)
    return removed


def _field(node: ET.Element, name: str, q: Callable[[str], str] = _q) -> str | ET.Element | None:
    """A field of an RDF struct however it was written: an attribute of the node (shorthand), a
    child element (rdf:parseType="Resource"), or either on an rdf:Description inside the node (the
    compact form digiKam / Exiv2, Lightroom and `exiftool -api Compact=Shorthand` write). `q`
    qualifies a prefixed name (another module's namespaces)."""
    key = q(name)
    for holder in (node, *node.findall(q("rdf:Description"))):
        if key in holder.attrib:
            return holder.attrib[key]
        found = holder.find(key)
        if found is not None:
            return found
    return None


def _text(value: str | ET.Element | None) -> str:
    if isinstance(value, ET.Element):
        value = value.text or _field(value, "rdf:value")  # a qualified value holds it in rdf:value
        return _text(value) if isinstance(value, ET.Element) else (value or "").strip()
    return (value or "").strip()


def _old_keywords(elements: list[ET.Element]) -> list[str]:
    return [li.text.strip() for e in elements for li in e.iter(_q("rdf:li")) if li.text and li.text.strip()]


def _region_items(regions: ET.Element) -> list[ET.Element]:
    listing = _field(regions, "mwg-rs:RegionList")
    if not isinstance(listing, ET.Element):
        return []
    return [li for bag in listing.iter(_q("rdf:Bag")) for li in bag.findall(_q("rdf:li"))]


def _old_regions(elements: list[ET.Element], ours: set[str]) -> list[ET.Element]:
    """Their regions, minus those carrying one of our names (compared case-insensitively)."""
    return [
        li
        for regions in elements
        for li in _region_items(regions)
        if _text(_field(li, "mwg-rs:Name")).casefold() not in ours
    ]


def _merge_keywords(old: list[str], names: Sequence[str]) -> list[str]:
    """Their keywords in their order, one of ours taking the place of the same word in any case,
    then the rest of ours; none of ours twice."""
    ours = {n.casefold(): n for n in names}
    return list(dict.fromkeys([*(ours.get(word.casefold(), word) for word in old), *names]))


def write_sidecar(
    photo: str | os.PathLike,
    size: tuple[int, int],
    caption: str | None,
    names: Sequence[str],
    regions: Sequence[Region],
    style: str = "ext",
    drop: Sequence[str] = (),
) -> Path:
    """Write (or merge into) the photo's sidecar atomically; returns its path. `size` and the
    region boxes are in the photo as displayed (EXIF orientation applied). Keywords and regions
    named in `drop` (and not in `names`) go: names this app wrote that no longer hold."""
    path = sidecar_path(photo, style)
    root = _existing(path)
    if root is None:
        root = ET.Element(_q("x:xmpmeta"))
    rdf = _rdf(root)
    description = _description(rdf)
    descriptions = rdf.findall(_q("rdf:Description"))  # the photo's own properties, not nested structs
    old_caption = _take(descriptions, "dc:description")
    gone = {n.casefold() for n in drop} - {n.casefold() for n in names}
    old_words = [w for w in _old_keywords(_take(descriptions, "dc:subject")) if w.casefold() not in gone]
    keywords = _merge_keywords(old_words, names)
    kept_regions = _old_regions(_take(descriptions, "mwg-rs:Regions"), {n.casefold() for n in names} | gone)
    _take(descriptions, "xmp:CreatorTool")
    description.set(_q("xmp:CreatorTool"), "rap-desktop")

    if caption is not None:
        alt = _sub(_sub(description, "dc:description"), "rdf:Alt")
        _sub(alt, "rdf:li", caption).set(XML_LANG, "x-default")
    elif old_caption:
        description.extend(old_caption)
    if keywords:
        bag = _sub(_sub(description, "dc:subject"), "rdf:Bag")
        for word in keywords:
            _sub(bag, "rdf:li", word)
    if regions or kept_regions:
        width, height = size
        turn = orientation(photo)
        stored = (height, width) if turn >= 5 else (width, height)  # 5-8 swap the sides
        holder = _resource(description, "mwg-rs:Regions")
        dims = _resource(holder, "mwg-rs:AppliedToDimensions")
        _sub(dims, "stDim:w", str(stored[0]))
        _sub(dims, "stDim:h", str(stored[1]))
        _sub(dims, "stDim:unit", "pixel")
        bag = _sub(_sub(holder, "mwg-rs:RegionList"), "rdf:Bag")
        bag.extend(kept_regions)
        for region in regions:
            li = _sub(bag, "rdf:li", **{"rdf:parseType": "Resource"})
            _sub(li, "mwg-rs:Name", region.name)
            _sub(li, "mwg-rs:Type", region.type)
            area = _resource(li, "mwg-rs:Area")
            for key, value in zip(("x", "y", "w", "h"), region.area(width, height, turn), strict=True):
                _sub(area, f"stArea:{key}", f"{min(max(value, 0.0), 1.0):.6f}")
            _sub(area, "stArea:unit", "normalized")
    _drop_empty(rdf, description)
    _save(root, path)
    return path


def _save(root: ET.Element, path: Path) -> None:
    ET.indent(root, space=" ")
    data = b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    data += ET.tostring(root, encoding="utf-8", xml_declaration=False) + b'\n<?xpacket end="w"?>\n'
    with atomic_file(path) as handle:
        handle.write(data)


# --- renaming a concept in the sidecars we wrote --------------------------------------------------


def written_by_us(descriptions: Sequence[ET.Element]) -> bool:
    """A sidecar this app wrote (or merged into): its xmp:CreatorTool says so."""
    return any(_text(_field(d, "xmp:CreatorTool")) == "rap-desktop" for d in descriptions)


def _set_field(node: ET.Element, name: str, value: str) -> None:
    """Set a struct field in whichever form `_field` found it."""
    key = _q(name)
    for holder in [node, *node.findall(_q("rdf:Description"))]:  # the places `_field` looks, in its order
        if key in holder.attrib:
            holder.set(key, value)
            return
        found = holder.find(key)
        if found is not None:
            found.text = value
            return


def _rename_keywords(descriptions: Sequence[ET.Element], old: str, new: str) -> bool:
    """Keyword `old` (any case) becomes `new`; a keyword that would then be there twice goes."""
    changed = False
    for description in descriptions:
        for bag in (b for s in description.findall(_q("dc:subject")) for b in s):
            seen: set[str] = set()
            for li in list(bag.findall(_q("rdf:li"))):
                word = (li.text or "").strip()
                if word.casefold() == old.casefold() and word != new:
                    li.text, word, changed = new, new, True
                if word.casefold() in seen and word.casefold() == new.casefold():
                    bag.remove(li)
                    changed = True
                seen.add(word.casefold())
    return changed


def _rename_regions(descriptions: Sequence[ET.Element], old: str, new: str) -> bool:
    changed = False
    for description in descriptions:
        for holder in description.findall(_q("mwg-rs:Regions")):
            for li in _region_items(holder):
                if _text(_field(li, "mwg-rs:Name")).casefold() == old.casefold():
                    _set_field(li, "mwg-rs:Name", new)
                    changed = True
    return changed


def _retag_caption(descriptions: Sequence[ET.Element], old: str, new: str) -> bool:
    pattern = re.compile(re.escape(f"<{old}>"), re.IGNORECASE)
    changed = False
    for description in descriptions:
        for li in (li for d in description.findall(_q("dc:description")) for li in d.iter(_q("rdf:li"))):
            text = pattern.sub(f"<{new}>".replace("\\", r"\\"), li.text or "")
            if li.text and text != li.text:
                li.text, changed = text, True
    return changed


def _names(descriptions: Sequence[ET.Element]) -> set[str]:
    """The keywords and region names of a sidecar, casefolded."""
    words = _old_keywords([s for d in descriptions for s in d.findall(_q("dc:subject"))])
    regions = [_text(_field(li, "mwg-rs:Name")) for d in descriptions for h in d.findall(_q("mwg-rs:Regions"))
               for li in _region_items(h)]
    return {n.casefold() for n in (*words, *regions)}


def ours(path: str | os.PathLike) -> bool:
    """The sidecar exists and this app wrote it (one that cannot be read is not ours to touch)."""
    try:
        root = _existing(Path(path))
    except RapError:
        return False
    return root is not None and written_by_us(_rdf(root).findall(_q("rdf:Description")))


def rename_in_sidecar(path: str | os.PathLike, old: str, new: str) -> bool:
    """In a sidecar this app wrote: the keyword `old`, regions named `old` and `<old>` in the caption
    now say `new` (compared case-insensitively). Rewritten atomically; False when nothing named it
    or the sidecar is not ours (another tool's file is never touched)."""
    return rewrite_name(path, old, new)[0]


def rewrite_name(path: str | os.PathLike, old: str, new: str) -> tuple[bool, bool]:
    """`rename_in_sidecar`, and whether the sidecar named `new` already (a keyword or a region):
    (changed, had new)."""
    path = Path(path)
    try:
        data = path.read_bytes().decode("utf-8", "replace").casefold()
    except OSError:
        return False, False
    # the quick test (most sidecars do not name it at all), on the name as XML writes it too ("&amp;")
    if not any(form.casefold() in data for form in (old, escape(old, {'"': "&quot;", "'": "&apos;"}))):
        return False, False
    root = _existing(path)
    descriptions = _rdf(root).findall(_q("rdf:Description")) if root is not None else []
    if root is None or not written_by_us(descriptions):
        return False, False
    had_new = new.casefold() in _names(descriptions)
    parts = (_rename_keywords, _rename_regions, _retag_caption)
    changed = [rename(descriptions, old, new) for rename in parts]  # every part, no short cut
    if any(changed):
        _save(root, path)
    return any(changed), had_new
