"""The models on working-resolution decodes: boxes in the original photo's pixels match a full decode's,
crop embeddings stay equivalent (tensor-op preprocessing, reduced decodes) to PIL crops of the full photo."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rap_desktop.core.images import crop_box, load_image, load_working
from rap_desktop.core.models import crop_tensors
from rap_desktop.core.regions import iou
from rap_desktop.core.retrieval import detect_original, embed_regions

CLASSES = ["person", "tie", "ball"]


def _big(path: Path, size: tuple[int, int]) -> bytes:
    """A package photo scaled up to `size` as a JPEG (big enough to be decoded at half size)."""
    with Image.open(path) as image:
        big = image.convert("RGB").resize(size, Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    big.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def _boxes(size: tuple[int, int], n: int = 8) -> list[tuple[float, float, float, float]]:
    rng = np.random.default_rng(0)
    width, height = size
    out = []
    for _ in range(n):
        w, h = rng.uniform(0.1, 0.6) * width, rng.uniform(0.1, 0.6) * height
        x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
        out.append((x, y, x + w, y + h))
    return out


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_boxes_from_a_reduced_decode_match_the_full_decode(session, photos) -> None:
    data = _big(photos["zidane"], (2560, 1440))
    full, working = load_image(data), load_working(data)
    assert working.scale == 2.0
    detector = session.detector
    detector.confidence = 0.05  # random weights: scores of 0.08-0.14; keep those near 0.1 on both sides
    from_full = [(d.box, d.label) for d in detector.detect(full.image, CLASSES)]
    from_working = detect_original(detector.detect(working.image, CLASSES), working)
    assert len(from_full) >= 3
    # The best three boxes of the full decode are found on the reduced one, in the original photo's
    # pixels. Random weights: every score sits near the threshold and a grey level of difference
    # between the decodes moves a box by a pixel or two of the detector's 320-px frame (8-16 px here),
    # so the boxes are compared by overlap (IoU 0.9: at most ~2% of a box's side apart).
    for box, label in from_full[:3]:
        best = max((iou(box, b) for b, lab, _ in from_working if lab == label), default=0.0)
        assert best >= 0.9, (box, label, from_working)


def test_crop_embeddings_from_a_reduced_decode_match_full_crops(session, photos) -> None:
    data = _big(photos["astronaut"], (2800, 2800))
    full, working = load_image(data), load_working(data)
    assert working.scale == 2.0
    boxes = _boxes(full.size)
    today = session.embedder.embed_images([crop_box(full.image, box) for box in boxes])
    now = embed_regions(session.embedder, working, boxes)
    assert _cosines(today, now).min() >= 0.99


def _tensor_vs_pil(embedder, photos) -> None:
    embedder.load()
    pairs = []
    for name in ("astronaut", "zidane", "coffee", "bus"):
        image = load_image(photos[name]).image
        pairs.append((image, [*_boxes(image.size, 4), (0.5, 3.2, 40.7, 30.1)]))  # one crop smaller than the input
    pil = embedder.embed_images([crop_box(image, box) for image, boxes in pairs for box in boxes])
    embedder.tensor_crops = True
    try:
        tensors = embedder.embed_boxes(pairs)
    finally:
        embedder.tensor_crops = False
    assert _cosines(pil, tensors).min() >= 0.99
    # and the model input itself: the same pixels as open_clip's PIL preprocessing, to a grey level or so
    image, boxes = pairs[0]
    spec = crop_tensors.clip_input(embedder._preprocess, embedder._model.visual.image_size)
    ours = crop_tensors.prepare(crop_tensors.upload(image, "cpu"), boxes, spec)
    reference = np.stack([embedder._preprocess(crop_box(image, box)).numpy() for box in boxes])
    assert np.abs(ours.numpy() - reference).mean() < 0.02


def _reduced_vs_full(embedder, photos) -> None:
    """`embed_images` box-reduces a big crop before open_clip's preprocessing: the same model input,
    to a grey level or so, and the same embedding as open_clip's preprocessing of the whole crop."""
    import torch

    embedder.load()
    image = load_image(_big(photos["astronaut"], (2800, 2800))).image
    crops = [crop_box(image, box) for box in [(0, 0, *image.size), *_boxes(image.size, 5)]]
    assert any(embedder._fitted(crop).size != crop.size for crop in crops)  # the reduction is exercised
    reference = torch.stack([embedder._preprocess(crop) for crop in crops])
    ours = torch.stack([embedder._preprocess(embedder._fitted(crop)) for crop in crops])
    assert (ours - reference).abs().mean() < 0.02  # normalised units: ~1 grey level in 255
    with torch.inference_mode():
        full = embedder._model.encode_image(reference).numpy()
    assert _cosines(full, embedder.embed_images(crops)).min() >= 0.99


