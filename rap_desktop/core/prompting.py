"""The RAP prompt: the user turn the models were trained on, their chat templates, the task questions
and parsers for the answers. Pure text (no torch, no Qt), so it imports in milliseconds.

The user turn follows the reference's training code: the query image token and a newline (absent for
a text-only question), then `[` + one `{n}.<image>\\n Name: <{name}>, Info: {info}\\n` block per
concept + `]` (only when there are concepts), then the question. `n` is the concept image's position
in the image list, so concepts count from 1 after a query image and from 0 without one.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from .names import clean_name, tag

IMAGE_TOKEN = "<image>"
USER, ASSISTANT = "user", "assistant"
# Concepts per prompt the checkpoints were trained with; the caller passes the limit from the model spec.
LLAVA_LIMIT = 2
PHI3_LIMIT = 3


@dataclass(frozen=True)
class ConceptRef:
    """One retrieved concept; `image` (a path, a PIL image...) is passed through untouched."""

    name: str
    info: str
    image: object


@dataclass(frozen=True)
class UserTurn:
    text: str
    images: tuple[object, ...]  # query image first (if any), then the kept concepts' images
    concepts: tuple[ConceptRef, ...]  # the concepts in the prompt, in order
    dropped: tuple[ConceptRef, ...]  # over the limit and left out, so the UI can say so


def _no_image_tokens(text: str) -> str:
    # A literal "<image>" typed by the user (or produced by the model) would shift every image after
    # it; loop because removing one can join "<im<image>age>" into a new one.
    while IMAGE_TOKEN in text:
        text = text.replace(IMAGE_TOKEN, "")
    return text


def _one_line(text: str) -> str:
    # A newline ends a concept block in the trained format, so info is collapsed onto one line.
    return " ".join(_no_image_tokens(text).split())


def build_user_turn(
    question: str, concepts: Sequence[ConceptRef], *, query_image: object | None = None, limit: int
) -> UserTurn:
    """The first user turn and its images. Keeps the first `limit` concepts (the caller orders them
    by priority); the question is stripped, as the training code stripped every image turn."""
    if limit < 0:
        raise ValueError(f"concept limit must be >= 0, got {limit}")
    question = _no_image_tokens(question).strip()
    if not question:
        raise ValueError("the question is empty")
    kept, dropped = tuple(concepts[:limit]), tuple(concepts[limit:])
    images: list[object] = [] if query_image is None else [query_image]
    blocks = []
    for concept in kept:
        name = tag(clean_name(concept.name))
        blocks.append(f"{len(images)}.{IMAGE_TOKEN}\n Name: {name}, Info: {_one_line(concept.info)}\n")
        images.append(concept.image)
    head = "" if query_image is None else IMAGE_TOKEN + "\n"
    body = "[" + "".join(blocks) + "]" if blocks else ""
    return UserTurn(head + body + question, tuple(images), kept, dropped)


@dataclass(frozen=True)
class ChatTemplate:
    """A conversation template as data: prompt = system block, then each turn as prefix+text+suffix,
    then the open assistant prefix the model continues from."""

    name: str
    system: str
    roles: tuple[str, str]  # display names (user, assistant)
    system_prefix: str
    system_suffix: str
    user_prefix: str
    user_suffix: str
    assistant_prefix: str
    assistant_suffix: str
    generation_prefix: str  # an open assistant turn
    stop: str  # the text that ends an assistant turn

    def render(self, turns: Sequence[tuple[str, str | None]]) -> str:
        """Turns alternate user/assistant from a user turn; only the last may be (ASSISTANT, None)."""
        out = [self.system_prefix, self.system, self.system_suffix]
        for i, (role, text) in enumerate(turns):
            if role != (USER if i % 2 == 0 else ASSISTANT):
                raise ValueError(f"turn {i} is {role!r}: turns must alternate user/assistant, user first")
            if text is None:
                if role != ASSISTANT or i != len(turns) - 1:
                    raise ValueError("only the last turn, an assistant one, may be open")
                out.append(self.generation_prefix)
            elif role == USER:
                out += [self.user_prefix, text, self.user_suffix]
            else:
                out += [self.assistant_prefix, text, self.assistant_suffix]
        return "".join(out)


def _two(name: str, system: str) -> ChatTemplate:
    # LLaVA's SeparatorStyle.TWO: "system USER: q ASSISTANT: a</s>USER: q ASSISTANT:".
    return ChatTemplate(
        name=name,
        system=system,
        roles=("USER", "ASSISTANT"),
        system_prefix="",
        system_suffix=" ",
        user_prefix="USER: ",
        user_suffix=" ",
        assistant_prefix="ASSISTANT: ",
        assistant_suffix="</s>",
        generation_prefix="ASSISTANT:",
        stop="</s>",
    )


_ASSISTANT_SYSTEM = "A chat between a curious {0} and an artificial intelligence assistant. " + (
    "The assistant gives helpful, detailed, and polite answers to the {0}'s questions."
)
TEMPLATES: Mapping[str, ChatTemplate] = MappingProxyType(
    {
        # RAP-LLaVA as trained: its scripts pass `--version v1`, which LLaVA's conversation.py maps to
        # conv_vicuna_v1 ("curious user ... user's questions"). The default for RAP-LLaVA.
        "vicuna_v1": _two("vicuna_v1", _ASSISTANT_SYSTEM.format("user")),
        # LLaVA's conv_llava_v1 ("curious human"): same layout, other wording. RAP was not trained with
        # it (the reference's CLI picks it by model name at inference); kept for models that were.
        "llava_v1": _two("llava_v1", _ASSISTANT_SYSTEM.format("human")),
        # RAP-Phi3 (conv_phi3_instruct, LLaVA's MPT style with <|end|> as the separator).
        "phi3_instruct": ChatTemplate(
            name="phi3_instruct",
            system="You are a helpful AI assistant.",
            roles=("user", "assistant"),
            system_prefix="<|system|>\n",
            system_suffix="<|end|>",
            user_prefix="\n<|user|>\n",
            user_suffix="<|end|>",
            assistant_prefix="\n<|assistant|>\n",
            assistant_suffix="<|end|>",
            generation_prefix="\n<|assistant|>\n",
            stop="<|end|>",
        ),
    }
)


def template(name: str) -> ChatTemplate:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise KeyError(f"unknown chat template {name!r}; known: {', '.join(sorted(TEMPLATES))}") from None


@dataclass(frozen=True)
class Conversation:
    """A chat whose first user turn carries every image; later turns are plain text. Methods return
    new objects."""

    template: ChatTemplate
    first: UserTurn
    turns: tuple[tuple[str, str], ...]

    @classmethod
    def start(cls, chat_template: ChatTemplate | str, first: UserTurn) -> Conversation:
        if isinstance(chat_template, str):
            chat_template = template(chat_template)
        return cls(chat_template, first, ((USER, first.text),))

    @property
    def images(self) -> tuple[object, ...]:
        return self.first.images

    @property
    def waiting(self) -> bool:
        """True when the last turn is the user's, i.e. an answer is due."""
        return self.turns[-1][0] == USER

    def prompt(self) -> str:
        if not self.waiting:
            raise ValueError("the last turn is an answer: ask() a question first")
        return self.template.render([*self.turns, (ASSISTANT, None)])

    def add_answer(self, text: str) -> Conversation:
        if not self.waiting:
            raise ValueError("no question is waiting for an answer")
        text = _no_image_tokens(text).strip()
        while self.template.stop and text.endswith(self.template.stop):  # decoders may keep the stop text
            text = text[: -len(self.template.stop)].rstrip()
        return Conversation(self.template, self.first, (*self.turns, (ASSISTANT, text)))

    def ask(self, question: str) -> Conversation:
        if self.waiting:
            raise ValueError("the previous question has no answer yet")
        question = _no_image_tokens(question).strip()
        if not question:
            raise ValueError("the question is empty")
        return Conversation(self.template, self.first, (*self.turns, (USER, question)))


