"""The scorers on hand-made cases; every expected number is worked out by hand in the comments."""

from __future__ import annotations

import pytest

from rap_desktop.core.eval import metrics as ev


def test_caption_mentions_whole_words_tags_and_case() -> None:
    names = ["bo", "mam", "cat-cup"]
    assert ev.caption_mentions("<bo> and Mam play near the cat-cup.", names) == ["bo", "mam", "cat-cup"]
    assert ev.caption_mentions("A bonus for the cat on a cup; mammals.", names) == []


def test_caption_scores_micro_and_per_concept() -> None:
    items = [
        ({"bo"}, {"bo"}),  # hit
        ({"bo", "mam"}, {"bo", "dug"}),  # bo hit, mam missed, dug wrong
        ({"mam"}, set()),  # missed
        (set(), {"mam"}),  # wrong
    ]
    doc = ev.score_captions(items)
    # hits 1+1 = 2, mentioned 1+2+0+1 = 4, present 1+2+1+0 = 4
    assert (doc["hits"], doc["mentioned"], doc["present"], doc["photos"]) == (2, 4, 4, 4)
    assert doc["recall"] == pytest.approx(0.5) and doc["precision"] == pytest.approx(0.5)
    assert doc["f1"] == pytest.approx(0.5)
    bo, mam, dug = (doc["per_concept"][n] for n in ("bo", "mam", "dug"))
    assert (bo["hits"], bo["mentioned"], bo["present"], bo["recall"], bo["precision"]) == (2, 2, 2, 1.0, 1.0)
    # mam: present in photos 2 and 3, mentioned only in photo 4
    assert (mam["hits"], mam["mentioned"], mam["present"], mam["recall"], mam["precision"], mam["f1"]) == (
        0, 1, 2, 0.0, 0.0, 0.0
    )
    assert dug["recall"] is None and dug["precision"] == 0.0 and dug["f1"] is None  # never present


def test_caption_scores_compare_names_by_key() -> None:
    doc = ev.score_captions([({"Bo"}, {"<bo>"}), ({"bo"}, {"BO", "mam"})])
    # 2 hits; mentioned 1 + 2 = 3; present 2 -> recall 1, precision 2/3, F1 = 2*(2/3)/(5/3) = 0.8
    assert (doc["recall"], doc["precision"], doc["f1"]) == (1.0, pytest.approx(2 / 3), pytest.approx(0.8))
    assert set(doc["per_concept"]) == {"Bo", "mam"}  # one row per concept, shown as labelled


def test_caption_scores_empty_set_is_undefined_not_zero() -> None:
    doc = ev.score_captions([])
    assert doc["recall"] is None and doc["precision"] is None and doc["f1"] is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes.", True),
        ("yes, <bo> is in the photo", True),
        ("  YES", True),
        ("No", False),
        ("no.", False),
        ("Not really", False),
        ("nope", False),
        ("<bo> is not in this image.", False),
        ("<bo> isn't there", False),
        ("The answer is yes", True),
        ("I cannot tell", None),
        ("", None),
        ("maybe", None),
        ("<bo> is in the image, no doubt, yes", None),  # both: refuse to guess
    ],
)
def test_parse_yes_no(text: str, expected: bool | None) -> None:
    assert ev.parse_yes_no(text) is expected


def test_recognition_scores_positive_negative_and_weighted() -> None:
    items = [(True, True), (True, False), (True, None), (True, True)]  # positives: 2 of 4
    items += [(False, False)] * 5 + [(False, True)]  # negatives: 5 of 6
    doc = ev.score_recognition(items)
    assert doc["positive"] == {"accuracy": 0.5, "correct": 2, "total": 4}
    assert doc["negative"]["accuracy"] == pytest.approx(5 / 6) and doc["negative"]["total"] == 6
    assert doc["weighted"] == pytest.approx((0.5 + 5 / 6) / 2)  # 0.6667, not the pooled 7/10
    assert doc["accuracy"] == pytest.approx(0.7)
    assert doc["unparsed"] == 1 and doc["items"] == 10


def test_recognition_without_negatives_has_no_weighted_score() -> None:
    doc = ev.score_recognition([(True, True)])
    assert doc["negative"]["accuracy"] is None and doc["weighted"] is None


def test_dedupe_recognition_counts_repeats_and_conflicts() -> None:
    items = [
        {"image": "a.png", "concept": "bo", "answer": True},
        {"image": "a.png", "concept": "<bo>", "answer": True},  # the reference lists positives twice
        {"image": "a.png", "concept": "mam", "answer": False},
        {"image": "b.png", "concept": "bo", "answer": False},
        {"image": "b.png", "concept": "bo", "answer": True},  # a repeat that disagrees
    ]
    kept, dropped, conflicts = ev.dedupe_recognition(items)
    assert [(i["image"], i["concept"]) for i in kept] == [("a.png", "bo"), ("a.png", "mam"), ("b.png", "bo")]
    assert (dropped, conflicts) == (2, 1)


