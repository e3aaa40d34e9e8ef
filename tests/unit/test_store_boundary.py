"""Only `core/store/` speaks SQL: no `.conn`, no `.db`, no SQL text, no private store member outside it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import rap_desktop

PACKAGE = Path(rap_desktop.__file__).parent
STORE = PACKAGE / "core" / "store"
SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)\b", re.S
)
PRIVATE = {"_insert_exemplar", "_insert_embedding", "_store_file", "_journal", "_pending", "_write_quiet", "_indexes"}


def offences(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and (node.attr in ("conn", "db") or private_of_store(node)):
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            found.append(f"line {node.lineno}: SQL {node.value.strip()[:40]!r}")
    return found


def private_of_store(node: ast.Attribute) -> bool:
    """`store._journal`, `self.store._pending`, `session.store._write_quiet`: a store's own parts."""
    return node.attr in PRIVATE and ast.unparse(node.value).split(".")[-1] in ("store", "_store")


def outside_store() -> dict[str, list[str]]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.is_relative_to(STORE):
            continue
        hits = offences(path)
        if hits:
            found[path.relative_to(PACKAGE).as_posix()] = hits
    return found


def test_no_sql_outside_the_store_package() -> None:
    assert outside_store() == {}


def test_the_check_sees_sql_and_private_members(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('store.conn.execute("SELECT id FROM photos WHERE x = ?")\nwith store._pending: pass\n')
    assert len(offences(sample)) == 3
    sample.write_text('print("Select the photos to update from the list")\n')
    assert offences(sample) == []
