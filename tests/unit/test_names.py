from __future__ import annotations

import pytest

from rap_desktop.core.errors import InvalidNameError
from rap_desktop.core.names import clean_name, name_key, tag


@pytest.mark.parametrize("raw", ["bo", "<bo>", "Bo", " <BO> ", "bO"])
def test_spellings_of_one_concept_share_a_key(raw: str) -> None:
    assert name_key(raw) == "bo"


def test_display_form_keeps_case_and_drops_brackets() -> None:
    assert clean_name("<Bo-chan>") == "Bo-chan"
    assert clean_name("Bà ngoại") == "Bà ngoại"
    assert tag("bo") == "<bo>"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("<>", "empty"),
        ("   ", "empty"),
        ("a/b", "slash"),
        ("a\\b", "backslash"),
        ("..", "'..'"),
        ("../etc", "slash"),
        ("x..y", "'..'"),
        ("...", "'..'"),
        (".", "only dots"),
        ("bo\x00", "control"),
        ("bo\nbo", "control"),
        ("bo\u200b", "control"),
        ("a" * 65, "longer than 64"),
        ("a<b", "'<'"),
    ],
)
def test_bad_names_are_refused_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidNameError, match=reason):
        clean_name(raw)


def test_64_characters_is_fine() -> None:
    assert clean_name("a" * 64) == "a" * 64
