"""Run a test set through the real pipeline and score it (metrics.py).

The run gets a store of its own under the output folder (the user's store is never touched), named
by a hash of the concepts so a changed test set starts afresh. Every finished item is appended to
`<task>.jsonl` there with a fingerprint of what produced it (models, threshold, options): a rerun
skips what is done, and a run with other settings does not reuse stale answers.

`skip_retrieval` is the paper's "perfect retrieval" ablation: the generator gets the concept the
question names (as the name route always gives it) followed by the concepts the photo is labelled
with, instead of what retrieval found.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..cancel import CancelToken
from ..errors import RapError
from ..images import crop_box, load_image
from ..models.generator import GenerationOptions
from ..prompting import (
    ConceptRef,
    Conversation,
    build_user_turn,
    caption_question,
    multiple_choice_question,
    recognition_question,
)
from ..session import Session
from ..store import NewConcept, NewExemplar
from . import metrics as ev
from .data import Dataset, EvalConcept

TASKS = ("caption", "recognition", "qa", "retrieval")
Progress = Callable[[int, int, str], None]


class EvalCancelled(RapError):
    """Stopped on request; what was finished is kept and a rerun goes on from there."""


@dataclass(frozen=True)
class RunOptions:
    limit: int | None = None
    skip_retrieval: bool = False
    max_new_tokens: int = 64
    ks: tuple[int, ...] = (1, 2, 3, 5)
    sizes: tuple[int, ...] | None = None  # database sizes for recall@K; None: a spread up to all
    repeats: int = 5  # distractor draws per photo and size
    seed: int = 0


class ResultCache:
    """Append-only JSON lines; a torn last line (a crash mid-write) is ignored."""

    def __init__(self, path: Path, fingerprint: str) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.done: dict[str, dict] = {}
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(row, dict) and row.get("fingerprint") == fingerprint and "key" in row:
                    self.done[row["key"]] = row["result"]

    def put(self, key: str, result: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"fingerprint": self.fingerprint, "key": key, "result": result}, ensure_ascii=False)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.done[key] = result


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]


def default_sizes(total: int, smallest: int = 1) -> tuple[int, ...]:
    """1, 2, 5, 10, 20, 50, ... up to `total`, and `total` itself."""
    sizes, step = [], [1, 2, 5]
    scale = 1
    while True:
        for s in step:
            if smallest <= s * scale < total:
                sizes.append(s * scale)
        if step[-1] * scale >= total:
            break
        scale *= 10
    return (*sizes, total)


class EvalRunner:
    def __init__(
        self,
        session: Session,
        dataset: Dataset,
        out: Path,
        options: RunOptions = RunOptions(),
        distractors: Sequence[Dataset] = (),
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        self.dataset = dataset
        self.out = Path(out)
        self.options = options
        self.progress = progress
        self.cancel = cancel or CancelToken()
        own = {c.name.casefold() for c in dataset.concepts}
        # distractor sets' concepts join the database, never asked about; their image paths are
        # relative to their own folder
        self._roots: dict[str, Path] = {}
        extra = []
        for other in distractors:
            for c in other.concepts:
                if c.name.casefold() not in own and c.name.casefold() not in self._roots:
                    extra.append(EvalConcept(c.name, c.info, c.category, c.images, True))
                    self._roots[c.name.casefold()] = other.root
        self.concepts = [*dataset.concepts, *extra]
        key = _digest([asdict(c) for c in self.concepts])
        self.session = Session(self.out / f"store-{key}", session.settings)
        self.stored: set[str] = set()
        self._by_image = {p.image: list(p.concepts) for p in dataset.photos}

    # --- set-up ----------------------------------------------------------------------------------

    def _image(self, concept: EvalConcept, rel: str) -> Path:
        root = self._roots.get(concept.name.casefold()) or self.dataset.root
        return Path(root).joinpath(*rel.split("/"))

    def build_store(self) -> list[str]:
        """Add every concept that has an image to the run's store (once); returns those left out."""
        store = self.session.store()
        have = {c.name.casefold() for c in store.list_concepts()}
        new, without = [], []
        for c in self.concepts:
            images = [(self._image(c, i.path), i.box) for i in c.images]
            images = [(p, box) for p, box in images if p.is_file()]
            if not images:
                without.append(c.name)
            elif c.name.casefold() not in have:
                exemplars = tuple(NewExemplar(load_image(p), box, "imported") for p, box in images)
                new.append(NewConcept(c.name, c.info, c.category, exemplars))
        if new:
            store.import_concepts(new, skip_existing=True)
        self.stored = {c.name.casefold() for c in store.list_concepts()}
        return without

    def fingerprint(self, task: str) -> str:
        settings = self.session.settings
        parts: dict[str, object] = {"task": task, "embedder": self.session.embedder.model_id}
        parts["detector"] = settings.detector
        parts["threshold"], parts["limit"] = self.session.retrieval_settings()
        if task != "retrieval":
            from ..models.generator import generator_spec

            spec = generator_spec(settings.registry(), settings.generator, settings.device)
            parts.update(generator=spec.name, quantization=settings.quantization)
            parts.update(skip_retrieval=self.options.skip_retrieval, max_new_tokens=self.options.max_new_tokens)
        return _digest(parts)

    # --- generation ------------------------------------------------------------------------------

    def _generation(self) -> GenerationOptions:
        return GenerationOptions(max_new_tokens=self.options.max_new_tokens)

    def _concept_image(self, name: str):
        store = self.session.store()
        exemplar = store.exemplars(name)[0]
        return crop_box(load_image(store.image_path(exemplar.image)).image, exemplar.box)

    def _answer(self, assistant, image: str | None, question: str, given: Sequence[str]) -> dict:
        """One answer, through retrieval or (skip_retrieval) with the `given` concepts."""
        loaded = load_image(self.dataset.path(image)) if image else None
        if not self.options.skip_retrieval:
            if loaded is None:
                reply = assistant.ask_text_only(question, self._generation(), cancel=self.cancel)
            else:
                path = str(self.dataset.path(image))
                reply = assistant.ask(loaded, question, self._generation(), cancel=self.cancel, path=path)
            if reply.answer.cancelled:
                raise EvalCancelled("evaluation cancelled")
            return {"answer": reply.text, "given": [c.name for c in reply.concepts], "prompt": reply.prompt}
        store = self.session.store()
        infos = {c.name.casefold(): c for c in store.list_concepts()}
        chosen = list(dict.fromkeys(n.casefold() for n in given if n.casefold() in infos))
        refs = [ConceptRef(infos[k].name, infos[k].info, self._concept_image(infos[k].name)) for k in chosen]
        limit = assistant.generator.concept_limit
        turn = build_user_turn(question, refs, query_image=loaded.image if loaded else None, limit=limit)
        conversation = Conversation.start(assistant.template, turn)
        answer = assistant.generator.generate(
            conversation.prompt(), conversation.images, self._generation(), None, self.cancel
        )
        if answer.cancelled:
            raise EvalCancelled("evaluation cancelled")
        text = conversation.add_answer(answer.text).turns[-1][1]
        return {"answer": text, "given": [c.name for c in turn.concepts], "prompt": turn.text}

    # --- the tasks -------------------------------------------------------------------------------

    def _labels(self, image: str) -> list[str]:
        return self._by_image.get(image, [])

    def _items(self, task: str) -> list[tuple[str, dict]]:
        """(cache key, item) for the task, in a stable order, before --limit."""
        ds = self.dataset
        if task in ("caption", "retrieval"):
            return [(p.image, {"image": p.image, "present": list(p.concepts)}) for p in ds.photos]
        if task == "recognition":
            items = [
                (f"{r.image}|{r.concept}", {"image": r.image, "concept": r.concept, "expected": r.answer})
                for r in ds.recognition_items()
            ]
            if self.options.limit:  # keep both classes: positives and negatives interleaved
                pos = [i for i in items if i[1]["expected"]]
                neg = [i for i in items if not i[1]["expected"]]
                items = [x for pair in zip(pos, neg, strict=False) for x in pair]
                items += pos[len(neg) :] + neg[len(pos) :]
            return items
        return [
            (
                f"{q.image}|{q.concept}|{q.question}",
                {
                    "image": q.image,
                    "concept": q.concept,
                    "question": q.question,
                    "options": dict(q.options),
                    "expected": q.answer,
                },
            )
            for q in ds.qa
        ]

    def _skip_reason(self, item: dict) -> str:
        if item.get("image") and not self.dataset.exists(item["image"]):
            return "photo missing"
        concept = item.get("concept")
        if concept and concept.casefold() not in self.stored:
            return "concept has no image"
        return ""

    def _one(self, task: str, item: dict, assistant) -> dict:
        if task == "retrieval":
            return self._retrieval_item(item)
        if task == "caption":
            return self._answer(assistant, item["image"], caption_question(), item["present"])
        if task == "recognition":
            given = [item["concept"], *self._labels(item["image"])]  # asked first, as the name route does
            return self._answer(assistant, item["image"], recognition_question(item["concept"]), given)
        question = multiple_choice_question(item["question"], item["options"])
        given = [item["concept"], *(self._labels(item["image"]) if item["image"] else [])]
        return self._answer(assistant, item["image"], question, given)

    def _retrieval_item(self, item: dict) -> dict:
        """Best similarity of the photo's regions to every stored concept (the exact FAISS search over
        all exemplars), and what the retriever accepted at the current threshold."""
        loaded = load_image(self.dataset.path(item["image"]))
        result = self.session.retriever().retrieve(loaded, path=str(self.dataset.path(item["image"])))
        store = self.session.store()
        scores: dict[str, float] = {}
        if result.regions:
            vectors = np.stack([r.embedding for r in result.regions])
            for hits in store.search(vectors, k=max(1, len(store.exemplars()))):
                for hit in hits:
                    scores[hit.concept] = max(scores.get(hit.concept, -1.0), hit.similarity)
        accepted = sorted({r.accepted.concept for r in result.regions if r.accepted})
        return {
            "scores": {k: round(v, 6) for k, v in scores.items()},
            "accepted": accepted,
            "regions": len(result.regions),
        }

    def run(self, task: str) -> dict:
        if task not in TASKS:
            raise RapError(f"unknown evaluation task {task!r}; one of {', '.join(TASKS)}")
        without = self.build_store()
        items = self._items(task)
        if not items:
            raise RapError(f"the test set has no items for {task}")
        cache = ResultCache(self.out / f"{task}.jsonl", self.fingerprint(task))
        skipped: dict[str, int] = {}
        todo = []
        for key, item in items:
            reason = self._skip_reason(item)
            if reason:
                skipped[reason] = skipped.get(reason, 0) + 1
            else:
                todo.append((key, item))
        if self.options.limit:
            todo = todo[: self.options.limit]
        if not todo:
            raise RapError(f"nothing to run for {task}: {skipped or 'no items'} (are the photos in the folder?)")
        assistant = None
        cached = sum(key in cache.done for key, _ in todo)
        if task != "retrieval" and cached < len(todo):
            assistant = self.session.assistant()
            assistant.relations = False  # the reference's prompts: scores stay comparable with the paper's
        rows = []
        for n, (key, item) in enumerate(todo, 1):
            if key not in cache.done:
                if self.cancel.cancelled:
                    raise EvalCancelled(f"evaluation cancelled after {n - 1} of {len(todo)}; run again to go on")
                cache.put(key, self._one(task, item, assistant))
            rows.append({**item, **cache.done[key]})
            if self.progress:
                self.progress(n, len(todo), item.get("image") or item.get("question", ""))
        run = {"items": len(todo), "cached": cached, "skipped": skipped, "concepts_without_image": without}
        return {**self._header(task), "run": run, **score(task, rows, self)}

    def _header(self, task: str) -> dict:
        settings = self.session.settings
        threshold = self.session.retrieval_settings()[0]
        head = {
            "task": task,
            "dataset": str(self.dataset.root),
            "embedder": self.session.embedder.model_id,
            "detector": settings.detector,
            "threshold": threshold,
            "concepts_in_database": len(self.stored),
            "options": {k: v for k, v in asdict(self.options).items() if v is not None},
        }
        if task != "retrieval":
            head["generator"] = settings.generator
        return head


