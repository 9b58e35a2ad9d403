"""The layout rules the import linter cannot see: wording stays in bot/, and bot/ never holds the
store (it talks to use cases only)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _strings(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module, docstrings and comments excluded."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_the_core_words_nothing_for_slack_or_the_command_line() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text!r}"
        for path in sorted((ROOT / "sync").rglob("*.py"))
        for line, text in _strings(path)
        if "<@" in text or "/sellsync" in text
    ]
    assert found == []


def test_the_bot_never_reaches_the_store() -> None:
    pattern = re.compile(r"\bservice\.store\b|\.store\.|\bstore\.(?!close\b)")
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if path.name != "wiring.py"  # the composition root builds the store and closes it
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line) and not line.lstrip().startswith("#")
    ]
    assert found == []
