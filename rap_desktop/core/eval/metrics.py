"""The paper's metrics as pure functions: caption recall/precision/F1 on concept names, recognition
accuracy (positives, negatives, their mean), multiple-choice QA accuracy, retrieval recall@K against
database size, and the acceptance threshold's precision/recall curve.

No model, store or file here: the runner (runner.py) feeds answers and similarities in.
Undefined ratios (nothing to divide by) are None, never a silent 0 or 1.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..mentions import mentioned
from ..prompting import parse_choice as _parse_choice
from ..prompting import parse_yes_no as _first_word_yes_no


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def _key(name: str) -> str:
    return name.strip().removeprefix("<").removesuffix(">").strip().casefold()


# --- captions ------------------------------------------------------------------------------------


def caption_mentions(caption: str, names: Iterable[str]) -> list[str]:
    """Concept names the caption mentions (`<bo>`, `bo`, `Bo`; whole words), as the retrieval name
    route finds them."""
    return mentioned(caption, names)


@dataclass(frozen=True)
class Counts:
    hits: int  # mentioned and present
    mentioned: int
    present: int

    @property
    def recall(self) -> float | None:
        return ratio(self.hits, self.present)

    @property
    def precision(self) -> float | None:
        return ratio(self.hits, self.mentioned)

    @property
    def f1(self) -> float | None:
        return f1(self.precision, self.recall)

    def as_dict(self) -> dict:
        return {
            "recall": self.recall,
            "precision": self.precision,
            "f1": self.f1,
            "hits": self.hits,
            "mentioned": self.mentioned,
            "present": self.present,
        }


def score_captions(items: Sequence[tuple[Iterable[str], Iterable[str]]]) -> dict:
    """items: one (present names, mentioned names) pair per test photo. Micro-averaged over all
    (photo, concept) pairs, plus the same counts per concept."""
    totals = [0, 0, 0]
    per: dict[str, list[int]] = {}
    shown: dict[str, str] = {}
    for present, said in items:
        p = {_key(n): n for n in present}
        m = {_key(n): n for n in said}
        for key, name in [*p.items(), *m.items()]:
            shown.setdefault(key, name)  # the first spelling seen, labels before answers
        for key in set(p) | set(m):
            row = per.setdefault(key, [0, 0, 0])
            row[0] += key in p and key in m
            row[1] += key in m
            row[2] += key in p
        totals[0] += len(p.keys() & m.keys())
        totals[1] += len(m)
        totals[2] += len(p)
    return {
        **Counts(*totals).as_dict(),
        "photos": len(items),
        "per_concept": {shown[k]: Counts(*per[k]).as_dict() for k in sorted(per)},
    }


# --- recognition ---------------------------------------------------------------------------------

_YES = {"yes", "yeah", "yep", "true", "correct", "indeed"}
_NO = {"no", "not", "nope", "false", "isn't", "isnt"}
_WORDS = re.compile(r"[a-z]+(?:'[a-z]+)?")


def parse_yes_no(text: str) -> bool | None:
    """Yes/no from a free answer. The first word decides when it is one ("Yes.", "yes, <bo> is...",
    "No", "Not here"); otherwise the answer must hold yes-words or no-words but not both ("<bo> is
    not in this image" -> False). Anything else ("I cannot tell") is None: unparsed, counted wrong."""
    first = _first_word_yes_no(text or "")
    if first is not None:
        return first
    words = _WORDS.findall((text or "").casefold())
    if words and words[0] in _YES | _NO:
        return words[0] in _YES
    yes, no = bool(_YES & set(words)), bool(_NO & set(words))
    return yes if yes != no else None


def dedupe_recognition(items: Sequence[Mapping]) -> tuple[list[Mapping], int, int]:
    """Drop repeated (image, concept) items, keeping the first. Returns (kept, dropped, conflicts):
    conflicts are repeats whose expected answer differs from the kept one."""
    first: dict[tuple[str, str], Mapping] = {}
    dropped = conflicts = 0
    for item in items:
        key = (str(item["image"]), _key(str(item["concept"])))
        if key in first:
            dropped += 1
            conflicts += bool(first[key]["answer"]) != bool(item["answer"])
        else:
            first[key] = item
    return list(first.values()), dropped, conflicts


def score_recognition(items: Sequence[tuple[bool, bool | None]]) -> dict:
    """items: (expected, parsed answer or None). Accuracy on positives, on negatives, and their mean
    (the paper's "weighted"); an unparsed answer is wrong."""
    pos = [answer is True for expected, answer in items if expected]
    neg = [answer is False for expected, answer in items if not expected]
    acc_pos, acc_neg = ratio(sum(pos), len(pos)), ratio(sum(neg), len(neg))
    weighted = (acc_pos + acc_neg) / 2 if acc_pos is not None and acc_neg is not None else None
    return {
        "positive": {"accuracy": acc_pos, "correct": sum(pos), "total": len(pos)},
        "negative": {"accuracy": acc_neg, "correct": sum(neg), "total": len(neg)},
        "weighted": weighted,
        "accuracy": ratio(sum(pos) + sum(neg), len(items)),
        "unparsed": sum(answer is None for _, answer in items),
        "items": len(items),
    }


# --- multiple-choice QA --------------------------------------------------------------------------


def parse_choice(text: str, options: Mapping[str, str]) -> str | None:
    """The option letter an answer picks ("A", "(B)", "B.", "Answer: C", "the answer is d", or one
    option's full text); None when it picks none. Empty is None, never "A"."""
    return _parse_choice(text or "", options)


def score_qa(items: Sequence[tuple[str, str | None]]) -> dict:
    """items: (correct letter, parsed letter or None)."""
    correct = sum(got is not None and got.upper() == want.upper() for want, got in items)
    return {
        "accuracy": ratio(correct, len(items)),
        "correct": correct,
        "total": len(items),
        "unparsed": sum(got is None for _, got in items),
    }


# --- retrieval -----------------------------------------------------------------------------------


def ranked(scores: Mapping[str, float], database: Iterable[str] | None = None) -> list[str]:
    """Concept names best first (ties by name, so results never depend on dict order)."""
    names = scores.keys() if database is None else database
    return sorted(names, key=lambda n: (-scores.get(n, float("-inf")), n))


Scored = Sequence[tuple[Mapping[str, float], Iterable[str]]]


def recall_at_k(photos: Scored, ks: Sequence[int]) -> dict[int, float | None]:
    """photos: (best similarity per concept in the database, concepts present). recall@K = share of
    (photo, present concept) pairs whose concept ranks in the photo's top K."""
    hits = {k: 0 for k in ks}
    pairs = 0
    for scores, present in photos:
        order = ranked(scores)
        for name in present:
            pairs += 1
            if name not in scores:
                continue  # never retrieved at all: a miss at every K
            position = order.index(name)
            for k in ks:
                hits[k] += position < k
    return {k: ratio(hits[k], pairs) for k in ks}


def recall_by_size(
    photos: Scored,
    sizes: Sequence[int],
    ks: Sequence[int],
    repeats: int = 5,
    seed: int = 0,
) -> dict[int, dict[int, float | None]]:
    """recall@K when the database holds N concepts: each photo's present concepts plus N - |present|
    distractors drawn from the others (seeded; `repeats` draws, pooled). Sizes above the pool are
    capped to it; a draw is skipped when the full pool is asked for (it has one outcome)."""
    rng = random.Random(seed)
    out: dict[int, dict[int, float | None]] = {}
    for size in sizes:
        draws = []
        for scores, present in photos:
            present = [n for n in present if n in scores]
            others = sorted(set(scores) - set(present))
            extra = max(0, min(size, len(scores)) - len(present))
            for _ in range(1 if extra >= len(others) else repeats):
                chosen = [*present, *rng.sample(others, extra)]
                draws.append(({n: scores[n] for n in chosen}, present))
        out[size] = recall_at_k(draws, ks)
    return out


@dataclass(frozen=True)
class ThresholdPoint:
    threshold: float
    precision: float | None
    recall: float | None
    f1: float | None
    accepted: int


def threshold_curve(
    pairs: Sequence[tuple[float, bool]], thresholds: Sequence[float] | None = None
) -> list[ThresholdPoint]:
    """pairs: (similarity, the concept really is there). A pair is accepted when similarity >=
    threshold. Default thresholds: every distinct similarity (the exact curve), ascending."""
    positives = sum(1 for _, positive in pairs if positive)
    grid = sorted({round(float(s), 6) for s, _ in pairs}) if thresholds is None else sorted(thresholds)
    points = []
    for t in grid:
        accepted = [positive for s, positive in pairs if s >= t - 1e-9]
        precision, recall = ratio(sum(accepted), len(accepted)), ratio(sum(accepted), positives)
        points.append(ThresholdPoint(t, precision, recall, f1(precision, recall), len(accepted)))
    return points


def best_threshold(points: Sequence[ThresholdPoint]) -> ThresholdPoint | None:
    """The point with the highest F1; among equals the highest threshold (fewer wrong names)."""
    scored = [p for p in points if p.f1 is not None]
    return max(scored, key=lambda p: (p.f1, p.threshold)) if scored else None
