"""The chat panel on the tiny real-format models and real package photos: streaming captions,
follow-ups, text-only questions, "why?", name links, stop, and closing mid-answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl

from rap_desktop.core.assistant import Reply
from rap_desktop.core.models.generator import Answer, GenerationOptions
from rap_desktop.ui.assistant.chat_worker import NOT_LOADED, READY, answer_box
from rap_desktop.ui.main_window import MainWindow

from .windows import shown_window

WAIT = 60_000  # ms; the first answer converts and loads the tiny generator


@pytest.fixture
def chat_window(qtbot, session, photos, tmp_path: Path) -> Iterator[MainWindow]:
    store = session.store()
    store.add_concept("chelsea", photos["chelsea"], "<chelsea> is our tabby cat with green eyes.", "cat")
    store.add_concept("eileen", photos["astronaut"], "<eileen> is an astronaut in an orange suit.", "person")
    win = shown_window(qtbot, session, tmp_path / "ui.ini", timeout=WAIT)
    yield win
    win.close()


def ask(qtbot, panel, start) -> None:
    with qtbot.waitSignal(panel.answer_finished, timeout=WAIT):
        start()


def test_caption_streams_then_follow_up_keeps_the_conversation(qtbot, chat_window: MainWindow, photos) -> None:
    parts = chat_window.assistant
    panel, worker = parts.panel, parts.worker
    assert not panel.caption_button.isEnabled()  # no photo yet
    panel.set_photo(photos["chelsea"])
    assert panel.caption_button.isEnabled()
    pieces: list[str] = []
    worker.piece.connect(pieces.append)
    shown_while_streaming: list[str] = []
    worker.piece.connect(lambda _p: shown_while_streaming.append(panel.transcript.toPlainText()))
    status_while_streaming: list[str] = []
    worker.piece.connect(lambda _p: status_while_streaming.append(chat_window.status_line.text()))

    ask(qtbot, panel, panel.caption)

    turn = panel.turns[-1]
    reply: Reply = turn.reply
    assert reply is not None and not reply.answer.cancelled
    assert len(pieces) > 1  # token by token, not one block at the end
    # the streamed text is what the panel showed; at the end it shows the final decode (random
    # weights emit broken UTF-8 whose streamed pieces can differ from it in a replacement char)
    assert turn.answer == reply.text and len("".join(pieces).strip()) > 0
    assert reply.text and reply.text in panel.transcript.toPlainText()
    assert "Caption this photo." in shown_while_streaming[0]  # the panel showed the turn before it ended
    assert set(status_while_streaming) == {"Writing a caption…"}  # the status bar says so in words
    assert chat_window.status_line.text() == "Ready"
    assert worker.state == READY and "ready on cpu" in parts.status_text
    assert panel.caption_button.isEnabled() and not panel.stop_button.isEnabled()

    # "why?": in sentences, one per name the model was given, each with the user's own photo of it
    assert reply.prompt.startswith("<image>\n") and reply.prompt.endswith("Give a caption of the image.")
    panel.transcript.anchorClicked.emit(QUrl("why:0"))
    why = panel.why
    assert why is not None and why.isVisible()
    given = turn.prepared.conversation.first.concepts
    assert given  # the registered photo of chelsea is found in the same photo
    assert len(why.sentences) == len(why.thumbnails) == len(given)
    for ref, words, picture in zip(given, why.sentences, why.thumbnails, strict=True):
        assert words.text().startswith(f"{ref.name}: ") and "<" not in words.text()
        assert any(w in words.text() for w in ("sure this is", "probably", "might be", "you named"))
        assert not picture.pixmap().isNull() and max(picture.pixmap().width(), picture.pixmap().height()) <= 72
    assert "<" not in why.summary.text() and "similarity" not in why.summary.text()
    # the exact prompt and the concepts as the model got them: behind "Technical details"
    assert not why.prompt.isVisible()
    why.details_button.click()
    assert why.prompt.isVisible()
    assert turn.prepared.conversation.prompt() == why.prompt.toPlainText()
    assert "Give a caption of the image." in why.prompt.toPlainText()
    assert "Concepts given to the model" in why.concepts.text()
    for chosen in reply.concepts:
        assert f"<{chosen.name}>" in why.concepts.text()
    why.close()

    # a follow-up continues the same conversation: images only on the first turn
    panel.question_edit.setText("What colour are her eyes?")
    ask(qtbot, panel, panel.send_button.click)
    second: Reply = panel.turns[-1].reply
    assert [role for role, _ in second.conversation.turns] == ["user", "assistant"] * 2
    assert second.conversation.turns[1][1] == reply.text
    assert second.prompt == reply.prompt and len(second.conversation.images) == len(reply.conversation.images)
    assert "What colour are her eyes?" in panel.transcript.toPlainText()


def test_unload_frees_the_model_and_the_next_question_loads_it_again(qtbot, chat_window: MainWindow, photos) -> None:
    import weakref

    parts = chat_window.assistant
    panel, worker = parts.panel, parts.worker
    panel.set_photo(photos["chelsea"])
    ask(qtbot, panel, panel.caption)
    generator = worker._loaded.generator
    model = weakref.ref(generator.model)
    unload = next(a for a in chat_window.menuBar().actions() if a.text() == "&Assistant").menu().actions()[-1]
    assert unload.text().startswith("&Unload")
    unload.trigger()
    qtbot.waitUntil(lambda: worker.state == NOT_LOADED, timeout=WAIT)
    assert generator.model is None and model() is None  # freed, not just forgotten
    assert parts.status_text == "Generator: not loaded"
    ask(qtbot, panel, panel.caption)
    assert worker.state == READY and panel.turns[-1].reply.text


def test_text_only_question_and_name_links(qtbot, chat_window: MainWindow) -> None:
    panel = chat_window.assistant.panel
    assert panel.photo is None
    panel.question_edit.setText("What does <chelsea> look like?")
    ask(qtbot, panel, panel.send)
    reply: Reply = panel.turns[-1].reply
    assert [(c.name, c.reason) for c in reply.concepts] == [("chelsea", "mention")]
    assert reply.prompt.startswith("[0.<image>\n Name: <chelsea>, Info: <chelsea> is our tabby cat")
    assert reply.retrieval is None

    # names in answers become links, `<name>`, bare and capitalised alike; a click selects the concept
    shown = panel.highlight("I think <chelsea> met Eileen & a dog.")
    assert "<a href='concept:chelsea' style='font-weight:600'>chelsea</a>" in shown  # no brackets in the window
    assert "&lt;" not in shown
    assert "<a href='concept:eileen' style='font-weight:600'>Eileen</a>" in shown
    assert "&amp; a dog." in shown
    assert panel.highlight("bonus chelsea-cat") == "bonus chelsea-cat"  # whole names only
    panel.transcript.anchorClicked.emit(QUrl("concept:eileen"))
    assert [c.name for c in chat_window.selected_concepts()] == ["eileen"]


def test_stop_ends_the_answer_early(qtbot, chat_window: MainWindow, photos) -> None:
    panel, worker = chat_window.assistant.panel, chat_window.assistant.worker
    worker.options = GenerationOptions(max_new_tokens=400)
    panel.set_photo(photos["coffee"])
    worker.piece.connect(lambda _p: panel.stop_button.isEnabled() and panel.stop_button.click())
    ask(qtbot, panel, panel.caption)
    reply: Reply = panel.turns[-1].reply
    assert reply.answer.cancelled
    assert reply.answer.tokens < 50  # stopped within a step or a few (pieces arrive queued)
    assert "(stopped)" in panel.transcript.toPlainText()
    assert panel.caption_button.isEnabled()


def test_closing_mid_answer_cancels_and_leaves_no_running_work(qtbot, chat_window: MainWindow, photos) -> None:
    panel, worker = chat_window.assistant.panel, chat_window.assistant.worker
    worker.options = GenerationOptions(max_new_tokens=2000)  # minutes, if closing did not stop it
    panel.set_photo(photos["rocket"])
    pieces: list[str] = []
    worker.piece.connect(pieces.append)
    panel.caption()
    qtbot.waitUntil(lambda: len(pieces) >= 2, timeout=WAIT)
    token = worker._cancel
    assert token is not None and not token.cancelled
    chat_window.close()  # returns once the workers are idle
    assert token.cancelled
    assert chat_window.runner.wait(0)  # every lane idle: nothing left running
    with pytest.raises(RuntimeError):
        chat_window.runner.submit(print)  # and nothing new accepted


def test_grounding_answer_gives_a_box_in_photo_pixels(session, photos) -> None:
    """The box the panel emits for the photo view: parsed as Assistant.ground parses it."""
    from rap_desktop.core.images import load_image

    photo = load_image(photos["chelsea"])
    retrieval = session.retriever().retrieve(photo, "Give <chelsea>'s bounding box in the image.")
    width, height = photo.size
    reply = Reply(Answer("[0.25, 0.1, 0.75, 0.5]", 12, False), None, (), retrieval, "tiny-rap")  # type: ignore[arg-type]
    assert answer_box(reply) == pytest.approx((0.25 * width, 0.1 * height, 0.75 * width, 0.5 * height))
    assert answer_box(Reply(Answer("a cat on a sofa", 5, False), None, (), retrieval, "x")) is None  # type: ignore[arg-type]
    assert answer_box(Reply(Answer("[0.1, 0.1, 0.5, 0.5]", 5, False), None, (), None, "x")) is None  # type: ignore[arg-type]
