"""`rap-desktop eval ...` end to end on tiny real-format models and a test set made from package
photos. The scores themselves mean nothing here; what is checked is that every stage runs, the
reports agree with the per-item answers, reruns resume, and the album split is built correctly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rap_desktop.cli import main
from rap_desktop.core.cancel import CancelToken
from rap_desktop.core.eval import metrics as ev
from rap_desktop.core.eval.data import load_dataset
from rap_desktop.core.eval.runner import EvalCancelled, EvalRunner, RunOptions
from rap_desktop.devtools.eval_set import build


@pytest.fixture(scope="module")
def eval_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("eval-set") / "set").root


@pytest.fixture
def cli(home: Path, tiny_config: Path, capsys):
    def run(*args: str) -> tuple[int, dict | str, str]:
        code = main(["--home", str(home), "--config", str(tiny_config), *args])
        out, err = capsys.readouterr()
        return code, (json.loads(out) if "--json" in args and code == 0 else out), err

    return run


def _is_png(path: str) -> bool:
    data = Path(path).read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


@pytest.mark.slow
def test_retrieval_then_caption_write_reports_and_resume(cli, eval_set: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    code, doc, err = cli("eval", "retrieval", str(eval_set), "--out", str(out), "--limit", "4",
                         "--sizes", "2,4,8", "--k", "1,2", "--json")  # fmt: skip
    assert code == 0, err
    assert doc["run"]["items"] == 4 and doc["concepts_in_database"] == 8  # 4 targets + 4 distractors
    s = doc["scores"]
    assert set(s["recall_by_size"]) == {"2", "4", "8"}
    for row in s["recall_by_size"].values():
        assert 0.0 <= row["1"] <= row["2"] <= 1.0  # a longer list never finds less
    assert s["recall_by_size"]["8"] == s["recall_at_k"]  # the full database: one outcome
    assert s["recall_by_size"]["2"]["2"] == 1.0  # one distractor, two slots: always found
    report = json.loads(Path(doc["files"]["json"]).read_text())
    thresholds = [p["threshold"] for p in report["curves"]["threshold"]]
    assert s["best_threshold"]["threshold"] in thresholds and '"tiny-clip"' in s["settings_key"]
    # the curve is computed from the stored per-photo similarities: recompute its best point
    pairs = [(sim, name in row["present"]) for row in report["rows"] for name, sim in row["scores"].items()]
    assert ev.best_threshold(ev.threshold_curve(pairs)).threshold == s["best_threshold"]["threshold"]
    assert _is_png(doc["files"]["recall_plot"]) and _is_png(doc["files"]["threshold_plot"])
    assert "recall@1" in Path(doc["files"]["markdown"]).read_text()

    code, doc, err = cli("eval", "caption", str(eval_set), "--out", str(out), "--limit", "3",
                         "--max-new-tokens", "8", "--json")  # fmt: skip
    assert code == 0, err
    rows = json.loads(Path(doc["files"]["json"]).read_text())["rows"]
    assert len(rows) == 3 and all(r["answer"] for r in rows) and all(len(r["given"]) <= 2 for r in rows)
    names = [c.name for c in load_dataset(eval_set).concepts]
    assert all(r["mentioned"] == ev.caption_mentions(r["answer"], names) for r in rows)
    assert doc["scores"]["present"] == sum(len(r["present"]) for r in rows) == 3
    assert not Path(doc["files"]["markdown"]).with_suffix(".png").exists()

    code, again, err = cli("eval", "caption", str(eval_set), "--out", str(out), "--limit", "1",
                           "--max-new-tokens", "2", "--json")  # fmt: skip
    assert code == 0, err
    assert again["run"]["cached"] == 0  # other options: old answers are not reused
    code, again, err = cli("eval", "caption", str(eval_set), "--out", str(out), "--limit", "3",
                           "--max-new-tokens", "8", "--json")  # fmt: skip
    assert code == 0, err
    assert again["run"]["cached"] == 3 and again["scores"] == doc["scores"]

    code, perfect, err = cli("eval", "caption", str(eval_set), "--out", str(tmp_path / "perfect"), "--limit", "2",
                             "--max-new-tokens", "2", "--skip-retrieval", "--json")  # fmt: skip
    assert code == 0, err
    assert perfect["retrieved"] == {"recall": 1.0, "precision": 1.0, "f1": 1.0}  # given exactly the labels


@pytest.mark.slow
def test_recognition_and_qa(cli, eval_set: Path, tmp_path: Path) -> None:
    code, doc, err = cli("eval", "recognition", str(eval_set), "--out", str(tmp_path), "--limit", "2",
                         "--max-new-tokens", "2", "--json")  # fmt: skip
    assert code == 0, err
    s = doc["scores"]
    assert s["positive"]["total"] == 1 and s["negative"]["total"] == 1  # --limit keeps both classes
    rows = json.loads(Path(doc["files"]["json"]).read_text())["rows"]
    assert [r["parsed"] for r in rows] == [ev.parse_yes_no(r["answer"]) for r in rows]
    assert s == ev.score_recognition([(r["expected"], r["parsed"]) for r in rows])

    code, doc, err = cli("eval", "qa", str(eval_set), "--out", str(tmp_path), "--max-new-tokens", "2", "--json")
    assert code == 0, err
    assert (doc["scores"]["visual"]["total"], doc["scores"]["text_only"]["total"]) == (3, 2)
    rows = json.loads(Path(doc["files"]["json"]).read_text())["rows"]
    text_only = [r for r in rows if r["image"] is None]
    assert all(r["given"] == [r["concept"]] for r in text_only)  # the name route gives the named concept


@pytest.mark.slow
def test_cancel_keeps_finished_items_and_a_rerun_resumes(session, eval_set: Path, tmp_path: Path) -> None:
    dataset = load_dataset(eval_set)
    cancel = CancelToken()
    seen = []

    def progress(done: int, total: int, label: str) -> None:
        seen.append(done)
        cancel.cancel()  # stop after the first photo

    runner = EvalRunner(session, dataset, tmp_path, RunOptions(limit=3), progress=progress, cancel=cancel)
    with pytest.raises(EvalCancelled, match="after 1 of 3"):
        runner.run("retrieval")
    assert len((tmp_path / "retrieval.jsonl").read_text().splitlines()) == 1
    with open(tmp_path / "retrieval.jsonl", "a") as handle:
        handle.write('{"fingerprint": "torn')  # a crash mid-line
    doc = EvalRunner(session, dataset, tmp_path, RunOptions(limit=3)).run("retrieval")
    assert doc["run"]["cached"] == 1 and doc["run"]["items"] == 3 and seen == [1]


@pytest.mark.slow
def test_make_split_from_confirmed_matches(cli, photos: dict[str, Path], tmp_path: Path) -> None:
    from PIL import Image, ImageOps

    assert cli("concept", "add", "cat", str(photos["chelsea"]), "--info", "<cat> is a tabby.")[0] == 0
    assert cli("concept", "add", "cup", str(photos["coffee"]))[0] == 0
    mirrored = tmp_path / "album" / "cat2.jpg"
    mirrored.parent.mkdir()
    ImageOps.mirror(Image.open(photos["chelsea"]).convert("RGB")).save(mirrored)
    for photo in (mirrored, photos["chelsea"]):  # the second is the concept's own photo
        code, doc, err = cli("retrieve", str(photo), "--json")
        assert code == 0, err
        assert cli("match", "confirm", str(photo), doc["regions"][0]["id"], "--concept", "cat")[0] == 0
    out = tmp_path / "split"
    code, doc, err = cli("eval", "make-split", str(out), "--json")
    assert code == 0, err
    assert doc["counts"]["photos"] == 1 and doc["notes"]["skipped_photos"]["concept_photo"] == 1
    ds = load_dataset(out)
    assert [c.name for c in ds.concepts] == ["cat", "cup"] and ds.missing_images() == []
    assert [len(c.images) for c in ds.concepts] == [1, 1]  # the confirmed crop is not a concept photo
    assert ds.photos[0].concepts == ("cat",) and set(ds.photos[0].boxes) == {"cat"}
    assert ds.path(ds.photos[0].image).read_bytes() == mirrored.read_bytes()
    code, _, err = cli("eval", "make-split", str(out))
    assert code == 2 and "already holds" in err


def test_bad_input_exits_2(cli, tmp_path: Path) -> None:
    code, _, err = cli("eval", "caption", str(tmp_path))
    assert code == 2 and "not a test set" in err
    code, _, err = cli("eval", "make-split", str(tmp_path / "x"))
    assert code == 2 and "no confirmed matches" in err
    code, _, err = cli("eval", "retrieval", str(tmp_path), "--limit", "0")
    assert code == 2 and "--limit" in err


def test_import_yollava_cli_counts(cli, tmp_path: Path) -> None:
    rec = [{"image": f"t/{c}/0.png", "concept": d, "type": "positive" if c == d else "negative",
            "correct_answer": c == d} for c in ("bo", "mam") for d in ("bo", "mam")]  # fmt: skip
    rec.append(dict(rec[0], type="negative"))  # the reference's doubled positive
    (tmp_path / "rec.json").write_text(json.dumps(rec))
    code, doc, err = cli("eval", "import-yollava", str(tmp_path / "rec.json"), "--out", str(tmp_path / "s"), "--json")
    assert code == 0, err
    assert doc["counts"]["recognition"] == 4 and doc["counts"]["photos"] == 2 and doc["counts"]["missing_images"] == 2
    assert doc["notes"]["files"]["rec.json"]["duplicates_dropped"] == 1
    code, _, err = cli("eval", "recognition", str(tmp_path / "s"))
    assert code == 2 and "photo missing" in err  # nothing runnable: says why
