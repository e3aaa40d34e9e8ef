"""4-bit and 8-bit loads quantize the language model only: the CLIP tower, the projector and lm_head
stay plain layers, so image features are exactly those of the unquantized model (bitsandbytes loads
and runs on a CPU, which lets this run without a GPU)."""

from __future__ import annotations

import pytest
import torch

from rap_desktop.core.images import load_image
from rap_desktop.core.models.generator import RapGenerator

pytest.importorskip("bitsandbytes")
pytestmark = pytest.mark.slow


def _quantized_modules(model, prefix: str) -> list[str]:
    import bitsandbytes as bnb

    kinds = (bnb.nn.Linear4bit, bnb.nn.Linear8bitLt)
    return [name for name, module in model.named_modules() if name.startswith(prefix) and isinstance(module, kinds)]


def _image_features(generator: RapGenerator, pixels: torch.Tensor) -> torch.Tensor:
    """The tower's hidden states at LLaVA's layer (-2), CLS dropped, through the projector."""
    model = generator.model.model
    with torch.no_grad():
        hidden = model.vision_tower(pixels.to(model.vision_tower.dtype), output_hidden_states=True).hidden_states
        return model.multi_modal_projector(hidden[-2][:, 1:])


def _in_place(root) -> RapGenerator:
    """The tiny RAP-LLaVA with its tower inside the checkpoint, prepared in place (no weights copied;
    the vocabulary grows by <image> after the quantized load)."""
    from rap_desktop.core.models import convert
    from rap_desktop.core.models.registry import GENERATOR, ModelSpec
    from rap_desktop.devtools.tiny_rap import write_tiny_rap

    written = write_tiny_rap(root, "vicuna_v1", embed_tower=True)
    folder = convert.ensure_transformers_layout(
        written.checkpoint, "tiny", written.vision_tower, "vicuna_v1", cache_root=root / "cache"
    )
    return RapGenerator(ModelSpec("tiny", GENERATOR, "rap-llava", options={"template": "vicuna_v1"}), folder)


@pytest.mark.parametrize(
    ("quantization", "source"), [("4bit", "converted copy"), ("8bit", "converted copy"), ("4bit", "in place")]
)
def test_only_the_language_model_is_quantized(session, photos, tmp_path, quantization, source) -> None:
    base = session.generator() if source == "converted copy" else _in_place(tmp_path)
    quantized = RapGenerator(base.spec, base.folder, "cpu", quantization)
    try:
        quantized.load()
    except (RuntimeError, ValueError, ImportError) as exc:  # a bitsandbytes build without this CPU backend
        pytest.skip(f"bitsandbytes {quantization} does not load on this CPU: {exc}")
    model = quantized.model
    assert _quantized_modules(model, "model.language_model.")  # the language model is quantized...
    for part in ("model.vision_tower.", "model.multi_modal_projector.", "lm_head"):
        assert _quantized_modules(model, part) == [], part  # ...the rest is not
    plain = RapGenerator(base.spec, base.folder, "cpu", "fp32")
    plain.load()
    photo = load_image(photos["chelsea"]).image
    pixels = plain.processor.image_processor([photo], return_tensors="pt")["pixel_values"]
    expected = _image_features(plain, pixels)
    got = _image_features(quantized, pixels)
    assert expected.abs().mean() > 0.01
    assert torch.equal(got.float(), expected.float())