# Task questions, worded as in the reference's evaluation.
def caption_question() -> str:
    return "Give a caption of the image."


def recognition_question(name: str) -> str:
    return f"Is {tag(clean_name(name))} in this image? Answer with a single word or phrase."


def grounding_question(name: str) -> str:
    """The answer is expected as `[x1, y1, x2, y2]` normalised to 0..1 (see parse_box)."""
    return f"Give {tag(clean_name(name))}'s bounding box in the image."


def multiple_choice_question(question: str, options: Mapping[str, str]) -> str:
    """The reference's QA layout (its trailing " \\n" dropped: training stripped turns anyway)."""
    if not options or any(not re.fullmatch(r"[A-Z]", key) for key in options):
        raise ValueError("options must be keyed by single capital letters")
    lines = [f"Question: {question.strip()}", "Options:", *(f"{k}. {v.strip()}" for k, v in options.items())]
    return "\n".join([*lines, "Please give a single character from the options above."])


def parse_yes_no(text: str) -> bool | None:
    """The first word decides: yes/true -> True, no/false -> False, anything else -> None."""
    match = re.match(r"[\W_]*([A-Za-z]+)", text)
    word = match.group(1).lower() if match else ""
    if word in ("yes", "true"):
        return True
    if word in ("no", "false"):
        return False
    return None


