from __future__ import annotations

import pytest

from rap_desktop.core.errors import ConflictError, InvalidNameError
from rap_desktop.core.names import clean_category, clean_name, lookalike, name_key, tag


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


# --- look-alikes and categories (issue 13, item 10) -------------------------------------------------


def test_a_name_that_is_only_an_accent_is_refused() -> None:
    for raw in ("\u0301", "\u0301a", "<\u20dd>"):
        with pytest.raises(InvalidNameError, match="combining"):
            clean_name(raw)
    assert clean_name("e\u0301") == "é"  # an accent on a letter is a letter


@pytest.mark.parametrize(("name", "other"), [("ｂｏ", "bo"), ("ＢＯ", "bo"), ("Ｆｉｄｏ", "fido"), ("bo", "ｂｏ")])
def test_look_alike_names_are_found(name: str, other: str) -> None:
    assert lookalike(name, ["mochi", other]) == other
    assert lookalike(name, ["mochi", name.upper()]) is None  # the same name, not a look-alike


def test_look_alike_names_are_refused_by_the_store(store, photos) -> None:
    store.add_concept("bo", photos["coffee"])
    with pytest.raises(ConflictError, match="looks the same"):
        store.add_concept("ｂｏ", photos["chelsea"])
    store.add_concept("mochi", photos["chelsea"])
    with pytest.raises(ConflictError, match="looks the same"):
        store.edit_concept("mochi", rename="ＢＯ")
    assert [c.name for c in store.list_concepts()] == ["bo", "mochi"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("dog\nrm -rf", "line break"), ("a" * 20_000, "longer"), ("\x1b[31mred", "control"), ("cat\u202e", "invisible")],
)
def test_bad_categories_are_refused(store, photos, raw: str, reason: str) -> None:
    with pytest.raises(InvalidNameError, match=reason):
        clean_category(raw)
    with pytest.raises(InvalidNameError):
        store.add_concept("bo", photos["coffee"], category=raw)
    store.add_concept("bo", photos["coffee"], category=" dog ")
    with pytest.raises(InvalidNameError):
        store.edit_concept("bo", category=raw)
    assert store.get_concept("bo").category == "dog"
