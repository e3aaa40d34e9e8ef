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


@pytest.mark.parametrize("quantization", ["4bit", "8bit"])
def test_only_the_language_model_is_quantized(session, photos, quantization) -> None:
    base = session.generator()
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
