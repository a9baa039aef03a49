"""docs/house-rules.md names a test for each rule: each one it names exists (issue 16)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "house-rules.md"
REFERENCE = re.compile(r"`([\w/]+\.py)::(test_\w+)`")


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def test_every_test_the_rule_table_names_exists() -> None:
    references = REFERENCE.findall(DOC.read_text(encoding="utf-8"))
    assert len(references) > 50
    missing = [
        f"{file}::{name}"
        for file, name in references
        if not (ROOT / "tests" / file).exists() or name not in _tests_in(ROOT / "tests" / file)
    ]
    assert missing == []


def test_every_seed_library_has_its_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in ("nishinomiya", "saitama", "kanagawa", "akiruno", "ibaraki"):
        assert f"examples/tenants/{name}.toml" in text
