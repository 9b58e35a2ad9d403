"""Each storage role of sync.ports is implemented by its repository, with the very same
signatures, and SqlStore (every repository at once) offers every method of every role."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest

from storage import repositories as r
from storage.repositories import SqlStore
from sync import ports

from .conftest import T0

#: Which repository implements which role.
IMPLEMENTATIONS: dict[type, type] = {
    ports.SyncSettingsStore: r.SettingsRepository,
    ports.LinkStore: r.LinkRepository,
    ports.SellIndexStore: r.SellIndexRepository,
    ports.MemberStore: r.MemberRepository,
    ports.RosterStore: r.RosterRepository,
    ports.RememberedReads: r.RememberedReadRepository,
    ports.MarkStore: r.MarkRepository,
    ports.ConflictStore: r.ConflictRepository,
    ports.ChangeRequestStore: r.ChangeRequestRepository,
    ports.RunLog: r.RunRepository,
    ports.AuditLog: r.AuditRepository,
    ports.LeaseStore: r.LeaseRepository,
    ports.RequestMarkerStore: r.RequestMarkerRepository,
    ports.SchedulerStateStore: r.SchedulerStateRepository,
    ports.BulkHoldStore: r.BulkHoldRepository,
    ports.EventInbox: r.InboxRepository,
    ports.MigrationStore: r.MigrationRepository,
    ports.HealthStore: r.HealthRepository,
}


def methods(cls: type) -> list[str]:
    """The public methods ``cls`` declares itself (inherited ones left out)."""
    return sorted(
        name for name, member in vars(cls).items() if callable(member) and not name.startswith("_")
    )


ROLE_METHODS = [(role, name) for role in ports.STORE_ROLES for name in methods(role)]


def same_signature(expected: Callable[..., object], actual: Callable[..., object]) -> None:
    want, got = inspect.signature(expected), inspect.signature(actual)
    assert [(p.name, p.kind, p.default) for p in got.parameters.values()] == [
        (p.name, p.kind, p.default) for p in want.parameters.values()
    ]
    assert got.return_annotation == want.return_annotation


def test_every_role_has_one_repository_and_is_small() -> None:
    assert set(IMPLEMENTATIONS) == set(ports.STORE_ROLES)
    assert set(ports.Store.__mro__) >= set(ports.STORE_ROLES)
    for role in ports.STORE_ROLES:
        assert 1 <= len(methods(role)) <= 15, role.__name__


def test_no_method_belongs_to_two_roles() -> None:
    names = [name for _, name in ROLE_METHODS]
    assert len(names) == len(set(names)) > 40


@pytest.mark.parametrize(
    ("role", "name"), ROLE_METHODS, ids=[f"{role.__name__}.{n}" for role, n in ROLE_METHODS]
)
def test_the_repository_of_a_role_matches_it(role: type, name: str) -> None:
    repository = IMPLEMENTATIONS[role]
    assert name in methods(repository), f"{repository.__name__} lacks {name}"
    same_signature(getattr(role, name), getattr(repository, name))
    same_signature(getattr(ports.Store, name), getattr(SqlStore, name))


def test_a_repository_works_on_its_own_engine(store: SqlStore) -> None:
    """One role, built on an engine alone, sees what the composed store wrote."""
    links = r.LinkRepository(store.engine)
    assert links.count_links() == store.count_links()
    runs = r.RunRepository(store.engine)
    run_id = store.start_run(trigger="manual", at=T0)
    assert [run.id for run in runs.recent_runs()] == [run_id]
