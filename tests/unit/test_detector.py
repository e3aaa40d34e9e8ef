"""The ultralytics detector on tiny random-weight checkpoints in the real .pt format, real photos."""

from __future__ import annotations

import functools
import http.server
import io
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar

import numpy as np
import pytest
from PIL import Image

from rap_desktop.core.errors import ModelMissingError, RapError
from rap_desktop.core.models import weights
from rap_desktop.core.models.detector import Detection, YoloDetector, detector_spec, import_ultralytics
from rap_desktop.core.models.embedder import ClipEmbedder
from rap_desktop.core.models.registry import AUTO_CHOICE, DETECTOR, ModelSpec, Registry
from rap_desktop.core.settings import load_settings
from rap_desktop.devtools.tiny_models import write_tiny_clip

CLASSES = ["person", "bus", "dog", "cat"]


@pytest.fixture(scope="module")
def registry(tiny_config: Path) -> Registry:
    return load_settings(tiny_config, environ={}).registry()


@pytest.fixture(scope="module")
def encoder(registry: Registry) -> ClipEmbedder:
    return ClipEmbedder(registry.get("tiny-clip"), "cpu")


@pytest.fixture(scope="module")
def world_spec(registry: Registry, tiny_config: Path) -> ModelSpec:
    return detector_spec(registry, load_settings(tiny_config, environ={}).detector, "cpu")


@pytest.fixture
def detector(world_spec: ModelSpec, encoder: ClipEmbedder) -> YoloDetector:
    return YoloDetector(world_spec, encoder, "cpu")


def _with_options(spec: ModelSpec, **options: object) -> ModelSpec:
    return replace(spec, options=MappingProxyType({**spec.options, **options}))


def _check(found: list[Detection], image: Image.Image, classes: list[str], confidence: float) -> None:
    width, height = image.size
    for d in found:
        x1, y1, x2, y2 = d.box
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height, d
        assert d.label in classes and confidence <= d.score <= 1
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)


