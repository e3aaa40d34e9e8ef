"""`rap-desktop eval ...`: run the paper's metrics on a test set, and make test sets."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..core.errors import RapError
from ..core.eval import report as eval_report
from ..core.eval import sets as eval_import
from ..core.eval.data import load_dataset
from ..core.eval.runner import TASKS, EvalRunner, RunOptions
from ..core.session import Session


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("numbers must be 1 or more")
    return values


def _progress(task: str):
    last = [0.0]

    def report(done: int, total: int, label: str) -> None:
        now = time.monotonic()
        if done == total or now - last[0] >= 1.0:
            last[0] = now
            print(f"rap-desktop: eval {task} {done}/{total} {label}", file=sys.stderr, flush=True)

    return report


def run_task(args: argparse.Namespace, session: Session) -> dict:
    _check_limit(args.limit)
    dataset = load_dataset(args.dataset)
    out = args.out or dataset.root / "results"
    options = RunOptions(
        limit=args.limit,
        skip_retrieval=getattr(args, "skip_retrieval", False),
        max_new_tokens=getattr(args, "max_new_tokens", 64),
        ks=getattr(args, "k", None) or RunOptions.ks,
        sizes=getattr(args, "sizes", None),
        repeats=getattr(args, "repeats", RunOptions.repeats),
    )
    distractors = [load_dataset(d) for d in getattr(args, "distractors", None) or []]
    runner = EvalRunner(session, dataset, out, options, distractors, _progress(args.task))
    doc = runner.run(args.task)
    files = eval_report.write_report(doc, out)
    text = eval_report.markdown(doc) + "\nReport: " + ", ".join(files.values())
    return {**{k: v for k, v in doc.items() if k != "rows"}, "files": files, "text": text}


def make_split(args: argparse.Namespace, session: Session) -> dict:
    ds = eval_import.make_split(session.store(with_embedder=False), args.out)
    return _made(ds, args.out)


def import_yollava(args: argparse.Namespace, session: Session) -> dict:
    ds = eval_import.import_yollava(args.files, args.out, args.images, args.concepts)
    return _made(ds, args.out)


def import_myvlm(args: argparse.Namespace, session: Session) -> dict:
    ds = eval_import.import_myvlm(args.folder, args.out, args.train)
    return _made(ds, args.out)


def _made(ds, out: Path) -> dict:
    counts = {
        "concepts": len(ds.concepts),
        "distractors": len(ds.concepts) - len(ds.targets),
        "photos": len(ds.photos),
        "recognition": len(ds.recognition),
        "qa": len(ds.qa),
        "captions": len(ds.captions),
        "missing_images": len(ds.missing_images()),
    }
    text = f"wrote the test set {out}: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
    return {"folder": str(out), "counts": counts, "notes": dict(ds.notes), "text": text}


def register(sub, command) -> None:
    """Add `eval` and its actions to the CLI's sub-parsers (`command` is cli.build_parser's helper)."""
    ev = sub.add_parser("eval", help="measure how well the assistant knows a test set's concepts").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    what = {
        "caption": "caption recall/precision/F1 on concept names",
        "recognition": "recognition accuracy (positives, negatives, their mean)",
        "qa": "multiple-choice QA accuracy (visual and text-only)",
        "retrieval": "retrieval recall@K vs database size, and the threshold's precision/recall curve",
    }
    for task in TASKS:
        p = command(ev, task, run_task, what[task])
        p.set_defaults(task=task)
        p.add_argument("dataset", type=Path, help="a test set folder (dataset.json)")
        p.add_argument("--out", type=Path, help="results folder (default: DATASET/results); reruns resume there")
        p.add_argument("--limit", type=int, help="run at most N items")
        p.add_argument(
            "--distractors", type=Path, action="append", help="another test set whose concepts join the database"
        )
        if task == "retrieval":
            p.add_argument("--k", type=_ints, help="top-K values, e.g. 1,2,5 (default 1,2,3,5)")
            p.add_argument("--sizes", type=_ints, help="database sizes N, e.g. 5,10,20 (default: a spread up to all)")
            p.add_argument("--repeats", type=int, default=5, help="distractor draws per photo and size")
        else:
            p.add_argument("--skip-retrieval", action="store_true", help="perfect retrieval: labelled concepts")
            p.add_argument("--max-new-tokens", type=int, default=64)
    p = command(ev, "make-split", make_split, "turn the album (concepts + confirmed matches) into a test set")
    p.add_argument("out", type=Path, help="new folder for the test set")
    p = command(ev, "import-yollava", import_yollava, "a test set from Yo'LLaVA evaluation JSONs")
    p.add_argument("files", type=Path, nargs="+", help="recognition / visual QA / text-only QA JSONs")
    p.add_argument("--out", type=Path, required=True, help="new folder for the test set")
    p.add_argument("--images", type=Path, help="folder holding the JSONs' photos (e.g. the one with yollava-data/)")
    p.add_argument("--concepts", type=Path, help="a RAP database folder (database.json) with the concepts' photos")
    p = command(ev, "import-myvlm", import_myvlm, "a test set from a MyVLM-style folder (one folder per concept)")
    p.add_argument("folder", type=Path)
    p.add_argument("--out", type=Path, required=True, help="new folder for the test set")
    p.add_argument("--train", type=int, default=1, help="images per concept used as its photos (the rest are tests)")


def _check_limit(value: int | None) -> None:
    if value is not None and value < 1:
        raise RapError("--limit must be at least 1")