_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_BOX = re.compile(r"\[\s*" + r"\s*,\s*".join([f"({_NUM})"] * 4) + r"\s*\]")


def parse_box(
    text: str, width: int, height: int, *, square_pad: bool = False
) -> tuple[float, float, float, float] | None:
    """The first `[x1, y1, x2, y2]` in `text` as pixels (corners ordered, clamped to the image).
    None when there is none, a number is outside 0..1 (not normalised) or the box has no area.
    `square_pad`: the numbers are relative to the image padded to a centred square (LLaVA's `pad`)."""
    if width <= 0 or height <= 0:
        raise ValueError(f"bad image size {width}x{height}")
    match = _BOX.search(text)
    if match is None:
        return None
    a, b, c, d = (float(g) for g in match.groups())
    if not all(0.0 <= v <= 1.0 for v in (a, b, c, d)):
        return None
    sx, sy, ox, oy = float(width), float(height), 0.0, 0.0
    if square_pad:
        side = max(width, height)
        sx = sy = float(side)
        ox, oy = float((side - width) // 2), float((side - height) // 2)  # as expand2square pastes

    def px(v: float, scale: float, offset: float, limit: int) -> float:
        return min(max(v * scale - offset, 0.0), float(limit))

    x1, x2 = sorted((px(a, sx, ox, width), px(c, sx, ox, width)))
    y1, y2 = sorted((px(b, sy, oy, height), px(d, sy, oy, height)))
    return (x1, y1, x2, y2) if x2 > x1 and y2 > y1 else None


_ANSWER_PREFIX = re.compile(r"^(?:the\s+)?(?:correct\s+)?answer\b(?:\s+is)?\s*:?\s*", re.IGNORECASE)


def _norm(text: str) -> str:
    return " ".join(text.translate(str.maketrans("", "", string.punctuation)).casefold().split())


def parse_choice(text: str, options: Mapping[str, str]) -> str | None:
    """The option letter the answer picks: a lone letter ("B", "(b)", "B."), a letter opening an
    option ("B. Cat", "B) Cat"), or the text of exactly one option ("Cat"). Empty text is None (the
    reference's scorer counted it as "A")."""
    letters = {key.upper() for key in options}
    t = _ANSWER_PREFIX.sub("", text.strip())
    match = re.fullmatch(r"[\s(\[]*([A-Za-z])[\s)\].:]*", t) or re.match(r"[(\[]?([A-Z])[.):\]]", t)
    if match and match.group(1).upper() in letters:
        return match.group(1).upper()
    hits = [key.upper() for key, value in options.items() if _norm(value) and _norm(value) == _norm(t)]
    return hits[0] if len(hits) == 1 else None
