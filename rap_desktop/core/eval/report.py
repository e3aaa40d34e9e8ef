"""Evaluation reports: the full JSON, a short Markdown table and (retrieval) two PNG plots.

Plots are drawn on a bare matplotlib Figure with the Agg canvas, never through pyplot, so a run
inside the GUI process does not switch its backend.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..fsutil import write_atomic


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def _head(doc: dict) -> list[str]:
    run = doc["run"]
    models = f"embedder `{doc['embedder']}`, detector `{doc['detector']}`"
    if "generator" in doc:
        models += f", generator `{doc['generator']}`"
    lines = [f"# Evaluation: {doc['task']}", "", f"Test set `{doc['dataset']}`; {models}."]
    lines.append(
        f"{run['items']} items ({run['cached']} from an earlier run), "
        f"{doc['concepts_in_database']} concepts in the database, threshold {doc['threshold']}."
    )
    if doc["options"].get("skip_retrieval"):
        lines.append("Perfect retrieval: the generator was given the labelled concepts, not retrieved ones.")
    if run["skipped"]:
        lines.append("Skipped: " + ", ".join(f"{n} ({why})" for why, n in run["skipped"].items()) + ".")
    return [*lines, ""]


def markdown(doc: dict) -> str:
    s = doc["scores"]
    lines = _head(doc)
    task = doc["task"]
    if task == "caption":
        rows = [["all", pct(s["recall"]), pct(s["precision"]), pct(s["f1"]), str(s["present"]), str(s["mentioned"])]]
        rows += [
            [f"`<{n}>`", pct(c["recall"]), pct(c["precision"]), pct(c["f1"]), str(c["present"]), str(c["mentioned"])]
            for n, c in s["per_concept"].items()
        ]
        lines += _table(["concept", "recall", "precision", "F1", "present", "mentioned"], rows)
        r = doc["retrieved"]
        lines += ["", f"Given to the generator: recall {pct(r['recall'])}, precision {pct(r['precision'])}."]
    elif task == "recognition":
        rows = [
            ["positive", pct(s["positive"]["accuracy"]), f"{s['positive']['correct']}/{s['positive']['total']}"],
            ["negative", pct(s["negative"]["accuracy"]), f"{s['negative']['correct']}/{s['negative']['total']}"],
            ["weighted (mean)", pct(s["weighted"]), ""],
        ]
        lines += [*_table(["items", "accuracy", "correct"], rows), "", f"Unparsed answers: {s['unparsed']}."]
    elif task == "qa":
        rows = [[k, pct(v["accuracy"]), f"{v['correct']}/{v['total']}", str(v["unparsed"])] for k, v in s.items()]
        lines += _table(["questions", "accuracy", "correct", "unparsed"], rows)
    else:
        ks = list(s["recall_at_k"])
        rows = [[n, *(pct(row[k]) for k in ks)] for n, row in s["recall_by_size"].items()]
        lines += _table(["concepts in database", *(f"recall@{k}" for k in ks)], rows)
        lines += ["", *threshold_lines(s)]
    return "\n".join(lines) + "\n"


def threshold_lines(s: dict) -> list[str]:
    lines = []
    cur, best, own = s["current_threshold"], s["best_threshold"], s["retriever_decisions"]
    if cur:
        lines.append(
            f"At the current threshold {cur['threshold']}: precision {pct(cur['precision'])}, "
            f"recall {pct(cur['recall'])} (best region per concept); the retriever's own decisions: "
            f"precision {pct(own['precision'])}, recall {pct(own['recall'])}."
        )
    if best:
        lines.append(
            f"Best F1 {pct(best['f1'])} at threshold {best['threshold']:.3f} (precision {pct(best['precision'])}, "
            f"recall {pct(best['recall'])}). To use it, put `{s['settings_key']} = {best['threshold']:.3f}` "
            "in the settings file (see README, 'Retrieval')."
        )
    return lines


def plot_retrieval(doc: dict, out: Path) -> list[Path]:
    """recall@K vs database size, and precision/recall/F1 vs threshold."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    s = doc["scores"]
    paths = []
    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    sizes = [int(n) for n in s["recall_by_size"]]
    for k in s["recall_at_k"]:
        values = [s["recall_by_size"][str(n)][k] for n in sizes]
        ax.plot(sizes, [float("nan") if v is None else v for v in values], marker="o", label=f"top-{k}")
    ax.set(xlabel="concepts in the database (N)", ylabel="recall", ylim=(0, 1.05), title="Retrieval recall vs N")
    if len(sizes) > 1 and max(sizes) / max(1, min(sizes)) >= 20:
        ax.set_xscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    paths.append(out / "retrieval-recall.png")
    fig.savefig(paths[-1])

    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    points = doc["curves"]["threshold"]
    xs = [p["threshold"] for p in points]
    for key in ("precision", "recall", "f1"):
        ax.plot(xs, [float("nan") if p[key] is None else p[key] for p in points], label=key)
    for what, style in (("current_threshold", ":"), ("best_threshold", "--")):
        if s[what]:
            ax.axvline(s[what]["threshold"], color="grey", linestyle=style, label=what.replace("_", " "))
    ax.set(xlabel="similarity threshold", ylabel="share", ylim=(0, 1.05), title="Acceptance threshold")
    ax.grid(alpha=0.3)
    ax.legend()
    paths.append(out / "retrieval-threshold.png")
    fig.savefig(paths[-1])
    return paths


def write_report(doc: dict, out: Path) -> dict[str, str]:
    """Write `<task>.json`, `<task>.md` (and the plots); returns their paths by kind."""
    out.mkdir(parents=True, exist_ok=True)
    task = doc["task"]
    files = {"json": out / f"{task}.json", "markdown": out / f"{task}.md"}
    write_atomic(files["json"], (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
    write_atomic(files["markdown"], markdown(doc).encode("utf-8"))
    if task == "retrieval":
        files["recall_plot"], files["threshold_plot"] = plot_retrieval(doc, out)
    return {k: str(v) for k, v in files.items()}
