"""One meaning per name in the core: the names it defines (modules, classes, functions, methods,
fields, enum members, module constants and instance attributes; not a function's locals).

* How far a feed has read is its *mark*; "cursor" is left to HubSpot's own search paging.
* "Merge" alone is the merge of two records on their first link; what the core does about a
  HubSpot contact merge says "absorb" (HubSpot's own ``hs_merged_object_ids``/``merged_ids``
  keep HubSpot's word).
* A held link is a held link; "conflict" is a field conflict.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = [ROOT / "sync", ROOT / "storage" / "repositories"]

#: HubSpot's search paging cursor is HubSpot's own word.
HUBSPOT_PAGING = {
    ROOT / "sync" / "clients" / "hubspot_search.py",
    ROOT / "sync" / "clients" / "hubspot.py",
}
#: HubSpot's names for the ids a contact absorbed, and S8's outcome of a first-link merge.
HUBSPOT_OR_S8 = {"merged_ids", "MERGED_IDS_PROPERTY", "MERGED"}


def _defined(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """The names a module defines, with their lines (a function's locals left out)."""

    def targets(node: ast.AST) -> Iterator[ast.expr]:
        if isinstance(node, ast.Assign):
            yield from node.targets
        elif isinstance(node, ast.AnnAssign):
            yield node.target

    def scope(body: list[ast.stmt]) -> Iterator[tuple[int, str]]:
        for node in body:
            if isinstance(node, ast.ClassDef):
                yield node.lineno, node.name
                yield from scope(node.body)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield node.lineno, node.name
                for inner in ast.walk(node):  # instance attributes: self.x = …
                    for target in targets(inner):
                        if (
                            isinstance(target, ast.Attribute)
                            and isinstance(target.value, ast.Name)
                            and target.value.id == "self"
                        ):
                            yield target.lineno, target.attr
            else:
                for target in targets(node):
                    if isinstance(target, ast.Name):
                        yield target.lineno, target.id

    yield from scope(tree.body)


def _names() -> Iterator[tuple[Path, int, str]]:
    for root in CORE:
        for path in sorted(root.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            yield path, 0, path.stem
            for line, name in _defined(ast.parse(path.read_text(), str(path))):
                yield path, line, name


def _offending(pattern: str, allowed: set[str], paths: set[Path] = frozenset()) -> list[str]:
    found = re.compile(pattern, re.IGNORECASE)
    return [
        f"{path.relative_to(ROOT)}:{line} {name}"
        for path, line, name in _names()
        if found.search(name) and name not in allowed and path not in paths
    ]


def test_how_far_a_feed_read_is_a_mark_and_cursor_is_hubspots_paging_only() -> None:
    assert _offending("cursor", set(), HUBSPOT_PAGING) == []


def test_merge_alone_is_the_first_link_merge_and_a_hubspot_contact_merge_is_absorbed() -> None:
    assert _offending("merged|merge_held|merge_decided|follow.*merge", HUBSPOT_OR_S8) == []


def test_a_held_link_is_named_held_not_a_link_conflict() -> None:
    assert _offending("link_?conflict", set()) == []
