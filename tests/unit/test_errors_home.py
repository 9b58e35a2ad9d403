"""Every exception of the core is defined in sync/errors.py and drawn in its docstring's tree
(as httpx's ``_exceptions.py``), and each name means one thing."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import sync.errors

SYNC = Path(sync.errors.__file__).resolve().parent

#: Exceptions that live in the pipeline's own modules for now.
ELSEWHERE: set[str] = set()


def _exception_classes() -> dict[str, list[str]]:
    """Each class under sync/ that derives from an exception, by name → where it is defined."""
    errors = {
        name
        for name, value in vars(sync.errors).items()
        if inspect.isclass(value) and issubclass(value, BaseException)
    }
    errors |= {"Exception", "BaseException", "ValueError"}
    found: dict[str, list[str]] = {}
    for path in sorted(SYNC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {
                    b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
                }
                if bases & errors:
                    found.setdefault(node.name, []).append(str(path.relative_to(SYNC)))
    return found


def test_every_exception_of_the_core_lives_in_the_errors_module() -> None:
    elsewhere = {
        name: where
        for name, where in _exception_classes().items()
        if where != ["errors.py"] and name not in ELSEWHERE
    }
    assert elsewhere == {}


def test_one_refused_and_no_value_error_alias() -> None:
    classes = _exception_classes()
    assert classes["Refused"] == ["errors.py"]
    assert "ValueError_" not in classes


def test_the_docstring_draws_every_exception() -> None:
    tree = sync.errors.__doc__ or ""
    drawn = {
        name
        for name, value in vars(sync.errors).items()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ == "sync.errors"
    }
    assert drawn, "sync.errors defines no exception"
    drawn_lines = [line.strip().lstrip("│├└─ ") for line in tree.splitlines()]
    assert (
        sorted(
            name for name in drawn if not any(line.split(" ")[0] == name for line in drawn_lines)
        )
        == []
    )
