"""Sell's Firehose end to end over the sandbox servers: the real Sell client reads the streams,
small runs apply what they name, positions are stored in the SQLite store only once applied."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from sandbox import Sandbox
from sync.domain import LinkState, SellRef
from sync.engine import Engine
from sync.feeds.firehose import firehose_name
from sync.firehose import (
    FIREHOSE_TRIGGER,
    FirehoseFollower,
    Followed,
    firehose_follower,
    sell_firehose_available,
)
from sync.pipeline.short_run import POLL, Poll, ShortWork
from sync.service import SyncService
from tests.e2e.conftest import ada_in_a_list, engine_over


class Killed(BaseException):
    """The process dies (not an error any code handles)."""


def _world(sb: Sandbox) -> tuple[str, str, int]:
    """A synced list with one member, and a lead already linked to it after a first run."""
    sb.reset("empty")
    sb.sell.firehose.enabled = True
    return ada_in_a_list(sb)


@contextmanager
def _service(sb: Sandbox, tmp_path: Path, list_id: str) -> Iterator[SyncService]:
    with engine_over(sb, f"sqlite:///{tmp_path}/e3.db", list_id) as engine:
        yield SyncService(engine)


def _follower(service: SyncService) -> FirehoseFollower:
    follower = firehose_follower(service)
    assert follower is not None
    return follower


def _linked(service: SyncService, cid: str) -> SellRef:
    engine: Engine = service.engine
    assert engine.run(trigger="test").failure is None
    link = engine.store.links_by_hubspot([cid])[cid]
    return link.sell


def _title(sb: Sandbox, cid: str) -> object:
    contact = sb.hubspot.get_contact(cid)
    assert contact is not None
    return contact["properties"].get("jobtitle")


@contextmanager
def _following(
    sb: Sandbox, tmp_path: Path
) -> Iterator[tuple[SyncService, FirehoseFollower, str, SellRef]]:
    """``_world`` synced once: the service, a follower that never followed, Ada's contact id
    and her linked lead."""
    list_id, cid, _lead = _world(sb)
    with _service(sb, tmp_path, list_id) as service:
        ref = _linked(service, cid)
        yield service, _follower(service), cid, ref


def _stream_reads(sb: Sandbox) -> int:
    return sb.sell.count("GET", "/v3/")


def test_e3_follows_both_streams_until_top_and_applies_each_change(
    sb: Sandbox, tmp_path: Path
) -> None:
    with _following(sb, tmp_path) as (service, follower, cid, ref):
        first = follower.follow()  # never followed: starts at the top, the past is the run's
        assert first.outcome is Followed.READ and first.events == 0
        for n in range(150):  # more than one page of 100 on the leads stream
            sb.sell.add_record("lead", {"last_name": f"Other{n}"})
        sb.sell.update_record("lead", ref.id, {"title": "Countess"})
        sb.sell.add_record("contact", {"last_name": "Babbage"})
        reads = _stream_reads(sb)
        result = follower.follow()
        assert result.outcome is Followed.READ
        assert result.events == 152
        assert _stream_reads(sb) - reads == 3  # leads: 2 pages to the top; contacts: 1
        assert _title(sb, cid) == "Countess"
        # at the top: the next follow reads one empty page per stream and runs nothing
        runs = len(service.engine.store.recent_runs(50))
        assert follower.follow().events == 0
        assert len(service.engine.store.recent_runs(50)) == runs
        stored = service.engine.store.get_mark(firehose_name("lead"))
        assert stored is not None and stored.last_id


def test_e3_a_crash_between_read_and_apply_replays_the_page_without_duplicates(
    sb: Sandbox, tmp_path: Path
) -> None:
    with _following(sb, tmp_path) as (service, follower, cid, ref):
        follower.follow()
        before = service.engine.store.get_mark(firehose_name("lead"))
        sb.sell.update_record("lead", ref.id, {"title": "Countess"})

        def killed_before_apply(refs: Sequence[SellRef]) -> bool:
            raise Killed

        crashing = FirehoseFollower(
            follower.firehose,
            follower.marks,
            follower.clock,
            remembered=follower.remembered,
            apply=killed_before_apply,
            reconcile=follower.reconcile,
        )
        with pytest.raises(Killed):
            crashing.follow()
        assert service.engine.store.get_mark(firehose_name("lead")) == before  # not moved

        def killed_after_apply(refs: Sequence[SellRef]) -> bool:
            follower.apply(refs)
            raise Killed  # applied, but the position was not stored

        crashing.apply = killed_after_apply
        with pytest.raises(Killed):
            crashing.follow()
        assert service.engine.store.get_mark(firehose_name("lead")) == before
        assert _title(sb, cid) == "Countess"
        updates = sb.hubspot.count("POST", "/crm/v3/objects/contacts/batch/update")
        assert updates >= 1  # the title went to HubSpot through this endpoint
        contacts, leads = len(sb.hubspot.contact_ids()), len(sb.sell.records("lead"))
        replay = follower.follow()  # the same page again
        assert replay.outcome is Followed.READ and replay.records == 1
        assert sb.hubspot.count("POST", "/crm/v3/objects/contacts/batch/update") == updates
        assert (len(sb.hubspot.contact_ids()), len(sb.sell.records("lead"))) == (contacts, leads)
        assert service.engine.store.get_mark(firehose_name("lead")) != before


def test_e3_a_deleted_event_is_read_back_and_a_converted_lead_is_not_tombstoned(
    sb: Sandbox, tmp_path: Path
) -> None:
    list_id, cid, lead = _world(sb)
    gone_cid = sb.hubspot.add_contact(
        {"email": "gone@example.com", "lastname": "Gone", "hubspotscore": "80"}
    )
    sb.hubspot.add_to_list(list_id, [gone_cid])
    gone = sb.sell.add_record("lead", {"email": "gone@example.com", "last_name": "Gone"})
    with _service(sb, tmp_path, list_id) as service:
        _linked(service, cid)
        store = service.engine.store
        follower = _follower(service)
        follower.follow()
        answer = httpx.post(
            sb.sell_url + "/v2/lead_conversions",
            json={"data": {"lead_id": lead}},
            headers={"Authorization": f"Bearer {sb.sell_token}", "User-Agent": "tests/1"},
        )
        contact_id = int(answer.json()["data"]["individual_id"])
        sb.sell.delete_record("lead", gone)
        assert follower.follow().outcome is Followed.READ
        moved = store.links_by_hubspot([cid])[cid]
        assert moved.sell == SellRef("contact", contact_id)
        assert moved.state is LinkState.ACTIVE
        assert store.links_by_hubspot([gone_cid])[gone_cid].state is LinkState.TOMBSTONED


def test_e3_an_expired_position_starts_one_full_reconcile_then_follows_from_top(
    sb: Sandbox, tmp_path: Path
) -> None:
    with _following(sb, tmp_path) as (service, follower, cid, ref):
        follower.follow()
        sb.sell.update_record("lead", ref.id, {"title": "Countess"})
        sb.sell.add_record("contact", {"last_name": "Babbage"})
        sb.sell.firehose.retention_seconds = 0  # both stored positions are now too old
        result = follower.follow()
        assert result.outcome is Followed.RECONCILED
        runs = service.engine.store.recent_runs(50)
        assert [r.trigger for r in runs].count(FIREHOSE_TRIGGER) == 1
        # what the lost events said is found by the reconcile
        assert _title(sb, cid) == "Countess"
        sb.sell.firehose.retention_seconds = 72 * 3600
        sb.sell.update_record("lead", ref.id, {"title": "Queen"})
        after = follower.follow()
        assert after.outcome is Followed.READ and after.events == 1
        runs = service.engine.store.recent_runs(50)
        assert [r.trigger for r in runs].count(FIREHOSE_TRIGGER) == 1
        assert _title(sb, cid) == "Queen"


def test_e3_no_firehose_is_remembered_across_processes_and_the_poll_reads_instead(
    sb: Sandbox, tmp_path: Path
) -> None:
    list_id, cid, _lead = _world(sb)
    sb.sell.firehose.enabled = False  # no premium APIs: 403
    with _service(sb, tmp_path, list_id) as service:
        ref = _linked(service, cid)
        assert sell_firehose_available(service)  # not asked yet
        assert _follower(service).follow().outcome is Followed.ABSENT
        assert not sell_firehose_available(service)
    reads = _stream_reads(sb)
    with _service(sb, tmp_path, list_id) as again:  # another process, the same database
        assert not sell_firehose_available(again)
        assert _follower(again).follow().outcome is Followed.ABSENT
        assert _stream_reads(sb) == reads  # not asked again within the day
        # the fallback: Sell's updated_at feed, read by a short poll
        sb.sell.update_record("lead", ref.id, {"title": "Countess"})
        poll = Poll(sell_changes=not sell_firehose_available(again))
        report = again.run_short(ShortWork(poll=poll), trigger=POLL)
        assert report.failure is None
        assert _title(sb, cid) == "Countess"