def test_tensor_preprocessing_matches_pil_on_cpu(session, photos) -> None:
    _tensor_vs_pil(session.embedder, photos)


def test_reduced_crops_match_full_crops(session, photos) -> None:
    _reduced_vs_full(session.embedder, photos)


@pytest.mark.slow
def test_tensor_preprocessing_matches_pil_with_vit_b_32(tmp_path, photos) -> None:
    """The light model in its real shape (random weights): ViT-B-32 at 224 px, tensor crops and
    reduced crops."""
    import importlib.util

    import rap_desktop.torch_compat  # noqa: F401
    from rap_desktop.core.models.embedder import ClipEmbedder
    from rap_desktop.core.models.registry import ModelSpec

    bench = Path(__file__).resolve().parents[2] / "benchmarks" / "retrieval.py"
    spec = importlib.util.spec_from_file_location("retrieval_bench", bench)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    module.write_clip(tmp_path / "ViT-B-32", "ViT-B-32")
    files = ("open_clip_config.json", "open_clip_model.safetensors")
    model = ModelSpec("vit-b-32-random", "embedder", "open_clip", files=files, local_path=str(tmp_path / "ViT-B-32"))
    embedder = ClipEmbedder(model, device="cpu")
    _tensor_vs_pil(embedder, photos)
    _reduced_vs_full(embedder, photos)


def test_a_confirmed_region_of_a_big_photo_is_kept_at_a_sensible_size(session, photos, tmp_path: Path) -> None:
    """Confirming keeps the region as a photo of the concept: a large region of a big (rotated) photo
    from a reduced decode, at most EXEMPLAR_MAX_SIDE long, the same pixels the right way up; a small
    one as the original has it."""
    from rap_desktop.core import corrections
    from rap_desktop.core.album.indexer import Indexer
    from rap_desktop.core.images import EXEMPLAR_MAX_SIDE
    from rap_desktop.core.store import photos as photo_rows

    album = tmp_path / "album"
    album.mkdir()
    stored = Image.open(io.BytesIO(_big(photos["astronaut"], (2100, 2800))))  # as the file holds it
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter: 2800 x 2100
    stored.save(album / "big.jpg", quality=92, exif=exif.tobytes())
    store = session.store()
    store.add_concept("bo", photos["zidane"], category="person")
    assert Indexer(session.retriever(), workers=0).index([album]).indexed == 1
    photo_id, sha, _ = photo_rows.find_photo(store, str(album / "big.jpg"))
    vector = photo_rows.regions(store, photo_id, session.embedder.model_id)[0].vector
    full = load_image(album / "big.jpg")
    assert full.size == (2800, 2100)

    def confirmed(box) -> Image.Image:
        region = photo_rows.add_region(store, photo_id, _proposal(box), vector, session.embedder.model_id)
        corrections.confirm(store, sha, region.name, "bo")
        return load_image(store.image_path(max(store.exemplars("bo"), key=lambda e: e.id).image)).image

    kept = confirmed((0.0, 0.0, 2800.0, 2100.0))  # halved (1400 x 1050), then at most 1344 long
    assert kept.size == (EXEMPLAR_MAX_SIDE, 1008)  # was the whole 2800 x 2100
    reference = full.image.resize(kept.size, Image.Resampling.BOX)
    assert np.abs(np.asarray(kept, np.float32) - np.asarray(reference, np.float32)).mean() < 3.0
    small = (1000.0, 500.0, 1300.0, 900.0)
    kept = confirmed(small)
    assert kept.size == (300, 400)
    assert np.abs(np.asarray(kept, np.float32) - np.asarray(crop_box(full.image, small), np.float32)).mean() < 1.0


def _proposal(box):
    from rap_desktop.core.regions import USER, Proposal

    return Proposal(box, "person", 1.0, USER)
