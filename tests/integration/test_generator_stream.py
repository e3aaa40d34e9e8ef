"""Streaming and cancel on the tiny converted RAP checkpoint (CPU)."""

from __future__ import annotations

from rap_desktop.core.cancel import CancelToken
from rap_desktop.core.images import load_image
from rap_desktop.core.models.generator import GenerationOptions
from rap_desktop.core.prompting import Conversation, build_user_turn, caption_question


def _conversation(photo):
    turn = build_user_turn(caption_question(), [], query_image=photo, limit=2)
    return Conversation.start("llava_v1", turn)


def test_streamed_pieces_make_the_answer(session, photos) -> None:
    generator = session.generator()
    conversation = _conversation(load_image(photos["chelsea"]).image)
    pieces: list[str] = []
    answer = generator.generate(
        conversation.prompt(), conversation.images, GenerationOptions(max_new_tokens=8), pieces.append
    )
    assert answer.tokens == 8 and not answer.cancelled  # random weights rarely say </s> early
    assert "".join(pieces).strip() == answer.text
    generator.unload()
    assert generator.model is None


def test_cancel_stops_within_one_step(session, photos) -> None:
    generator = session.generator()
    conversation = _conversation(load_image(photos["chelsea"]).image)
    token = CancelToken()
    pieces: list[str] = []

    def on_text(text: str) -> None:
        pieces.append(text)
        token.cancel()  # as the GUI's stop button would, from another thread

    answer = generator.generate(
        conversation.prompt(), conversation.images, GenerationOptions(max_new_tokens=50), on_text, token
    )
    assert answer.cancelled
    assert answer.tokens <= 2
