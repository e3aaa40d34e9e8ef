"""Measuring recognition and captions on test sets, as the reference's evaluation does.

- `data`: the test-set format (dataset.json) and its reading and writing.
- `sets`: test sets made from Yo'LLaVA and MyVLM folders, or from the album's confirmed matches.
- `runner`: runs a test set through a session (register its concepts, ask, score).
- `metrics`: the scores (recognition, choice, captions).
- `report`: the written report (JSON, Markdown, plots).
"""