def score(task: str, rows: list[dict], runner: EvalRunner) -> dict:
    """The task's scores from the per-item rows (answers, similarities)."""
    if task == "caption":
        names = [c.name for c in runner.concepts]
        for row in rows:
            row["mentioned"] = ev.caption_mentions(row["answer"], names)
        given = ev.score_captions([(r["present"], r["given"]) for r in rows])
        return {
            "scores": ev.score_captions([(r["present"], r["mentioned"]) for r in rows]),
            "retrieved": {k: given[k] for k in ("recall", "precision", "f1")},  # what the generator was given
            "rows": rows,
        }
    if task == "recognition":
        for row in rows:
            row["parsed"] = ev.parse_yes_no(row["answer"])
        return {"scores": ev.score_recognition([(r["expected"], r["parsed"]) for r in rows]), "rows": rows}
    if task == "qa":
        for row in rows:
            row["parsed"] = ev.parse_choice(row["answer"], row["options"])
        visual = [r for r in rows if r["image"]]
        text = [r for r in rows if not r["image"]]
        doc = {
            name: ev.score_qa([(r["expected"], r["parsed"]) for r in part])
            for name, part in (("all", rows), ("visual", visual), ("text_only", text))
            if part
        }
        return {"scores": doc, "rows": rows}
    return retrieval_scores(rows, runner)


