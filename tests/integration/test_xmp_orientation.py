"""MWG areas of EXIF-rotated photos: written in the stored pixels (MWG 2.0, 5.9), read back by
exiftool, and a reader that turns the region with the photo lands on the box we drew on the
displayed photo. The photos are a package photo saved as JPEG with each orientation tag."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rap_desktop.core import corrections
from rap_desktop.core.album.caption import caption_folder
from rap_desktop.core.album.indexer import Indexer
from rap_desktop.core.images import load_image
from rap_desktop.core.store import photos as photo_rows
from rap_desktop.core.xmp import Region, orientation, write_sidecar

from .test_xmp import needs_exiftool, read_back

# how a reader shows the stored pixels for each tag (Pillow's names for the TIFF/Exif 0x0112 values)
SHOW = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,  # 90 degrees clockwise
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,  # 90 degrees counter-clockwise
}


def _tagged(source: Path, target: Path, tag: int) -> Path:
    exif = Image.Exif()
    exif[0x0112] = tag
    Image.open(source).convert("RGB").save(target, "JPEG", quality=92, exif=exif.tobytes())
    return target


@needs_exiftool
@pytest.mark.parametrize("tag", [6, 8, 3, 1, 5, 7, 2, 4])
def test_area_points_at_the_box_of_the_displayed_photo(tmp_path: Path, photos, tag: int) -> None:
    path = _tagged(photos["coffee"], tmp_path / f"coffee-{tag}.jpg", tag)  # stored 600 x 400
    assert orientation(path) == tag
    shown = load_image(path)  # what the app detects on and draws boxes over: the displayed photo
    assert shown.size == ((400, 600) if tag >= 5 else (600, 400))
    box = (60.0, 110.0, 250.0, 190.0)  # off-centre and not square: a wrong turn or mirror shows
    doc = read_back(write_sidecar(path, shown.size, "a cup", ["cup"], [Region("cup", "cup", box)]))

    assert read_back(path)["Orientation"] == tag  # the photo really carries the tag
    with Image.open(path) as raw:
        stored = raw.convert("RGB")  # the pixels as stored, not turned
    dims = doc["RegionInfo"]["AppliedToDimensions"]
    assert (dims["W"], dims["H"]) == stored.size == (600, 400)
    (found,) = doc["RegionInfo"]["RegionList"]
    area = found["Area"]
    width, height = stored.size
    left, top = (area["X"] - area["W"] / 2) * width, (area["Y"] - area["H"] / 2) * height
    right, bottom = left + area["W"] * width, top + area["H"] * height
    crop = stored.crop(tuple(round(v) for v in (left, top, right, bottom)))
    if SHOW[tag] is not None:
        crop = crop.transpose(SHOW[tag])  # the reader turns the region with the photo
    expected = shown.image.crop(tuple(round(v) for v in box))
    assert crop.size == expected.size == (190, 80)
    assert np.array_equal(np.asarray(crop), np.asarray(expected))


def test_orientation_of_files_without_or_with_a_broken_tag(tmp_path: Path, photos) -> None:
    plain = tmp_path / "plain.jpg"
    Image.open(photos["coffee"]).convert("RGB").save(plain, "JPEG")
    odd = tmp_path / "odd.jpg"
    exif = Image.Exif()
    exif[0x0112] = 42  # not an orientation
    Image.open(photos["coffee"]).convert("RGB").save(odd, "JPEG", exif=exif.tobytes())
    text = tmp_path / "text.jpg"
    text.write_text("not a photo")
    assert [orientation(p) for p in (plain, odd, text, tmp_path / "gone.jpg")] == [1, 1, 1, 1]


@needs_exiftool
def test_indexed_rotated_photos_get_their_regions_in_the_sidecar(session, photos, tmp_path: Path) -> None:
    # the real route: index (boxes detected on the displayed photo), a confirmed region, the album's
    # sidecar writer; the area must land on the region's pixels once a reader turns it with the photo
    album = tmp_path / "album"
    album.mkdir()
    for tag in (6, 8):
        _tagged(photos["bus"], album / f"bus-{tag}.jpg", tag)
    store = session.store()
    store.add_concept("bo", photos["zidane"], category="person")
    retriever = session.retriever()
    retriever.threshold = 0.999  # random weights: only the region the user confirms is named
    assert Indexer(retriever, workers=0).index([album]).indexed == 2
    boxes = {}
    for tag in (6, 8):
        path = album / f"bus-{tag}.jpg"
        photo_id, sha, _ = photo_rows.find_photo(store, str(path))
        found = photo_rows.regions(store, photo_id, session.embedder.model_id)
        small = min(found, key=lambda r: (r.box[2] - r.box[0]) * (r.box[3] - r.box[1]))  # off-centre
        assert small.source == "detector"
        boxes[tag] = small.box
        corrections.confirm(store, sha, small.name, "bo")
        with store.transaction():  # a caption already stored: caption-album only writes the sidecar
            store.conn.execute(
                "INSERT INTO album_captions(photo_id, text, model, concepts, created) "
                "VALUES (?, 'a bus', 'm', '[]', 0)",
                (photo_id,),
            )
    report = caption_folder(store, _no_generator, str(album), write_xmp=True)
    assert len(report.sidecars) == 2 and not report.failed
    for tag in (6, 8):
        path = album / f"bus-{tag}.jpg"
        doc = read_back(Path(f"{path}.xmp"))
        (found,) = [r for r in doc["RegionInfo"]["RegionList"] if r["Name"] == "bo"]
        with Image.open(path) as raw:
            stored = raw.convert("RGB")
        assert stored.size == (810, 1080) and load_image(path).size == (1080, 810)
        dims = doc["RegionInfo"]["AppliedToDimensions"]
        assert (dims["W"], dims["H"]) == stored.size
        area, (width, height) = found["Area"], stored.size
        left, top = (area["X"] - area["W"] / 2) * width, (area["Y"] - area["H"] / 2) * height
        crop = stored.crop(tuple(round(v) for v in (left, top, left + area["W"] * width, top + area["H"] * height)))
        expected = load_image(path).image.crop(tuple(round(v) for v in boxes[tag]))
        assert np.array_equal(np.asarray(crop.transpose(SHOW[tag])), np.asarray(expected))


def _no_generator():
    raise AssertionError("every photo has a stored caption: the generator must not load")
