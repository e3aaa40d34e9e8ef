"""Test-set folders: format round trip and refusals; Yo'LLaVA and MyVLM importers on small copies
of the real layouts (written here, never read from ../shared)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from rap_desktop.core.eval.data import (
    ConceptImage,
    Dataset,
    DatasetError,
    EvalConcept,
    EvalPhoto,
    QAItem,
    RecognitionItem,
    load_dataset,
    write_dataset,
)
from rap_desktop.core.eval.sets import import_myvlm, import_yollava, read_yollava


def _png(path: Path, colour=(200, 30, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 24), colour).save(path)
    return path


def _small(root: Path) -> Dataset:
    _png(root / "concepts/bo.png")
    _png(root / "photos/1.jpg")
    return Dataset(
        root,
        (
            EvalConcept("bo", "<bo> is a dog.", "dog", (ConceptImage("concepts/bo.png", (1, 2, 20, 20)),)),
            EvalConcept("mam", "", "cat", (ConceptImage("concepts/mam.png"),)),
            EvalConcept("far", "", "", (), distractor=True),
        ),
        (EvalPhoto("photos/1.jpg", ("bo",), {"bo": (0, 0, 10, 10)}), EvalPhoto("photos/2.jpg", ())),
        qa=(QAItem(None, "bo", "Is <bo> a dog?", {"A": "yes", "B": "no"}, "A"),),
    )


def test_round_trip_and_derived_recognition(tmp_path: Path) -> None:
    write_dataset(_small(tmp_path))
    ds = load_dataset(tmp_path)
    assert [c.name for c in ds.concepts] == ["bo", "mam", "far"] and [c.name for c in ds.targets] == ["bo", "mam"]
    assert ds.concepts[0].images[0].box == (1.0, 2.0, 20.0, 20.0)
    assert ds.photos[0].boxes == {"bo": (0.0, 0.0, 10.0, 10.0)}
    # no recognition list: every (photo, target) pair, yes where labelled
    assert [(r.image, r.concept, r.answer) for r in ds.recognition_items()] == [
        ("photos/1.jpg", "bo", True),
        ("photos/1.jpg", "mam", False),
        ("photos/2.jpg", "bo", False),
        ("photos/2.jpg", "mam", False),
    ]
    assert ds.missing_images() == ["concepts/mam.png", "photos/2.jpg"]
    assert ds.qa[0].image is None and ds.concept("<BO>").name == "bo"


def _doc(**over) -> dict:
    doc = {"format": "rap-desktop-eval", "version": 1, "concepts": [{"name": "bo", "images": ["a.png"]}]}
    doc.update(over)
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"format": "other"}, "not a test set"),
        (_doc(version=99), "newer"),
        (_doc(concepts=[{"name": "bo"}, {"name": "BO"}]), "twice"),
        (_doc(photos=[{"image": "../x.png", "concepts": ["bo"]}]), "inside the dataset folder"),
        (_doc(photos=[{"image": "/etc/x.png", "concepts": ["bo"]}]), "inside the dataset folder"),
        (_doc(photos=[{"image": "x.png", "concepts": ["nobody"]}]), "not one of the dataset's concepts"),
        (_doc(photos=[{"image": "x.png", "boxes": {"bo": [5, 5, 1, 1]}}]), "no area"),
        (_doc(recognition=[{"image": "x.png", "concept": "bo", "answer": "yes"}]), "true or false"),
        (_doc(qa=[{"concept": "bo", "question": "q", "options": {"a": "x"}, "answer": "a"}]), "capital letters"),
        (_doc(qa=[{"concept": "bo", "question": "q", "options": {"A": "x"}, "answer": "B"}]), "one of A"),
        (_doc(photos={"image": "x.png"}), "must be a list"),
    ],
)
def test_bad_test_sets_are_refused_with_a_reason(tmp_path: Path, doc: dict, message: str) -> None:
    (tmp_path / "dataset.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(DatasetError, match=message):
        load_dataset(tmp_path)


def test_not_json_and_no_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"no dataset\.json"):
        load_dataset(tmp_path)
    (tmp_path / "dataset.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(DatasetError, match="not valid JSON"):
        load_dataset(tmp_path)


# Small copies of the reference layouts (see core/eval/sets.py's docstring).
RECOGNITION = [
    {"image": "yollava-data/test/bo/4.png", "question": "<image>\nIs <bo> in this image?", "concept": "bo",
     "type": "positive", "correct_answer": True},
    {"image": "yollava-data/test/bo/4.png", "question": "<image>\nIs <bo> in this image?", "concept": "bo",
     "type": "negative", "correct_answer": True},  # the reference's repeat, typed "negative"
    {"image": "yollava-data/test/bo/4.png", "question": "<image>\nIs <mam> in this image?", "concept": "mam",
     "type": "negative", "correct_answer": False},
    {"image": "yollava-data/test/mam/0.png", "question": "<image>\nIs <mam> in this image?", "concept": "mam",
     "type": "positive", "correct_answer": True},
    {"image": "yollava-data/test/mam/0.png", "question": "<image>\nIs <bo> in this image?", "concept": "bo",
     "type": "negative", "correct_answer": False},
]  # fmt: skip
VISUAL = {
    "bo": {
        "./yollava-data/test/bo/4.png": {
            "question": "What is sks doing?",
            "options": {"A": "Sleeping", "B": "Running"},
            "correct_answer": "A",
        }
    }
}
TEXT = {
    "bo": {
        "0": {"question": "Is sks a dog or a cat?", "option": {"A": "Dog", "B": "Cat"}, "correct_answer": "A"},
        "1": {"question": "What is sks's breed?", "option": {"A": "Corgi", "B": "Shiba inu"}, "correct_answer": "B"},
    },
    "mam": {"0": {"question": "Does sks have a tail?", "option": {"A": "Yes", "B": "No"}, "correct_answer": "A"}},
}


def _files(tmp_path: Path) -> list[Path]:
    paths = []
    for name, data in (("recognition_test.json", RECOGNITION), ("visual.json", VISUAL), ("text.json", TEXT)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(data), encoding="utf-8")
    return paths


def test_read_yollava_kinds_dedup_and_placeholder(tmp_path: Path) -> None:
    rec, vis, txt = _files(tmp_path)
    kind, items, counts = read_yollava(rec)
    assert kind == "recognition" and len(items) == 4
    assert counts == {
        "listed": 5,
        "items": 4,
        "duplicates_dropped": 1,
        "conflicting_duplicates": 0,
        "kept_with_type_contradicting_answer": 0,
        "positives": 2,
    }
    kind, items, _ = read_yollava(vis)
    assert kind == "visual_qa" and items[0].image == "yollava-data/test/bo/4.png"
    assert items[0].question == "What is <bo> doing?"
    kind, items, counts = read_yollava(txt)
    assert kind == "text_qa" and counts == {"items": 3, "concepts": 2}
    assert [q.question for q in items][:2] == ["Is <bo> a dog or a cat?", "What is <bo>'s breed?"]
    assert all(q.image is None for q in items) and items[1].answer == "B"


def test_import_yollava_with_photos_and_a_concept_database(tmp_path: Path) -> None:
    files = _files(tmp_path)
    photos = tmp_path / "downloads"
    _png(photos / "yollava-data/test/bo/4.png")  # mam/0.png is not there
    db = tmp_path / "db"
    _png(db / "bo.png", (10, 200, 10))
    _png(db / "extra.png")
    (db / "database.json").write_text(
        json.dumps(
            {
                "concept_dict": {
                    "<bo>": {"name": "bo", "image": "old/bo.png", "info": "<bo> is a dog.", "category": "dog"},
                    "<extra>": {"name": "extra", "image": "example_database/extra.png", "info": "", "category": "cup"},
                }
            }
        ),
        encoding="utf-8",
    )
    out = tmp_path / "set"
    import_yollava(files, out, photos, db)
    ds = load_dataset(out)
    assert {c.name: (c.distractor, len(c.images)) for c in ds.concepts} == {
        "bo": (False, 1),
        "extra": (True, 1),  # in the database, never asked about
        "mam": (False, 0),  # asked about, no photo of it given
    }
    assert ds.notes["concepts_without_images"] == ["mam"] and ds.notes["photos_copied"] == 1
    assert {p.image: p.concepts for p in ds.photos} == {
        "images/yollava-data/test/bo/4.png": ("bo",),
        "images/yollava-data/test/mam/0.png": ("mam",),
    }
    assert len(ds.recognition) == 4 and len(ds.qa) == 4
    assert ds.missing_images() == ["images/yollava-data/test/mam/0.png"]
    with pytest.raises(DatasetError, match="already holds"):
        import_yollava(files, out)


def test_import_yollava_refuses_other_json(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"bo": {"0": {"question": "q"}}}), encoding="utf-8")
    with pytest.raises(DatasetError, match="unexpected layout"):
        read_yollava(path)
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(DatasetError, match="unexpected layout"):
        read_yollava(path)


def test_import_myvlm(tmp_path: Path) -> None:
    src = tmp_path / "myvlm"
    for i in range(3):
        _png(src / "bo" / f"{i}.jpg", (i * 50, 0, 0))
    (src / "bo" / "captions.json").write_text(
        json.dumps({"1.jpg": ["sks on a sofa.", "sks sleeping."], "2.jpg": "sks outside."}), encoding="utf-8"
    )
    _png(src / "mam" / "a.png")
    (src / "notes").mkdir()  # no images: not a concept
    ds = import_myvlm(src, tmp_path / "set", train=1)
    ds = load_dataset(tmp_path / "set")
    assert [(c.name, len(c.images)) for c in ds.concepts] == [("bo", 1), ("mam", 1)]
    assert [p.concepts for p in ds.photos] == [("bo",), ("bo",)]
    assert [t for _, t in ds.captions] == ["<bo> on a sofa.", "<bo> sleeping.", "<bo> outside."]
    assert ds.missing_images() == []
    with pytest.raises(DatasetError, match="at least 1"):
        import_myvlm(src, tmp_path / "other", train=0)


def test_written_recognition_list_is_kept(tmp_path: Path) -> None:
    ds = _small(tmp_path)
    ds = Dataset(ds.root, ds.concepts, ds.photos, (RecognitionItem("photos/1.jpg", "mam", True),))
    write_dataset(ds)
    assert [(r.concept, r.answer) for r in load_dataset(tmp_path).recognition_items()] == [("mam", True)]
