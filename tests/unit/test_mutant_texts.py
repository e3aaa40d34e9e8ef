"""Every planted bug of devtools/mutants.py still finds its text exactly once, and its tests exist: code
that moves takes its mutants along (a stale mutant checks nothing)."""

from __future__ import annotations

from rap_desktop.devtools.mutants import MUTANTS, ROOT, TESTS


def test_every_mutant_text_is_in_its_module_once() -> None:
    stale = [m.name for m in MUTANTS if (ROOT / m.module).read_text(encoding="utf-8").count(m.old) != 1]
    assert stale == []


def test_every_mutant_module_has_test_files_that_exist() -> None:
    missing = [t for m in MUTANTS for t in TESTS[m.module] if not (ROOT / t).is_file()]
    assert missing == []
