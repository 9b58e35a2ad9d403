"""``restore --run N`` on each database: the run's own audit events name the links it
tombstoned or marked deleted in HubSpot, and those (only those still as it left them) are
active again, audited; a record really deleted is tombstoned again by the next run."""

from __future__ import annotations

from storage.repositories import SqlStore
from sync.domain import LinkState
from sync.engine import Engine, EngineConfig
from sync.service import CLI_ACTOR, SyncService
from tests.conftest import LIST_ID
from tests.fakes import FakeHubSpot, FakeSell, TickClock


def test_restore_run_reactivates_what_that_run_marked(store: SqlStore) -> None:
    clock = TickClock()
    hubspot, sell = FakeHubSpot(clock=clock), FakeSell(clock=clock)
    hubspot.make_list(LIST_ID, "MANUAL")
    engine = Engine(
        hubspot, sell, store, clock, EngineConfig(default_threshold=50, default_list_id=LIST_ID)
    )
    service = SyncService(engine)
    ids = []
    for i in range(6):
        cid = hubspot.add_contact(hubspotscore=80, email=f"m{i}@x.com", lastname=f"M{i}")
        hubspot.join(LIST_ID, cid)
        ids.append(cid)
    clock.tick(60)
    assert engine.run(trigger="test").counts() == {"created_in_sell": 6}
    leads = {link.hubspot_id: link.sell for batch in store.iter_links() for link in batch}
    sell.delete("lead", leads[ids[0]].id)
    sell.delete("lead", leads[ids[1]].id)
    hubspot.archive(ids[2])
    clock.tick(60)
    marking = engine.run(trigger="test", full=True)
    assert marking.counts() == {"tombstoned": 2, "hubspot_deleted": 1}
    assert marking.run_id is not None
    clock.tick(60)
    store.delete_link(leads[ids[1]])  # lifted since (restore ITEM): left alone

    done = service.restore_run(marking.run_id, actor=CLI_ACTOR, reason="mistake")
    assert (done.tombstones, done.hubspot_marks, done.changed_since) == (1, 1, 1)
    states = {link.hubspot_id: link.state for batch in store.iter_links() for link in batch}
    assert states == {cid: LinkState.ACTIVE for cid in ids if cid != ids[1]}
    restored = [e for e in store.audit_trail() if e.kind == "restored"]
    assert sorted(e.subject for e in restored) == sorted(
        f"{leads[cid]}|{cid}" for cid in (ids[0], ids[2])
    )
    assert all(e.actor == CLI_ACTOR.id and e.detail["reason"] == "mistake" for e in restored)

    # lead 0 really is gone, contact 2 really archived: the next run marks them again, with
    # proof; contact 1, whose tombstone was lifted by ITEM, is treated as never linked
    clock.tick(60)
    again = engine.run(trigger="test", full=True)
    assert again.counts() == {"tombstoned": 1, "hubspot_deleted": 1, "created_in_sell": 1}