def test_tiny_world_model_detects_on_real_photos(
    detector: YoloDetector, photos: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    assert detector.spec.local_path and detector.spec.local_path.endswith(".pt")
    for name in ("bus", "zidane"):
        image = Image.open(photos[name])
        found = detector.detect(image, CLASSES)
        assert 0 < len(found) <= detector.max_detections
        assert all(isinstance(d, Detection) and isinstance(d.box[0], float) for d in found)
        _check(found, image, CLASSES, detector.confidence)
    assert capfd.readouterr().out == ""  # ultralytics must not write to stdout (the CLI prints JSON there)


def test_lower_confidence_finds_more(world_spec: ModelSpec, encoder: ClipEmbedder, photos: dict[str, Path]) -> None:
    image = Image.open(photos["bus"])
    strict = YoloDetector(_with_options(world_spec, confidence=0.9, max_detections=300), encoder, "cpu")
    loose = YoloDetector(_with_options(world_spec, confidence=0.0001, max_detections=300), encoder, "cpu")
    few, many = strict.detect(image, CLASSES), loose.detect(image, CLASSES)
    assert len(many) > len(few) and len(many) > 10
    _check(many, image, CLASSES, 0.0001)


def test_image_goes_in_as_bgr_like_ultralytics_reads_pil(detector: YoloDetector, photos: dict[str, Path]) -> None:
    image = Image.open(photos["zidane"])
    image = image.resize((detector.image_size, detector.image_size * image.height // image.width))  # fits the frame
    ours = detector.detect(image, CLASSES)
    # ultralytics' own PIL route (it converts to BGR itself) must see the very same pixels
    options = {"conf": detector.confidence, "imgsz": detector.image_size, "max_det": detector.max_detections}
    direct = detector._model.predict(image, verbose=False, **options)[0]
    assert np.allclose(
        [d.box for d in ours], direct.boxes.xyxy.numpy(), atol=0.05
    )  # float sums differ slightly with the thread count
    swapped = detector.detect(Image.fromarray(np.asarray(image.convert("RGB"))[:, :, ::-1]), CLASSES)
    assert [d.score for d in swapped] != [d.score for d in ours]  # channel order does matter to the model


def test_boxes_are_in_the_given_pixels_even_with_an_exif_rotation_tag(
    detector: YoloDetector, photos: dict[str, Path]
) -> None:
    def encoded(**kwargs: object) -> Image.Image:
        buffer = io.BytesIO()
        Image.open(photos["bus"]).save(buffer, "JPEG", quality=95, **kwargs)
        return Image.open(buffer)

    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90": ultralytics applies this itself to a PIL image it is given
    plain, tagged = encoded(), encoded(exif=exif.tobytes())
    assert tagged.getexif().get(0x0112) == 6 and tagged.size == plain.size == (810, 1080)
    found = detector.detect(tagged, CLASSES)
    assert found
    _check(found, tagged, CLASSES, detector.confidence)
    assert np.allclose(
        [d.box for d in found], [d.box for d in detector.detect(plain, CLASSES)], atol=0.05
    )  # multi-threaded float sums vary a little
    rotated = detector._model.predict(tagged, imgsz=detector.image_size, verbose=False)
    assert rotated[0].orig_shape == (810, 1080)  # what would have happened: another frame


def test_reprompt_only_when_the_class_list_changes(detector: YoloDetector, photos: dict[str, Path]) -> None:
    image = Image.open(photos["bus"])
    detector.detect(image, ["person", "dog"])
    first_features, first_predictor = detector._model.model.txt_feats, detector._model.predictor
    assert detector.encode_count == 1 and detector.names == {0: "person", 1: "dog"}
    assert tuple(first_features.shape) == (1, 2, 512) and detector._model.model.model[-1].nc == 2

    detector.detect(image, [" person", "dog ", "Dog", ""])  # the same prompts, trimmed and de-duplicated
    assert detector.encode_count == 1
    assert detector._model.model.txt_feats is first_features and detector._model.predictor is first_predictor

    found = detector.detect(image, ["Person", "DOG"])  # new label spellings: re-prompted, not re-encoded
    assert detector.encode_count == 1 and detector._model.model.txt_feats is first_features
    assert detector._model.predictor is not first_predictor and detector.names == {0: "Person", 1: "DOG"}
    assert {d.label for d in found} <= {"Person", "DOG"}

    found = detector.detect(image, ["mug", "plush toy", "bicycle"])
    assert detector.encode_count == 2 and detector._model.model.model[-1].nc == 3
    assert detector.names == {0: "mug", 1: "plush toy", 2: "bicycle"}
    assert found and {d.label for d in found} <= {"mug", "plush toy", "bicycle"}

    detector.detect(image, ["person", "dog"])  # back to the first list: cached features, no encoder run
    assert detector.encode_count == 2 and detector._model.model.txt_feats is first_features
    assert detector.detect(image, []) == []


def test_prompt_order_maps_features_to_labels(detector: YoloDetector, photos: dict[str, Path]) -> None:
    # the features really reach the model in the order of the names: swapping the list swaps labels only
    image = Image.open(photos["zidane"])

    def seen(classes: list[str]) -> set[tuple[tuple[float, ...], str, float]]:
        return {
            (tuple(round(v, 1) for v in d.box), d.label, round(d.score, 4)) for d in detector.detect(image, classes)
        }

    forward, backward = seen(["person", "cat"]), seen(["cat", "person"])
    assert forward and forward == backward
    assert forward != seen(["person", "bicycle"])


def test_fixed_class_model_ignores_prompts(tmp_path: Path, photos: dict[str, Path]) -> None:
    ultralytics = import_ultralytics()
    from ultralytics.utils import ROOT, YAML

    path = tmp_path / "tiny-coco.pt"
    model = ultralytics.YOLO("yolov8n.yaml", verbose=False)
    coco = YAML.load(ROOT / "cfg/datasets/coco8.yaml")["names"]
    model.model.names = coco  # as in the published yolov8s.pt
    model.save(str(path))
    spec = ModelSpec(
        name="tiny-coco",
        kind=DETECTOR,
        backend="ultralytics",
        local_path=str(path),
        options=MappingProxyType({"confidence": 1e-7, "image_size": 320, "max_detections": 20}),
    )
    detector = YoloDetector(spec, None, "cpu")
    image = Image.open(photos["bus"])
    found = detector.detect(image, ["shiba inu"])
    assert detector.names == coco
    assert found
    _check(found, image, list(coco.values()), 1e-7)


def test_world_model_needs_a_text_encoder(world_spec: ModelSpec) -> None:
    with pytest.raises(RapError, match="text encoder"):
        YoloDetector(world_spec, None)


def test_wrong_width_text_encoder_is_a_clear_error(
    world_spec: ModelSpec, encoder: ClipEmbedder, tmp_path: Path, photos: dict[str, Path]
) -> None:
    folder = write_tiny_clip(tmp_path / "clip32", embed_dim=32)
    narrow = ClipEmbedder(replace(encoder.spec, name="clip32", local_path=str(folder)), "cpu")
    with pytest.raises(RapError, match=r"32-d features .* needs 512-d"):
        YoloDetector(world_spec, narrow, "cpu").detect(Image.open(photos["bus"]), CLASSES)


def test_missing_weights_name_model_places_and_fetch_command(tmp_path: Path, encoder: ClipEmbedder) -> None:
    spec = Registry().get("yolo-world-v2-s").with_path(str(tmp_path / "absent.pt"))
    with pytest.raises(ModelMissingError) as info:
        YoloDetector(spec, encoder, "cpu").detect(Image.new("RGB", (64, 64)), CLASSES)
    message = str(info.value)
    assert "yolo-world-v2-s" in message and "rap-desktop models fetch yolo-world-v2-s" in message
    assert str(tmp_path / "absent.pt") in message and "yolov8s-worldv2.pt" in message
    assert str(weights.weights_cache_dir()) in message


def test_weights_cache_env_finds_a_file_placed_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, world_spec: ModelSpec, encoder: ClipEmbedder
) -> None:
    cache = tmp_path / "weights"
    cache.mkdir()
    monkeypatch.setenv(weights.WEIGHTS_DIR_ENV, str(cache))
    assert weights.weights_cache_dir() == cache
    spec = Registry().get("yolo-world-v2-s")
    assert not weights.resolve(spec).present
    shutil.copy(world_spec.local_path, cache / "yolov8s-worldv2.pt")  # type: ignore[arg-type]
    assert weights.require_file(spec) == cache / "yolov8s-worldv2.pt"
    found = YoloDetector(_with_options(spec, image_size=320), encoder, "cpu").detect(
        Image.new("RGB", (96, 64), "white"), CLASSES
    )
    assert all(d.label in CLASSES for d in found)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_fetch_offline_is_a_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/yolov8s-worldv2.pt"
    spec = replace(Registry().get("yolo-world-v2-s"), download_url=url)
    with pytest.raises(RapError, match=r"could not download 'yolo-world-v2-s' from http://127\.0\.0\.1") as info:
        weights.fetch(spec, cache_dir=tmp_path / "cache")
    assert "network" in str(info.value)
    assert not any((tmp_path / "cache").iterdir())


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server over a folder (no real network)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", root
    server.shutdown()
    server.server_close()


class _Bar:
    updates: ClassVar[list[int]] = []

    def __init__(self, total: int | None = None, **kwargs: object) -> None:
        self.total = total

    def update(self, n: int) -> None:
        self.updates.append(n)

    def close(self) -> None:
        pass


def test_fetch_downloads_atomically_with_progress(
    served: tuple[str, Path], tmp_path: Path, world_spec: ModelSpec, encoder: ClipEmbedder
) -> None:
    base, root = served
    shutil.copy(world_spec.local_path, root / "yolov8s-worldv2.pt")  # type: ignore[arg-type]
    (root / "page.pt").write_text("<html>not found</html>")
    spec = replace(Registry().get("yolo-world-v2-s"), download_url=base + "yolov8s-worldv2.pt")
    cache = tmp_path / "cache"
    _Bar.updates = []
    path = weights.fetch(spec, cache_dir=cache, tqdm_class=_Bar)
    assert path == cache / "yolov8s-worldv2.pt" and sum(_Bar.updates) == path.stat().st_size
    assert sorted(p.name for p in cache.iterdir()) == ["yolov8s-worldv2.pt"]  # no temp file left
    assert weights.resolve(spec, cache_dir=cache).path == path

    bad = replace(spec, download_url=base + "page.pt", files=("page.pt",))
    with pytest.raises(RapError, match="not return a PyTorch checkpoint"):
        weights.fetch(bad, cache_dir=cache)
    missing = replace(spec, download_url=base + "nothing.pt", files=("nothing.pt",))
    with pytest.raises(RapError, match="File not found"):  # the server's 404 reason
        weights.fetch(missing, cache_dir=cache)
    assert sorted(p.name for p in cache.iterdir()) == ["yolov8s-worldv2.pt"]


def test_detector_spec_auto_and_errors(registry: Registry) -> None:
    assert AUTO_CHOICE[DETECTOR] == {"cuda": "yolo-world-v2-x", "cpu": "yolo-world-v2-s"}
    assert detector_spec(registry, "auto", "cpu").name == "yolo-world-v2-s"
    assert detector_spec(registry, "yolo-v8-s-coco", "cpu").backend == "ultralytics"
    with pytest.raises(RapError, match="not a detector"):
        detector_spec(registry, "tiny-clip", "cpu")
    with pytest.raises(RapError, match="unknown model"):
        detector_spec(registry, "nope", "cpu")
    for name in ("yolo-world-v2-x", "yolo-world-v2-s"):
        spec = registry.get(name)
        assert spec.options["text_encoder"] == "clip-vit-b-32" and spec.options["confidence"] == 0.1
        assert spec.download_url and spec.download_url.endswith("/" + spec.files[0])


def test_unload_then_detect_again(detector: YoloDetector, photos: dict[str, Path]) -> None:
    image = Image.open(photos["zidane"])
    before = detector.detect(image, CLASSES)
    detector.unload()
    assert not detector.loaded
    assert detector.detect(image, CLASSES) == before and detector.encode_count == 1


def test_detection_leaves_torch_thread_count_alone(tiny_config, photos) -> None:
    import torch

    from rap_desktop.core.session import Session

    session = Session.open(tiny_config.parent / "threads-home", tiny_config)
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # ultralytics would drop it to cpu_count - 1
    session.detector.detect(Image.open(photos["bus"]).convert("RGB"), ["bus", "person"])
    assert torch.get_num_threads() == 2
    torch.set_num_threads(before)
    session.close()


def _boxes(found: list[Detection]) -> list[tuple[str, tuple[float, ...]]]:
    return [(d.label, d.box) for d in found]


def test_batched_detection_gives_each_photo_its_single_call_boxes(
    world_spec: ModelSpec, encoder: ClipEmbedder, photos: dict[str, Path]
) -> None:
    # eight photos, eight pixel sizes, five letterbox frames: chelsea, coffee, rocket and motorcycle
    # all frame to 448x640, so with max_batch 3 they take two model calls (3 + 1): 6 calls, not 8
    detector = YoloDetector(_with_options(world_spec, confidence=0.001, max_batch=3), encoder, "cpu")
    names = ["bus", "chelsea", "zidane", "coffee", "astronaut", "rocket", "motorcycle", "grace_hopper"]
    images = [Image.open(photos[name]).convert("RGB") for name in names]
    assert len({image.size for image in images}) == len(images)
    calls: list[int] = []
    predict = detector._predict

    def counted(arrays: list[np.ndarray]) -> list:
        calls.append(len(arrays))
        return predict(arrays)

    detector._predict = counted  # type: ignore[method-assign]
    batched = detector.detect_many(images, CLASSES)
    assert sorted(calls) == [1, 1, 1, 1, 1, 3]
    detector._predict = predict  # type: ignore[method-assign]
    single = [detector.detect(image, CLASSES) for image in images]
    for name, image, many, one in zip(names, images, batched, single, strict=True):
        assert len(one) > 5, name
        _check(many, image, CLASSES, detector.confidence)
        assert [d.label for d in many] == [d.label for d in one], name
        assert np.allclose([d.box for d in many], [d.box for d in one], atol=0.05), name
        assert np.allclose([d.score for d in many], [d.score for d in one], atol=1e-4), name
    assert detector.detect_many([], CLASSES) == []
    assert detector.detect_many(images[:2], []) == [[], []]
    # the inputs made ahead (the album's readers call frame() on their threads): the same boxes
    ahead = detector.detect_many(images, CLASSES, [detector.frame(image) for image in images])
    for many, made in zip(batched, ahead, strict=True):
        assert [d.label for d in made] == [d.label for d in many]
        assert np.allclose([d.box for d in made], [d.box for d in many], atol=0.05)
        assert np.allclose([d.score for d in made], [d.score for d in many], atol=1e-4)


def test_loading_the_detector_leaves_torch_all_its_threads() -> None:
    """ultralytics sets OMP_NUM_THREADS=1 at import; the app's import must not leave torch (or the
    processes it starts) on one core. Fresh processes: this one has torch loaded already."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    script = "import os, torch; print(torch.get_num_threads(), os.environ.get('OMP_NUM_THREADS'))"
    plain = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    app = "from rap_desktop.core.models.detector import import_ultralytics; import_ultralytics(); " + script
    loaded = subprocess.run([sys.executable, "-c", app], env=env, capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == plain.stdout.split() == [plain.stdout.split()[0], "None"]