def retrieval_scores(rows: list[dict], runner: EvalRunner) -> dict:
    opts = runner.options
    photos = [(r["scores"], [n for n in r["present"] if n in r["scores"]]) for r in rows]
    total = len(runner.stored)
    sizes = opts.sizes or default_sizes(total, max((len(p) for _, p in photos), default=1))
    by_size = ev.recall_by_size(photos, [s for s in sizes if s <= total] or [total], opts.ks, opts.repeats, opts.seed)
    pairs = [(s, name in set(present)) for scores, present in photos for name, s in scores.items()]
    points = ev.threshold_curve(pairs)
    best = ev.best_threshold(points)
    threshold = runner.session.retrieval_settings()[0]
    current = ev.threshold_curve(pairs, [threshold])[0] if pairs else None
    accepted = ev.score_captions([(r["present"], r["accepted"]) for r in rows])  # the retriever's own decisions
    return {
        "scores": {
            "recall_at_k": {str(k): v for k, v in ev.recall_at_k(photos, opts.ks).items()},
            "recall_by_size": {str(n): {str(k): v for k, v in row.items()} for n, row in by_size.items()},
            "best_threshold": asdict(best) if best else None,
            "current_threshold": asdict(current) if current else None,
            "retriever_decisions": {k: accepted[k] for k in ("recall", "precision", "f1")},
            "settings_key": f'[retrieval.thresholds] "{runner.session.embedder.model_id}"',  # TOML table, key
        },
        "curves": {"threshold": [asdict(p) for p in points]},
        "rows": rows,
    }
