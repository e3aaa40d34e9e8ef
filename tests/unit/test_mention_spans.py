"""mention_spans: where names occur, by the same rule as mentioned() (for highlighting answers)."""

from __future__ import annotations

from rap_desktop.core.mentions import mention_spans, mentioned


def test_every_occurrence_whole_words_longest_first() -> None:
    text = "<bo> and Bo met grace hopper; bonus bo-chan grace."
    spans = mention_spans(text, ["bo", "grace hopper", "grace"])
    assert [(text[s:e], n) for s, e, n in spans] == [
        ("<bo>", "bo"),
        ("Bo", "bo"),
        ("grace hopper", "grace hopper"),
        ("grace", "grace"),
    ]
    assert {n for _, _, n in spans} == set(mentioned(text, ["bo", "grace hopper", "grace"]))


def test_nothing_to_find() -> None:
    assert mention_spans("", ["bo"]) == []
    assert mention_spans("a dog", []) == []
