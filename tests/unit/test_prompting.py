"""The RAP prompt strings, pinned character for character, plus the answer parsers."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from rap_desktop.core.errors import InvalidNameError
from rap_desktop.core.prompting import (
    ASSISTANT,
    IMAGE_TOKEN,
    TEMPLATES,
    USER,
    ConceptRef,
    Conversation,
    build_user_turn,
    caption_question,
    grounding_question,
    multiple_choice_question,
    parse_box,
    parse_choice,
    parse_yes_no,
    recognition_question,
    template,
)

BO = ConceptRef("bo", "<bo> is a Shiba Inu.", "bo.png")
MAM = ConceptRef("mam", "<mam> is a grey cat.", "mam.png")
CUP = ConceptRef("cat-cup", "<cat-cup> is a white mug with a cat face.", "cat-cup.png")
QUESTION = "What is <bo> doing?"

# Written out by hand from the reference's training code, not computed.
BO_BLOCK = " Name: <bo>, Info: <bo> is a Shiba Inu.\n"
MAM_BLOCK = " Name: <mam>, Info: <mam> is a grey cat.\n"
CUP_BLOCK = " Name: <cat-cup>, Info: <cat-cup> is a white mug with a cat face.\n"
WITH_IMAGE = {
    0: "<image>\nWhat is <bo> doing?",
    1: "<image>\n[1.<image>\n" + BO_BLOCK + "]What is <bo> doing?",
    2: "<image>\n[1.<image>\n" + BO_BLOCK + "2.<image>\n" + MAM_BLOCK + "]What is <bo> doing?",
    3: "<image>\n[1.<image>\n"
    + BO_BLOCK
    + "2.<image>\n"
    + MAM_BLOCK
    + "3.<image>\n"
    + CUP_BLOCK
    + "]What is <bo> doing?",
}
TEXT_ONLY = {
    0: "What is <bo> doing?",
    1: "[0.<image>\n" + BO_BLOCK + "]What is <bo> doing?",
    2: "[0.<image>\n" + BO_BLOCK + "1.<image>\n" + MAM_BLOCK + "]What is <bo> doing?",
    3: "[0.<image>\n" + BO_BLOCK + "1.<image>\n" + MAM_BLOCK + "2.<image>\n" + CUP_BLOCK + "]What is <bo> doing?",
}
LLAVA_SYSTEM = (
    "A chat between a curious human and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the human's questions."
)
WRAP = {
    "llava_v1": (LLAVA_SYSTEM + " USER: ", " ASSISTANT:"),
    "phi3_instruct": ("<|system|>\nYou are a helpful AI assistant.<|end|>\n<|user|>\n", "<|end|>\n<|assistant|>\n"),
}


@pytest.mark.parametrize("name", ["llava_v1", "phi3_instruct"])
@pytest.mark.parametrize("count", [0, 1, 2, 3])
@pytest.mark.parametrize("query", [True, False], ids=["photo", "text-only"])
def test_exact_prompt_for_0_to_3_concepts(name: str, count: int, query: bool) -> None:
    concepts = [BO, MAM, CUP][:count]
    turn = build_user_turn(QUESTION, concepts, query_image="query.png" if query else None, limit=3)
    expected_turn = (WITH_IMAGE if query else TEXT_ONLY)[count]
    assert turn.text == expected_turn
    assert turn.images == (("query.png",) if query else ()) + tuple(c.image for c in concepts)
    assert turn.concepts == tuple(concepts)
    assert turn.dropped == ()
    before, after = WRAP[name]
    assert Conversation.start(name, turn).prompt() == before + expected_turn + after


def test_design_doc_example_verbatim() -> None:
    mam = ConceptRef("mam", "...", "mam.png")
    turn = build_user_turn("What is <bo> doing?", [BO, mam], query_image="q", limit=2)
    assert turn.text == (
        "<image>\n[1.<image>\n Name: <bo>, Info: <bo> is a Shiba Inu.\n2.<image>\n Name: <mam>, Info: ...\n]"
        "What is <bo> doing?"
    )
    text_only = build_user_turn("Describe <bo>.", [ConceptRef("bo", "...", "b")], limit=2)
    assert text_only.text == "[0.<image>\n Name: <bo>, Info: ...\n]Describe <bo>."


@pytest.mark.parametrize("query", ["q.png", None])
def test_limit_keeps_the_first_concepts_and_reports_the_rest(query: str | None) -> None:
    turn = build_user_turn(QUESTION, [BO, MAM, CUP], query_image=query, limit=2)
    assert turn.text == (WITH_IMAGE if query else TEXT_ONLY)[2]
    assert turn.concepts == (BO, MAM)
    assert turn.dropped == (CUP,)
    assert CUP.image not in turn.images
    none = build_user_turn(QUESTION, [BO, MAM], query_image=query, limit=0)
    assert none.text == (WITH_IMAGE if query else TEXT_ONLY)[0]
    assert none.dropped == (BO, MAM)
    with pytest.raises(ValueError):
        build_user_turn(QUESTION, [BO], limit=-1)


def test_two_turn_chat_llava_exact() -> None:
    first = build_user_turn(QUESTION, [BO], query_image="q.png", limit=2)
    conv = Conversation.start("llava_v1", first).add_answer("<bo> is sleeping.</s>").ask("  Where is he? ")
    assert conv.prompt() == (
        LLAVA_SYSTEM + " USER: <image>\n[1.<image>\n Name: <bo>, Info: <bo> is a Shiba Inu.\n]What is <bo> doing?"
        " ASSISTANT: <bo> is sleeping.</s>USER: Where is he? ASSISTANT:"
    )
    assert conv.images == ("q.png", "bo.png")


def test_two_turn_chat_phi3_exact() -> None:
    first = build_user_turn(QUESTION, [BO, MAM], query_image="q.png", limit=3)
    conv = Conversation.start(TEMPLATES["phi3_instruct"], first).add_answer("<bo> is sleeping.").ask("Where?")
    assert conv.prompt() == (
        "<|system|>\nYou are a helpful AI assistant.<|end|>\n<|user|>\n<image>\n[1.<image>\n"
        " Name: <bo>, Info: <bo> is a Shiba Inu.\n2.<image>\n Name: <mam>, Info: <mam> is a grey cat.\n]"
        "What is <bo> doing?<|end|>\n<|assistant|>\n<bo> is sleeping.<|end|>\n<|user|>\nWhere?<|end|>\n"
        "<|assistant|>\n"
    )
    assert conv.images == ("q.png", "bo.png", "mam.png")
    assert conv.prompt().count(IMAGE_TOKEN) == 3  # later turns add no image tokens


def test_vicuna_v1_is_the_training_wording_in_the_same_layout() -> None:
    prompt = Conversation.start("vicuna_v1", build_user_turn("Hi", [], limit=2)).prompt()
    assert prompt == (
        "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, "
        "detailed, and polite answers to the user's questions. USER: Hi ASSISTANT:"
    )


# LLaVA's conversation.py, conv_vicuna_v1 (what `--version v1` selects): the values and the
# SeparatorStyle.TWO rule of get_prompt(), written out here rather than taken from our templates.
VICUNA_V1_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)


def _conv_vicuna_v1_get_prompt(messages: list[tuple[str, str | None]]) -> str:
    seps = [" ", "</s>"]  # sep, sep2
    ret = VICUNA_V1_SYSTEM + seps[0]
    for i, (role, message) in enumerate(messages):
        ret += f"{role}: {message}{seps[i % 2]}" if message else f"{role}:"
    return ret


@pytest.mark.parametrize("count", [0, 1, 2, 3])
@pytest.mark.parametrize("turns", [1, 2, 3])
def test_rap_llava_default_template_is_conv_vicuna_v1(count: int, turns: int) -> None:
    from rap_desktop.core.models.registry import Registry

    trained = Registry().get("rap-llava-13b").options["template"]
    first = build_user_turn(QUESTION, [BO, MAM, CUP][:count], query_image="q.png", limit=3)
    conversation = Conversation.start(trained, first)
    messages: list[tuple[str, str | None]] = [("USER", WITH_IMAGE[count])]
    for n in range(1, turns):
        answer, question = f"Answer {n}.", f"Question {n}?"
        conversation = conversation.add_answer(answer).ask(question)
        messages += [("ASSISTANT", answer), ("USER", question)]
    expected = _conv_vicuna_v1_get_prompt([*messages, ("ASSISTANT", None)])
    assert conversation.prompt().encode() == expected.encode()


def test_conversation_order_is_enforced() -> None:
    conv = Conversation.start("llava_v1", build_user_turn("Hi", [], query_image="q", limit=2))
    assert conv.waiting
    with pytest.raises(ValueError):
        conv.ask("again")
    answered = conv.add_answer("Hello.")
    assert not answered.waiting
    with pytest.raises(ValueError):
        answered.prompt()
    with pytest.raises(ValueError):
        answered.add_answer("twice")
    with pytest.raises(ValueError):
        answered.ask("   ")
    assert conv.turns == ((USER, "<image>\nHi"),)  # frozen: the original is unchanged
    with pytest.raises(ValueError):
        TEMPLATES["llava_v1"].render([(ASSISTANT, "no question first")])
    with pytest.raises(ValueError):
        TEMPLATES["llava_v1"].render([(USER, "q"), (ASSISTANT, None), (USER, "q")])
    with pytest.raises(KeyError, match="phi3_instruct"):
        template("llava_v0")


def test_add_answer_strips_stop_text_for_each_template() -> None:
    turn = build_user_turn("Hi", [], limit=2)
    assert Conversation.start("llava_v1", turn).add_answer(" Yes.</s> ").turns[-1] == (ASSISTANT, "Yes.")
    assert Conversation.start("phi3_instruct", turn).add_answer("Yes.<|end|>").turns[-1] == (ASSISTANT, "Yes.")


def test_round_trip_image_tokens_match_images() -> None:
    rng = random.Random(1234)
    pool = [ConceptRef(f"c-{i}", f"info {i} <image> with\nnewline", f"img{i}") for i in range(6)]
    for _ in range(300):
        concepts = rng.sample(pool, rng.randint(0, 6))
        limit = rng.randint(0, 4)
        query = rng.choice([None, "query"])
        question = rng.choice(["Who is <c-0>?", "Is <image> here?", "<image>\nDescribe it.", "x <im<image>age> y"])
        turn = build_user_turn(question, concepts, query_image=query, limit=limit)
        conv = Conversation.start(rng.choice(sorted(TEMPLATES)), turn)
        for _ in range(rng.randint(0, 3)):
            conv = conv.add_answer(rng.choice(["ok", "<image> sneaky", ""])).ask(rng.choice(["more <image>", "why"]))
        prompt = conv.prompt()
        expected_images = ([query] if query else []) + [c.image for c in concepts[:limit]]
        assert list(conv.images) == expected_images
        assert prompt.count(IMAGE_TOKEN) == len(conv.images)
        assert len(turn.dropped) == max(0, len(concepts) - limit)


def test_names_with_hyphens_and_brackets() -> None:
    turn = build_user_turn("Hi", [ConceptRef("<shiba-gray>", "A dog.", "s"), CUP], limit=2)
    assert turn.text == (
        "[0.<image>\n Name: <shiba-gray>, Info: A dog.\n1.<image>\n Name: <cat-cup>, Info: "
        "<cat-cup> is a white mug with a cat face.\n]Hi"
    )
    with pytest.raises(InvalidNameError):
        build_user_turn("Hi", [ConceptRef("a<b", "x", "i")], limit=2)


def test_info_whitespace_is_collapsed_onto_one_line() -> None:
    # A newline ends a concept block in the trained format, so info with newlines is normalised.
    turn = build_user_turn("Hi", [ConceptRef("bo", "  <bo> is a dog.\n\nHe likes\tnaps.  ", "b")], limit=1)
    assert turn.text == "[0.<image>\n Name: <bo>, Info: <bo> is a dog. He likes naps.\n]Hi"


def test_question_is_stripped_and_must_not_be_empty() -> None:
    assert build_user_turn("  Hi?\n", [], query_image="q", limit=1).text == "<image>\nHi?"
    assert build_user_turn("Line 1\nLine 2", [], limit=1).text == "Line 1\nLine 2"  # inner newlines kept
    with pytest.raises(ValueError):
        build_user_turn("  <image> ", [], query_image="q", limit=1)


def test_task_questions() -> None:
    assert caption_question() == "Give a caption of the image."
    assert recognition_question("bo") == "Is <bo> in this image? Answer with a single word or phrase."
    assert recognition_question("<bo>") == recognition_question("bo")
    assert grounding_question("cat-cup") == "Give <cat-cup>'s bounding box in the image."
    assert multiple_choice_question("What animal does <bo> resemble?", {"A": "Cat", "B": "Dog"}) == (
        "Question: What animal does <bo> resemble?\nOptions:\nA. Cat\nB. Dog\n"
        "Please give a single character from the options above."
    )
    with pytest.raises(ValueError):
        multiple_choice_question("Q?", {"a": "x"})
    with pytest.raises(ValueError):
        multiple_choice_question("Q?", {})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes", True),
        ("Yes.", True),
        ("yes, it is", True),
        ("  YES!", True),
        ("True", True),
        ("No", False),
        ("no.", False),
        ("False", False),
        ("Not really", None),
        ("There is no dog.", None),
        ("Nope", None),
        ("", None),
        ("...", None),
    ],
)
def test_parse_yes_no(text: str, expected: bool | None) -> None:
    assert parse_yes_no(text) is expected


def test_parse_box() -> None:
    assert parse_box("[0.1, 0.2, 0.5, 0.9]", 200, 100) == pytest.approx((20.0, 20.0, 100.0, 90.0))
    assert parse_box("It is at [0.5,0.9,0.1,0.2].", 200, 100) == pytest.approx((20.0, 20.0, 100.0, 90.0))
    assert parse_box("[0, 0, 1, 1] then [0.1, 0.1, 0.2, 0.2]", 10, 10) == (0.0, 0.0, 10.0, 10.0)
    assert parse_box("[.25, 0.25, 1., 1]", 4, 4) == (1.0, 1.0, 4.0, 4.0)
    assert parse_box("[12, 30, 140, 200]", 200, 200) is None  # pixels, not normalised
    assert parse_box("[-0.1, 0.2, 0.5, 0.9]", 200, 100) is None
    assert parse_box("[0.1, 0.2, 0.5]", 200, 100) is None
    assert parse_box("no box here", 200, 100) is None
    assert parse_box("[0.3, 0.2, 0.3, 0.9]", 200, 100) is None  # no area
    with pytest.raises(ValueError):
        parse_box("[0, 0, 1, 1]", 0, 10)


def test_parse_box_square_pad() -> None:
    # 200x100 padded to 200x200 with 50 px above and below: y is read in the square, then shifted.
    assert parse_box("[0.1, 0.25, 0.5, 0.75]", 200, 100, square_pad=True) == (20.0, 0.0, 100.0, 100.0)
    assert parse_box("[0.1, 0.3, 0.5, 0.6]", 200, 100, square_pad=True) == pytest.approx((20.0, 10.0, 100.0, 70.0))
    assert parse_box("[0.1, 0.0, 0.5, 0.2]", 200, 100, square_pad=True) is None  # wholly in the padding
    # 100x200: the padding is left and right.
    assert parse_box("[0.25, 0.1, 0.75, 0.5]", 100, 200, square_pad=True) == (0.0, 20.0, 100.0, 100.0)


OPTIONS = {"A": "Cat", "B": "Dog"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("B", "B"),
        ("b", "B"),
        (" (B) ", "B"),
        ("B.", "B"),
        ("B. Dog", "B"),
        ("B) Dog", "B"),
        ("Answer: A", "A"),
        ("The answer is A.", "A"),
        ("Dog", "B"),
        ("dog.", "B"),
        ("", None),  # not "A", unlike the reference scorer
        ("   ", None),
        ("C", None),
        ("A dog is shown", None),
        ("I am not sure", None),
    ],
)
def test_parse_choice(text: str, expected: str | None) -> None:
    assert parse_choice(text, OPTIONS) == expected


def test_parse_choice_ambiguous_content_is_none() -> None:
    assert parse_choice("Yes", {"A": "Yes", "B": "yes"}) is None


def test_import_is_light() -> None:
    code = (
        "import sys, rap_desktop.core.prompting\n"
        "print(sorted(m for m in ('torch', 'PIL', 'PySide6') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
