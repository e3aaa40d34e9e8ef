"""A small mutation check: plant one targeted bug at a time and see whether the tests notice.

    python -m rap_desktop.devtools.mutants              # every mutant (several minutes)
    python -m rap_desktop.devtools.mutants --only xmp   # mutants whose name contains "xmp"
    python -m rap_desktop.devtools.mutants --list

The source tree is never edited: the repository is copied to a temporary folder once, each mutant
is written into the copy, the module's test files run there (the copy first on PYTHONPATH), and the
copy's file is put back before the next one. The tiny test models are written once and reused by
every run (RAP_DESKTOP_TEST_TINY_MODELS, read by tests/conftest.py).

"killed": a test failed. "survived": every test passed with the bug in place, so the rule it breaks
is not tested. "equivalent": survived, and the mutant says why that is expected (it changes nothing
a user or a test can observe). "stale": the mutant's text is no longer in the module; the code moved
on, update the mutant. Exit status: 0 when no mutant survived or went stale.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Mutant:
    name: str
    module: str  # path from the repository root
    old: str  # exact text, found exactly once in the module
    new: str
    why: str  # the behaviour it breaks
    equivalent: str = ""  # why surviving is expected: the mutant changes nothing a user or test can see


RETRIEVAL = "rap_desktop/core/retrieval.py"
XMP = "rap_desktop/core/xmp.py"
ZIP = "rap_desktop/core/safe_zip.py"
PROMPTING = "rap_desktop/core/prompting.py"

TESTS = {
    RETRIEVAL: ["tests/integration/test_decision_table.py", "tests/unit/test_retrieval.py"],
    XMP: [
        "tests/integration/test_xmp.py",
        "tests/integration/test_xmp_merge.py",
        "tests/integration/test_xmp_orientation.py",
    ],
    ZIP: ["tests/unit/test_safe_zip.py", "tests/unit/test_backup.py", "tests/integration/test_archive_size_lies.py"],
    PROMPTING: ["tests/unit/test_prompting.py"],
}

MUTANTS = (
    # --- retrieval: the decision rules ---------------------------------------------------------------
    Mutant(
        "retrieval-threshold-reached",
        RETRIEVAL,
        "return BELOW if similarity < threshold else ACCEPTED",
        "return BELOW if similarity <= threshold else ACCEPTED",
        "a region exactly at the threshold is rejected (README: reaching it is enough)",
    ),
    Mutant(
        "retrieval-taken",
        RETRIEVAL,
        "elif row[0] in held_concepts:",
        "elif False:",
        "two regions of one photo both accepted as one concept",
    ),
    Mutant(
        "retrieval-lower-rank",
        RETRIEVAL,
        "if region_id in held_regions:",
        "if False:",
        "one region accepted as two concepts",
    ),
    Mutant(
        "retrieval-tie-margin",
        RETRIEVAL,
        "negative + TIE >= similarity",
        "negative >= similarity",
        "a region a hair closer to the concept than to a rejected example is accepted",
    ),
    Mutant(
        "retrieval-tie-strict",
        RETRIEVAL,
        "negative + TIE >= similarity",
        "negative + TIE > similarity",
        "a region exactly TIE closer to the concept than to its negative is accepted",
        "similarities are float32 values and TIE is 1e-4 added in float64: the sum keeps 1e-4's low bits, so "
        "it is not a float32 value (none of 67M float32 negatives across 8 exponent ranges gave one) and "
        ">= and > decide alike",
    ),
    Mutant(
        "retrieval-confirmed-first",
        RETRIEVAL,
        "key=lambda item: (verdicts[(item[0], item[1][0])][0] != CONFIRMED, -item[1][3]),",
        "key=lambda item: -item[1][3],",
        "a closer region takes the concept the user confirmed for another region",
    ),
    Mutant(
        "retrieval-confirmed",
        RETRIEVAL,
        'if status == "confirmed":',
        "if False:",
        "a confirmed region is judged by its similarity again",
    ),
    Mutant(
        "retrieval-reassigned",
        RETRIEVAL,
        'if status in ("rejected", "reassigned"):',
        'if status == "rejected":',
        "the concept a region was reassigned away from is proposed again",
    ),
    Mutant(
        "retrieval-negative-per-concept",
        RETRIEVAL,
        "found = self.by_concept.get(concept_id)",
        "found = next(iter(self.by_concept.values()), None)",
        "a negative of one concept suppresses every concept",
    ),
    Mutant(
        "retrieval-mentions-first",
        RETRIEVAL,
        "return tuple(chosen[:limit])",
        'return tuple(sorted(chosen, key=lambda c: c.reason == "mention")[:limit])',
        "concepts seen in the photo go before those named in the question",
    ),
    Mutant(
        "retrieval-best-region-first",
        RETRIEVAL,
        "key=lambda pair: -pair[1].similarity",
        "key=lambda pair: pair[1].similarity",
        "the least similar accepted concept goes to the generator first",
    ),
    Mutant(
        "retrieval-limit",
        RETRIEVAL,
        "limit = min(top_k or self.limit, self.limit)",
        "limit = top_k or self.limit",
        "a caller's top_k exceeds the generator's concept limit",
    ),
    # --- xmp: merging sidecars --------------------------------------------------------------------------
    Mutant(
        "xmp-names-case",
        XMP,
        '_text(_field(li, "mwg-rs:Name")).casefold() not in ours',
        '_text(_field(li, "mwg-rs:Name")) not in ours',
        "a rerun adds the regions of a concept named 'Bo' again",
    ),
    Mutant(
        "xmp-compact-form",
        XMP,
        'for holder in (node, *node.findall(q("rdf:Description"))):',
        "for holder in (node,):",
        "a region in the rdf:li/rdf:Description form is not recognised: duplicated",
    ),
    Mutant(
        "xmp-creator-tool",
        XMP,
        '    _take(descriptions, "xmp:CreatorTool")\n',
        "",
        "an element-form xmp:CreatorTool plus ours: the property twice",
    ),
    Mutant(
        "xmp-attribute-form",
        XMP,
        "        description.attrib.pop(key, None)\n",
        "",
        "a property in attribute form is kept beside ours",
    ),
    Mutant(
        "xmp-dtd",
        XMP,
        'if b"<!DOCTYPE" in data or b"<!ENTITY" in data:',
        "if False:",
        "a sidecar declaring entities is parsed (and expanded) and rewritten",
    ),
    Mutant(
        "xmp-keyword-spelling",
        XMP,
        "ours.get(word.casefold(), word) for word in old",
        "word for word in old",
        "a keyword differing only in case from ours is kept beside ours",
    ),
    Mutant(
        "xmp-rotated-dimensions",
        XMP,
        "stored = (height, width) if turn >= 5 else (width, height)",
        "stored = (width, height)",
        "AppliedToDimensions of a rotated photo in displayed, not stored, pixels",
    ),
    Mutant(
        "xmp-orientation-6",
        XMP,
        "6: (v, 1 - u),",
        "6: (1 - v, u),",
        "regions of a photo turned 90 degrees land on the wrong side",
    ),
    Mutant(
        "xmp-clean-text",
        XMP,
        'return _NOT_XML.sub("", text)',
        "return text",
        "a control character in a caption makes the sidecar unreadable",
    ),
    Mutant(
        "xmp-region-type",
        XMP,
        'return "Face" if word in FACE else "Pet" if word in PET else "Focus"',
        'return "Face" if word in FACE else "Focus"',
        "pets written as Focus regions",
    ),
    Mutant(
        "xmp-old-caption",
        XMP,
        "description.extend(old_caption)",
        "pass",
        "writing without a caption drops the caption already there",
    ),
    Mutant(
        "xmp-drop-empty",
        XMP,
        "rdf.remove(description)",
        "pass",
        "an emptied rdf:Description is left in the sidecar",
    ),
    # --- safe_zip: archives that lie ----------------------------------------------------------------------
    Mutant(
        "zip-less-data",
        ZIP,
        "        if got != info.file_size:\n"
        '            raise self._fail(f"member {name!r} holds less data than its declared size")\n',
        "",
        "a member whose header over-declares its size is read without complaint",
    ),
    Mutant(
        "zip-more-data",
        ZIP,
        "if got > info.file_size:",
        "if False:",
        "a member whose header under-declares its size is read past it",
    ),
    Mutant(
        "zip-probe-cap",
        ZIP,
        "probe.file_size = lim.max_member_bytes + 1",
        "pass",
        "zipfile silently cuts an under-declared member at the declared size",
    ),
    Mutant(
        "zip-stored-sizes",
        ZIP,
        "if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:",
        "if False:",
        "a stored member whose two sizes disagree is accepted",
    ),
    Mutant(
        "zip-ratio",
        ZIP,
        "if info.file_size > RATIO_FLOOR and info.file_size > lim.max_ratio * info.compress_size:",
        "if False:",
        "a zip bomb's member is accepted",
    ),
    Mutant("zip-symlink", ZIP, "if kind == stat.S_IFLNK:", "if False:", "a symbolic link member is accepted"),
    Mutant("zip-encrypted", ZIP, "if info.flag_bits & _ENCRYPTED:", "if False:", "an encrypted member is accepted"),
    Mutant("zip-duplicate", ZIP, "if name in seen:", "if False:", "a member name given twice is accepted"),
    Mutant(
        "zip-file-inside-file",
        ZIP,
        'if "/".join(parts[:i]) in files:',
        "if False:",
        "'a' as a file and 'a/b' are both accepted",
    ),
    Mutant("zip-dotdot", ZIP, 'if part in (".", ".."):', 'if part == ".":', "a '..' member name is accepted"),
    Mutant("zip-backslash", ZIP, 'if "\\\\" in name:', "if False:", "a backslash member name is accepted"),
    Mutant("zip-total", ZIP, "if total > lim.max_total_bytes:", "if False:", "declared sizes over the total limit"),
    Mutant(
        "zip-read-total",
        ZIP,
        "if self._read_total > lim.max_total_bytes:",
        "if False:",
        "reading past the total limit",
    ),
    Mutant("zip-write-twice", ZIP, "if name in written:", "if False:", "a backup written with a member twice"),
    # --- prompting: the trained prompt --------------------------------------------------------------------
    Mutant(
        "prompt-image-token-loop",
        PROMPTING,
        "while IMAGE_TOKEN in text:",
        "if IMAGE_TOKEN in text:",
        "'<im<image>age>' leaves an <image> token that shifts every image",
    ),
    Mutant(
        "prompt-numbering",
        PROMPTING,
        "{len(images)}.{IMAGE_TOKEN}",
        "{len(images) + 1}.{IMAGE_TOKEN}",
        "concept blocks numbered unlike training",
    ),
    Mutant(
        "prompt-limit",
        PROMPTING,
        "kept, dropped = tuple(concepts[:limit]), tuple(concepts[limit:])",
        "kept, dropped = tuple(concepts[: limit + 1]), tuple(concepts[limit + 1 :])",
        "one concept more than the model was trained with",
    ),
    Mutant(
        "prompt-one-line-info",
        PROMPTING,
        'return " ".join(_no_image_tokens(text).split())',
        "return _no_image_tokens(text)",
        "a newline in a concept's info ends its block early",
    ),
    Mutant(
        "prompt-stop-text",
        PROMPTING,
        "while self.template.stop and text.endswith(self.template.stop):",
        "while False:",
        "an answer keeps the template's stop text",
    ),
    Mutant(
        "prompt-yes-true",
        PROMPTING,
        'if word in ("yes", "true"):',
        'if word == "yes":',
        "'True' is not read as yes",
    ),
    Mutant(
        "prompt-box-bounds",
        PROMPTING,
        "if not all(0.0 <= v <= 1.0 for v in (a, b, c, d)):",
        "if False:",
        "pixel numbers taken as a normalised box",
    ),
    Mutant(
        "prompt-square-pad",
        PROMPTING,
        "ox, oy = float((side - width) // 2), float((side - height) // 2)",
        "ox, oy = 0.0, 0.0",
        "boxes on a padded square not shifted back",
    ),
    Mutant(
        "prompt-choice-ambiguous",
        PROMPTING,
        "return hits[0] if len(hits) == 1 else None",
        "return hits[0] if hits else None",
        "an answer matching two options picks the first",
    ),
    Mutant(
        "prompt-phi3-stop",
        PROMPTING,
        '            generation_prefix="\\n<|assistant|>\\n",\n            stop="<|end|>",',
        '            generation_prefix="\\n<|assistant|>\\n",\n            stop="",',
        "Phi-3 answers keep <|end|>",
    ),
)


def _copy(target: Path) -> None:
    skip = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".ruff_cache", ".pytest_cache", "docs", "*.egg-info")
    shutil.copytree(ROOT, target, ignore=skip, symlinks=True)


def _pytest(copy: Path, tests: list[str], timeout: float) -> tuple[bool, str]:
    """(passed, last line of pytest's output), run in the copy with the copy's code first."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(copy), os.environ.get("PYTHONPATH")])),
        "RAP_DESKTOP_TEST_TINY_MODELS": str(copy.parent / "tiny-models"),
    }
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    try:
        done = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:.0f}s"
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return done.returncode == 0, lines[-1] if lines else done.stderr.strip()[-200:]


