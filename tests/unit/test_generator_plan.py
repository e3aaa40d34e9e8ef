"""Load planning for the generator: quantization by device, and refusing loads that cannot fit."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from rap_desktop.core.cancel import CancelToken
from rap_desktop.core.errors import RapError
from rap_desktop.core.models.generator import check_fits, choose_quantization
from rap_desktop.core.models.registry import GENERATOR, ModelSpec

SPEC_13B = ModelSpec("rap-llava-13b", GENERATOR, "rap-llava", options=MappingProxyType({"params_b": 13.4}))


def test_quantization_defaults() -> None:
    assert choose_quantization("auto", "cuda") == "4bit"
    assert choose_quantization("auto", "cpu") == "fp32"
    assert choose_quantization("8bit", "cuda:1") == "8bit"
    with pytest.raises(RapError, match="unknown quantization"):
        choose_quantization("3bit", "cuda")


def test_13b_in_4bit_fits_a_12_gb_card_not_a_6_gb_one() -> None:
    check_fits(SPEC_13B, "4bit", 11 * 10**9, "rap-phi3-mini")
    with pytest.raises(RapError, match="rap-phi3-mini") as info:
        check_fits(SPEC_13B, "4bit", 6 * 10**9, "rap-phi3-mini")
    assert "GB" in str(info.value)
    with pytest.raises(RapError, match="fp16"):
        check_fits(SPEC_13B, "fp16", 24 * 10**9, "rap-phi3-mini")


def test_cancel_token() -> None:
    token = CancelToken()
    assert not token.cancelled
    token.cancel()
    assert token.cancelled