OPTIONS = {"A": "Shiba inu", "B": "Corgi", "C": "Husky", "D": "Cat"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A", "A"),
        ("(B)", "B"),
        ("B.", "B"),
        ("Answer: C", "C"),
        ("the answer is d", "D"),
        ("Corgi", "B"),
        ("corgi.", "B"),
        ("", None),  # the reference's normalisation maps this to "A"
        ("E", None),
        ("I do not know", None),
    ],
)
def test_parse_choice(text: str, expected: str | None) -> None:
    assert ev.parse_choice(text, OPTIONS) == expected


def test_qa_scores() -> None:
    doc = ev.score_qa([("A", "A"), ("B", "A"), ("B", None), ("a", "A")])
    assert doc == {"accuracy": 0.5, "correct": 2, "total": 4, "unparsed": 1}


SCORES = [
    ({"bo": 0.9, "mam": 0.8, "dug": 0.1}, {"bo"}),  # bo ranks 1st
    ({"bo": 0.2, "mam": 0.7, "dug": 0.5}, {"bo", "mam"}),  # mam 1st, bo 3rd
]


def test_recall_at_k() -> None:
    # pairs: (1, bo) rank 1, (2, mam) rank 1, (2, bo) rank 3
    assert ev.recall_at_k(SCORES, [1, 2, 3]) == {1: pytest.approx(2 / 3), 2: pytest.approx(2 / 3), 3: 1.0}


def test_recall_at_k_ties_break_by_name_and_missing_concepts_rank_last() -> None:
    assert ev.ranked({"b": 0.5, "a": 0.5, "c": 0.9}) == ["c", "a", "b"]
    assert ev.recall_at_k([({"a": 0.5, "b": 0.5}, {"b"})], [1]) == {1: 0.0}
    assert ev.recall_at_k([({"a": 0.9}, {"zz"})], [1, 5]) == {1: 0.0, 5: 0.0}


def test_recall_by_size_grows_harder_with_more_distractors() -> None:
    # one photo, bo present with 0.5; distractors d1 (0.9) and d2, d3 (0.1)
    photos = [({"bo": 0.5, "d1": 0.9, "d2": 0.1, "d3": 0.1}, {"bo"})]
    curve = ev.recall_by_size(photos, sizes=[1, 4, 9], ks=[1, 2], repeats=30, seed=3)
    assert curve[1] == {1: 1.0, 2: 1.0}  # alone in the database
    assert curve[4] == {1: 0.0, 2: 1.0}  # the whole pool: d1 beats it, nothing else does
    assert curve[9] == curve[4]  # capped to the pool
    curve2 = ev.recall_by_size(photos, sizes=[2], ks=[1], repeats=300, seed=1)
    # with one distractor of three, d1 is drawn a third of the time
    assert curve2[2][1] == pytest.approx(2 / 3, abs=0.08)
    assert ev.recall_by_size(photos, [2], [1], repeats=300, seed=1) == curve2  # seeded


def test_threshold_curve_exact_points_and_best_f1() -> None:
    pairs = [(0.9, True), (0.8, False), (0.7, True), (0.3, False)]
    points = ev.threshold_curve(pairs)
    assert [p.threshold for p in points] == [0.3, 0.7, 0.8, 0.9]
    # t=0.3: all 4 accepted, 2 right: P 0.5, R 1, F1 2/3
    # t=0.7: 3 accepted, 2 right: P 2/3, R 1, F1 0.8
    # t=0.8: 2 accepted, 1 right: P 0.5, R 0.5, F1 0.5
    # t=0.9: 1 accepted, 1 right: P 1, R 0.5, F1 2/3
    assert [p.accepted for p in points] == [4, 3, 2, 1]
    assert [p.f1 for p in points] == pytest.approx([2 / 3, 0.8, 0.5, 2 / 3])
    best = ev.best_threshold(points)
    assert best is not None and best.threshold == 0.7 and best.precision == pytest.approx(2 / 3)


def test_threshold_curve_on_a_grid_and_ties_pick_the_higher_threshold() -> None:
    points = ev.threshold_curve([(0.9, True), (0.2, False)], thresholds=[0.0, 0.5, 1.0])
    assert [(p.precision, p.recall) for p in points] == [(0.5, 1.0), (1.0, 1.0), (None, 0.0)]
    assert ev.best_threshold(points).threshold == 0.5
    same = ev.threshold_curve([(0.9, True), (0.2, False)], thresholds=[0.3, 0.6])
    assert ev.best_threshold(same).threshold == 0.6  # equal F1: fewer wrong names
    assert ev.best_threshold([]) is None