def _uses_copy(copy: Path) -> bool:
    env = {**os.environ, "PYTHONPATH": str(copy)}
    code = "import rap_desktop, sys; print(rap_desktop.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=copy, env=env, capture_output=True, text=True, check=True)
    return Path(out.stdout.strip()).resolve().is_relative_to(copy.resolve())


def run(mutants: list[Mutant], timeout: float) -> dict[str, list[str]]:
    results: dict[str, list[str]] = {"killed": [], "equivalent": [], "survived": [], "stale": [], "baseline failed": []}
    with tempfile.TemporaryDirectory(prefix="rap-mutants-") as folder:
        copy = Path(folder) / "repo"
        _copy(copy)
        if not _uses_copy(copy):
            raise SystemExit("the copy's rap_desktop is not the one imported; nothing would be tested")
        from rap_desktop.devtools.tiny_models import write_all

        write_all(copy.parent / "tiny-models")
        broken = set()
        for module in dict.fromkeys(m.module for m in mutants):  # the tests must pass unmutated
            ok, last = _pytest(copy, TESTS[module], timeout)
            print(f"baseline {module}: {'ok' if ok else 'FAILED'} ({last})", flush=True)
            if not ok:
                broken.add(module)
        for mutant in mutants:
            if mutant.module in broken:
                results["baseline failed"].append(mutant.name)
                continue
            path = copy / mutant.module
            original = path.read_text(encoding="utf-8")
            if original.count(mutant.old) != 1:
                found = original.count(mutant.old)
                print(f"STALE    {mutant.name}: its text is found {found} times in {mutant.module}", flush=True)
                results["stale"].append(mutant.name)
                continue
            start = time.perf_counter()
            try:
                path.write_text(original.replace(mutant.old, mutant.new), encoding="utf-8")
                passed, last = _pytest(copy, TESTS[mutant.module], timeout)
            finally:
                path.write_text(original, encoding="utf-8")
            verdict = "killed" if not passed else "equivalent" if mutant.equivalent else "survived"
            results[verdict].append(mutant.name)
            took = time.perf_counter() - start
            print(f"{verdict.upper():8} {mutant.name} ({took:.0f}s; {last}): {mutant.why}", flush=True)
            if verdict == "equivalent":
                print(f"         (expected: {mutant.equivalent})", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], help="run mutants whose name contains this")
    parser.add_argument("--list", action="store_true", help="list the mutants and their test files")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per test run (default 900)")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if not args.only or any(word in m.name for word in args.only)]
    if args.list:
        for m in chosen:
            print(f"{m.name}: {m.why}  [{m.module} -> {' '.join(TESTS[m.module])}]")
        return 0
    if not chosen:
        print("no mutant matches", file=sys.stderr)
        return 2
    # a plain `kill` stops the test run under way too, and the temporary copy is removed
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    results = run(chosen, args.timeout)
    print()
    for verdict, names in results.items():
        if names:
            print(f"{verdict}: {len(names)}" + (f" ({', '.join(names)})" if verdict != "killed" else ""))
    return 1 if results["survived"] or results["stale"] or results["baseline failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
