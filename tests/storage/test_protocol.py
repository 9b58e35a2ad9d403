"""SqlStore offers every method of sync.ports.Store with the very same signature."""

from __future__ import annotations

import inspect

import pytest

from storage.repositories import SqlStore
from sync.ports import Store

STORE_METHODS = sorted(
    name for name, member in vars(Store).items() if callable(member) and not name.startswith("_")
)


def test_the_protocol_has_methods_to_compare() -> None:
    assert len(STORE_METHODS) > 30


@pytest.mark.parametrize("name", STORE_METHODS)
def test_sql_store_method_matches_the_protocol(name: str) -> None:
    expected = inspect.signature(getattr(Store, name))
    actual = inspect.signature(getattr(SqlStore, name))
    assert [(p.name, p.kind, p.default) for p in actual.parameters.values()] == [
        (p.name, p.kind, p.default) for p in expected.parameters.values()
    ]
    assert actual.return_annotation == expected.return_annotation
