"""One sync cycle (and a push) through the ports: read, plan, apply, record.

A run reads, page by page:

1. the synced list's member ids (the only per-run cost that grows with the list);
2. the Sell change feed of leads and contacts, which keeps the bulk email index current and
   yields linked records changed in Sell;
3. the HubSpot contacts changed since the last run (search on ``lastmodifieddate``), which yields
   linked contacts changed in HubSpot and members whose score may have risen;
4. the list members never evaluated before (new members, or all of them after a settings change).

Each page is planned (pure rules), applied, recorded (links with field snapshots, conflicts,
audit events), and only then is its cursor advanced: a run can be killed anywhere and re-run.
With ``dry_run`` the same pages are read and planned, and nothing is written anywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, replace

from sync.domain import (
    RECORD_KINDS,
    Conflict,
    Cursor,
    FieldSnapshot,
    HubSpotContact,
    HubSpotList,
    Link,
    LinkOrigin,
    LinkState,
    Outcome,
    PropertyInfo,
    RecordKind,
    SellCustomField,
    SellRecord,
    SellRef,
    Skip,
)
from sync.errors import ApiError, RecordNotFound, RecordRejected, SyncError
from sync.lease import DEFAULT_TTL_SECONDS, RunLease
from sync.mapping import (
    FieldMapping,
    check_custom_mapping,
    field_table,
    fields_for,
    hubspot_canonical,
    hubspot_properties_to_read,
    sell_canonical,
    valid_email,
)
from sync.merge import (
    RecordMerge,
    hubspot_raw,
    initial_hubspot_properties,
    initial_sell_values,
    merge_record,
)
from sync.plan import Action, SyncPlan
from sync.ports import (
    AuditEvent,
    Clock,
    ContactWrite,
    HubSpotPort,
    SellIndexEntry,
    SellPort,
    Store,
    SyncSettings,
)
from sync.push import parse_items, select_records
from sync.qualify import qualify
from sync.report import SyncReport, classify_failure

log = logging.getLogger("sellsync.engine")

SYNC_LOCK = "sync"
HUBSPOT_CURSOR = "hubspot:changes"
MEMBERS_CURSOR = "hubspot:members"


def sell_cursor_name(kind: RecordKind) -> str:
    return f"sell:{kind}"


@dataclass(frozen=True)
class EngineConfig:
    default_threshold: int = 0
    default_list_id: str = ""
    score_property: str = "hubspotscore"
    import_as: RecordKind = "lead"
    hubspot_overlap_ms: int = 5 * 60 * 1000
    lock_ttl_seconds: int = DEFAULT_TTL_SECONDS  # the run lease (sync/lease.py)
    lock_heartbeat_seconds: float | None = None  # None: a third of the TTL
    sell_write_workers: int = 4  # Sell writes in flight at once (paced by the client)


class RunInProgress(SyncError):
    def __init__(self) -> None:
        super().__init__("a sync is already running; try again when it has finished")


Progress = Callable[[str, SyncReport], None]


class _Index:
    """The Sell email index, with an in-memory overlay in dry runs (nothing is stored)."""

    def __init__(self, store: Store, dry: bool) -> None:
        self.store = store
        self.dry = dry
        self.overlay: dict[SellRef, SellIndexEntry] = {}
        self.removed: set[SellRef] = set()

    def add(self, records: Iterable[SellRecord]) -> None:
        entries = [
            SellIndexEntry(r.ref, r.email, r.updated_at, r.is_organization, r.tags) for r in records
        ]
        if self.dry:
            for e in entries:
                self.overlay[e.ref] = e
                self.removed.discard(e.ref)
        elif entries:
            self.store.index_sell_records(entries)

    def remove(self, refs: Iterable[SellRef]) -> None:
        refs = list(refs)
        if self.dry:
            self.removed.update(refs)
        elif refs:
            self.store.remove_from_index(refs)

    def find(self, emails: Iterable[str]) -> dict[str, list[SellIndexEntry]]:
        emails = list(emails)
        found = self.store.find_by_email(emails) if emails else {}
        if not self.dry:
            return found
        wanted = set(emails)
        merged: dict[str, dict[SellRef, SellIndexEntry]] = {
            e: {x.ref: x for x in entries} for e, entries in found.items()
        }
        for entry in self.overlay.values():
            for entries in merged.values():
                entries.pop(entry.ref, None)
            if entry.email in wanted:
                merged.setdefault(entry.email, {})[entry.ref] = entry
        return {
            e: [x for ref, x in entries.items() if ref not in self.removed]
            for e, entries in merged.items()
        }


class Engine:
    def __init__(
        self,
        hubspot: HubSpotPort,
        sell: SellPort,
        store: Store,
        clock: Clock,
        config: EngineConfig,
    ) -> None:
        self.hubspot = hubspot
        self.sell = sell
        self.store = store
        self.clock = clock
        self.config = config

    # ------------------------------------------------------------------ public
    def settings(self) -> SyncSettings:
        return self.store.get_settings(
            default_threshold=self.config.default_threshold,
            default_list_id=self.config.default_list_id,
        )

    def run(
        self,
        *,
        trigger: str = "manual",
        dry_run: bool = False,
        full: bool = False,
        progress: Progress | None = None,
        keep_actions: bool = False,
    ) -> SyncReport:
        """One sync cycle. Raises RunInProgress when another run holds the lock.

        A dry run's report keeps every planned action (it is the plan to print); a real run's
        keeps counts, skips and errors only, unless ``keep_actions``.
        """
        lease = None if dry_run else self._take_lease()
        report = SyncReport(  # started once the lock is ours: runs never overlap in time
            trigger=trigger,
            dry_run=dry_run,
            started_at=self.clock.now(),
            plan=SyncPlan(keep_actions=dry_run or keep_actions),
            applied=SyncPlan(keep_actions=keep_actions),
        )
        if lease is not None:
            try:
                report.run_id = self.store.start_run(trigger=trigger, at=report.started_at)
            except BaseException:
                lease.release()
                raise
        try:
            owner = trigger if lease is None else lease.owner
            run = _Run(
                self, report, dry=dry_run, full=full, progress=progress, owner=owner, lease=lease
            )
            with lease or nullcontext():  # the lease is renewed by a heartbeat while it runs
                run.sync()
        except (ApiError, SyncError) as exc:
            report.failure, report.failure_cause = str(exc), exc
            report.failure_kind = classify_failure(exc)
            log.warning("sync run stopped: %s", exc)
        except BaseException as exc:  # a bug or an interrupt: recorded as failed, then raised
            report.failure = f"{type(exc).__name__}: {exc}"
            report.failure_kind = classify_failure(exc)
            raise
        finally:
            report.finished_at = self.clock.now()
            if lease is not None:
                assert report.run_id is not None
                try:
                    self.store.finish_run(
                        report.run_id,
                        at=report.finished_at,
                        status=report.status,
                        counts=report.run_counts(),
                        error=report.failure,
                    )
                finally:
                    lease.release()
        return report

    def push(self, items: Sequence[str], *, actor: str, dry_run: bool = False) -> SyncReport:
        """S4: send the selected Sell records to HubSpot (create, or merge with an existing one)."""
        report = SyncReport(trigger=f"push:{actor}", dry_run=dry_run, started_at=self.clock.now())
        try:
            _Run(self, report, dry=dry_run, full=False, progress=None, owner=actor).push(
                items, actor=actor
            )
        except (ApiError, SyncError) as exc:
            report.failure, report.failure_cause = str(exc), exc
            report.failure_kind = classify_failure(exc)
        report.finished_at = self.clock.now()
        return report

    def context(self) -> _Run:
        """A read-only run context: settings, HubSpot properties and the field tables."""
        report = SyncReport(trigger="context", dry_run=True, started_at=self.clock.now())
        return _Run(self, report, dry=True, full=False, progress=None, owner="context")

    def _take_lease(self) -> RunLease:
        """The run lease (see sync/lease.py), or RunInProgress while another run holds it.

        A run killed anywhere leaves the lease until it expires (one TTL): whether its process
        is gone cannot be told from here (another host, another PID namespace), only that it
        stopped renewing."""
        lease = RunLease(
            self.store,
            self.clock,
            name=SYNC_LOCK,
            ttl_seconds=self.config.lock_ttl_seconds,
            heartbeat_seconds=self.config.lock_heartbeat_seconds,
        )
        if not lease.acquire():
            raise RunInProgress()
        return lease


class _Run:
    """The state of one run: settings, field tables, what was processed, what was decided."""

    def __init__(
        self,
        engine: Engine,
        report: SyncReport,
        *,
        dry: bool,
        full: bool,
        progress: Progress | None,
        owner: str,
        lease: RunLease | None = None,
    ) -> None:
        self.e = engine
        self.hs = engine.hubspot
        self.sell = engine.sell
        self.store = engine.store if lease is None else lease.guard(engine.store)
        self.cfg = engine.config
        self.report = report
        self.dry = dry
        self.full = full
        self.progress = progress
        self.owner = owner
        self.lease = lease  # a real sync's lease (sync/lease.py), checked at every page
        self.index = _Index(self.store, dry)
        self.settings = engine.settings()
        self.done: set[str] = set()  # HubSpot ids handled in this run
        self._links: list[Link] = []  # applied, not yet stored (see _flush)
        self._events: list[AuditEvent] = []
        self.members: set[str] = set()
        self._props: dict[str, PropertyInfo] | None = None
        self._tables: dict[RecordKind, list[FieldMapping]] | None = None
        self._hs_list: HubSpotList | None = None

    # ------------------------------------------------------------ lazy context
    @property
    def props(self) -> dict[str, PropertyInfo]:
        if self._props is None:
            self._props = self.hs.properties()
        return self._props

    @property
    def hs_list(self) -> HubSpotList:
        if self._hs_list is None:
            self._hs_list = self.hs.get_list(self.settings.list_id)
        return self._hs_list

    def table(self, kind: RecordKind) -> list[FieldMapping]:
        if self._tables is None:
            self._tables = self._build_tables()
        return self._tables[kind]

    def _build_tables(self) -> dict[RecordKind, list[FieldMapping]]:
        sell_fields: dict[RecordKind, list[SellCustomField]] = {
            k: self.sell.custom_fields(k) for k in RECORD_KINDS
        }
        custom: list[FieldMapping] = []
        for cm in self.settings.custom_mappings:
            check = check_custom_mapping(
                cm.hubspot_property, cm.sell_field, self.props, sell_fields
            )
            if check.mapping is not None:
                custom.append(check.mapping)
            else:
                self.report.plan.warn(f"custom field {cm.hubspot_property}: {check.message}")
        table = field_table(score_property=self.cfg.score_property, custom=custom)
        tables: dict[RecordKind, list[FieldMapping]] = {}
        for kind in RECORD_KINDS:
            names = {f.name.strip().lower() for f in sell_fields[kind]}
            usable = []
            for m in fields_for(kind, table):
                cf = m.sell_custom_field
                if cf is not None and cf.strip().lower() not in names:
                    self.report.plan.warn(
                        f'Sell {kind}s have no custom field "{cf}": {m.label} is not synced '
                        f"until it is created in Sell"
                    )
                    continue
                usable.append(m)
            tables[kind] = usable
        return tables

    def hubspot_props(self) -> list[str]:
        table = [*self.table("lead"), *self.table("contact")]
        return sorted({*hubspot_properties_to_read(table), self.cfg.score_property})

    def _tick(self, stage: str) -> None:
        if self.lease is not None:
            self.lease.renew()  # at every page; raises LeaseLost once another run holds it
        if self.progress is not None:
            self.progress(stage, self.report)

    # --------------------------------------------------------------- the cycle
    def sync(self) -> None:
        list_id = self.settings.list_id
        self._tick("start")
        # 1. members of the one synced list (S2)
        for page in self.hs.list_member_pages(self.hs_list.id):
            self.members.update(page)
        self._tick("members")
        members_key = f"{list_id}:{self.settings.version}"
        members_cursor = self.store.get_cursor(MEMBERS_CURSOR)
        known = self.store.known_members(list_id)
        if self.full or members_cursor is None or members_cursor.last_id != members_key:
            if known and not self.dry:
                self.store.remove_members(list_id, known)
            known = set()
        # 2. the Sell change feed: index + linked records changed in Sell
        for kind in RECORD_KINDS:
            self._sell_feed(kind)
        # 3. HubSpot changes since the last run
        self._hubspot_changes()
        # 4. members never evaluated (new to the list, or after a settings change)
        fresh = sorted(
            (m for m in self.members if m not in known and m not in self.done), key=_id_key
        )
        for start in range(0, len(fresh), 100):
            chunk = fresh[start : start + 100]
            links = self.store.links_by_hubspot(chunk)
            unlinked = [i for i in chunk if i not in links]
            if unlinked:
                found, _missing = self.hs.read_contacts(unlinked, self.hubspot_props())
                contacts = [found[i] for i in unlinked if i in found]
                self._apply(self._plan_imports(contacts))
                self._remember_scores(contacts)
            if not self.dry:
                self.store.add_members(list_id, chunk)
            self._tick("members")
        gone = known - self.members
        if not self.dry:
            if gone:
                self.store.remove_members(list_id, gone)
            self.store.set_cursor(MEMBERS_CURSOR, Cursor(last_id=members_key))
        # 5. a full run re-checks every link, catching deletions no feed reports
        if self.full:
            self._recheck_all_links()

    def _remember_scores(self, contacts: Sequence[HubSpotContact]) -> None:
        """Evaluated members and their scores: the threshold impact is read from these."""
        if not self.dry:
            score = self.cfg.score_property
            self.store.set_member_scores(
                self.settings.list_id, {c.id: c.properties.get(score) for c in contacts}
            )

    # ------------------------------------------------------------- Sell feed
    def _sell_feed(self, kind: RecordKind) -> None:
        name = sell_cursor_name(kind)
        cursor = self.store.get_cursor(name)
        since = cursor.updated_at if cursor else None
        newest = since
        for page in self.sell.changed_pages(kind, since):
            self.index.add(page)
            newest = max([r.updated_at for r in page] + ([newest] if newest else []))
            links = self.store.links_by_sell(r.ref for r in page)
            changed: list[tuple[SellRecord, Link]] = []
            for r in page:
                link = links.get(r.ref)
                if link is None or link.state is not LinkState.ACTIVE:
                    continue
                if self.full or self._sell_side_changed(r, link):
                    changed.append((r, link))
            if changed:
                self._sync_from_sell(changed)
            self._tick(f"sell {kind}s")
        if not self.dry and newest is not None and newest != since:
            self.store.set_cursor(name, Cursor(updated_at=newest))

    def _sell_side_changed(self, record: SellRecord, link: Link) -> bool:
        for m in self.table(record.kind):
            snap = link.snapshot.get(m.key)
            if snap is None:
                return True
            try:
                if sell_canonical(m, record.values.get(m.sell)) != snap.sell:
                    return True
            except ValueError:
                return True
        return False

    def _hubspot_side_changed(self, contact: HubSpotContact, link: Link) -> bool:
        for m in self.table(link.sell.kind):
            snap = link.snapshot.get(m.key)
            if snap is None:
                return True
            raw = hubspot_raw(m, contact, self.hs.contact_url(contact.id))
            try:
                if hubspot_canonical(m, raw, self.props.get(m.hubspot)) != snap.hubspot:
                    return True
            except ValueError:
                return True
        return False

    def _sync_from_sell(self, pairs: Sequence[tuple[SellRecord, Link]]) -> None:
        found, missing = self.hs.read_contacts(
            [link.hubspot_id for _, link in pairs], self.hubspot_props()
        )
        plan = SyncPlan()
        for record, link in pairs:
            self.done.add(link.hubspot_id)
            if link.hubspot_id in missing:
                plan.add(self._hubspot_gone(link))
            elif link.hubspot_id in found:
                self._plan_link_sync(plan, record, found[link.hubspot_id], link)
        self._apply(plan)

    # ---------------------------------------------------------- HubSpot feed
    def _hubspot_changes(self) -> None:
        cursor = self.store.get_cursor(HUBSPOT_CURSOR)
        start_ms = int(self.e.clock.now().timestamp() * 1000)
        if cursor is None or cursor.position_ms is None:
            # First run: every member is new and read in step 4; start watching from now.
            if not self.dry:
                self.store.set_cursor(HUBSPOT_CURSOR, Cursor(position_ms=start_ms))
            return
        position = cursor.position_ms
        since = max(0, position - self.cfg.hubspot_overlap_ms)
        for page in self.hs.changed_pages(since, self.hubspot_props()):
            contacts = [c for c in page.contacts if c.id not in self.done]
            links = self.store.links_by_hubspot(c.id for c in contacts)
            linked = [
                (c, links[c.id])
                for c in contacts
                if c.id in links
                and links[c.id].state is LinkState.ACTIVE
                and (self.full or self._hubspot_side_changed(c, links[c.id]))
            ]
            if linked:
                self._sync_from_hubspot(linked)
            candidates = [c for c in contacts if c.id not in links and c.id in self.members]
            if candidates:
                self._apply(self._plan_imports(candidates))
                self._remember_scores(candidates)
            self.done.update(c.id for c in contacts)
            position = max(position, page.high_water_ms)
            if not self.dry:
                self.store.set_cursor(HUBSPOT_CURSOR, Cursor(position_ms=position))
            self._tick("hubspot changes")

    def _sync_from_hubspot(self, pairs: Sequence[tuple[HubSpotContact, Link]]) -> None:
        records = self._read_sell([link.sell for _, link in pairs])
        plan = SyncPlan()
        for contact, link in pairs:
            record = records.get(link.sell)
            if record is None:
                plan.add(self._tombstone(link, "deleted in Sell"))
            else:
                self._plan_link_sync(plan, record, contact, link)
        self._apply(plan)

    def _read_sell(self, refs: Iterable[SellRef]) -> dict[SellRef, SellRecord]:
        out: dict[SellRef, SellRecord] = {}
        by_kind: dict[RecordKind, list[int]] = {}
        for ref in refs:
            by_kind.setdefault(ref.kind, []).append(ref.id)
        for kind, ids in by_kind.items():
            for start in range(0, len(ids), 100):
                for rid, rec in self.sell.get_records(kind, ids[start : start + 100]).items():
                    out[SellRef(kind, rid)] = rec
        return out

    def _recheck_all_links(self) -> None:
        for batch in self.store.iter_links(batch_size=100):
            active = [
                link
                for link in batch
                if link.state is LinkState.ACTIVE and link.hubspot_id not in self.done
            ]
            if not active:
                continue
            records = self._read_sell(link.sell for link in active)
            found, missing = self.hs.read_contacts(
                [link.hubspot_id for link in active], self.hubspot_props()
            )
            plan = SyncPlan()
            for link in active:
                self.done.add(link.hubspot_id)
                if link.sell not in records:
                    plan.add(self._tombstone(link, "deleted in Sell"))
                elif link.hubspot_id in missing:
                    plan.add(self._hubspot_gone(link))
                elif link.hubspot_id in found:
                    self._plan_link_sync(plan, records[link.sell], found[link.hubspot_id], link)
            self._apply(plan)
            self._tick("full check")

    # --------------------------------------------------------------- planning
    def _plan_link_sync(
        self, plan: SyncPlan, record: SellRecord, contact: HubSpotContact, link: Link
    ) -> None:
        """S9 for a linked pair (S7: whatever its list membership or score)."""
        try:
            merge = merge_record(
                self.table(record.kind),
                record.values,
                contact,
                link.snapshot,
                self.props,
                fallback_url=self.hs.contact_url(contact.id),
            )
        except ValueError as exc:
            self.report.errors.append(Skip(str(record.ref), f"unreadable value: {exc}"))
            return
        new_link = replace(link, snapshot=merge.snapshot, email=record.email or contact.email)
        if not merge.writes_anything and not merge.conflicts and new_link.snapshot == link.snapshot:
            return
        outcomes: list[Outcome] = []
        if merge.sell_writes:
            outcomes.append(Outcome.UPDATED_SELL)
        if merge.hubspot_writes:
            outcomes.append(Outcome.UPDATED_HUBSPOT)
        if merge.conflicts:
            outcomes.append(Outcome.CONFLICT_OPENED)
        plan.add(
            Action(
                tuple(outcomes),
                record.ref,
                contact.id,
                "changes since the last sync" if outcomes else "snapshot refreshed",
                merge.sell_writes,
                merge.hubspot_writes,
                _conflict_lines(merge),
                link=new_link,
                merge=merge,
            )
        )

    def _plan_merge(
        self,
        plan: SyncPlan,
        record: SellRecord,
        contact: HubSpotContact,
        origin: LinkOrigin,
        summary: str,
    ) -> None:
        """S8: first link of an existing pair."""
        try:
            merge = merge_record(
                self.table(record.kind),
                record.values,
                contact,
                None,
                self.props,
                fallback_url=self.hs.contact_url(contact.id),
            )
        except ValueError as exc:
            self.report.errors.append(Skip(str(record.ref), f"unreadable value: {exc}"))
            return
        outcomes = [Outcome.MERGED]
        if merge.conflicts:
            outcomes.append(Outcome.CONFLICT_OPENED)
        link = Link(
            sell=record.ref,
            hubspot_id=contact.id,
            origin=origin,
            snapshot=merge.snapshot,
            email=record.email or contact.email,
        )
        plan.add(
            Action(
                tuple(outcomes),
                record.ref,
                contact.id,
                summary,
                merge.sell_writes,
                merge.hubspot_writes,
                _conflict_lines(merge),
                link=link,
                merge=merge,
            )
        )

    def _plan_imports(self, contacts: Sequence[HubSpotContact]) -> SyncPlan:
        """S1, S3, S5, S8 for list members that are not linked."""
        plan = SyncPlan()
        links = self.store.links_by_hubspot(c.id for c in contacts)
        todo: list[HubSpotContact] = []
        for c in contacts:
            q = qualify(
                c.properties.get(self.cfg.score_property),
                in_list=c.id in self.members,
                threshold=self.settings.threshold,
            )
            link = links.get(c.id)
            if link is not None:
                if link.state is LinkState.TOMBSTONED and q.qualifies:
                    plan.skip(
                        f"HubSpot {c.id}",
                        f"its Sell record {link.sell} was deleted; it is not created again "
                        "unless a manager restores it",
                    )
                continue
            if not q.qualifies:
                self.report.not_qualified += 1
                continue
            if c.email is None:
                plan.skip(f"HubSpot {c.id}", "no email")
            elif not valid_email(c.email):
                self.report.errors.append(Skip(f"HubSpot {c.id}", f"invalid email {c.email!r}"))
            else:
                todo.append(c)
        if not todo:
            return plan
        matches = self._match_in_sell(todo)
        for c in todo:
            record = matches.get(c.id)
            if record is not None:
                self._plan_merge(plan, record, c, LinkOrigin.LIST, "matched by email")
            else:
                self._plan_create_in_sell(plan, c)
        return plan

    def _match_in_sell(self, contacts: Sequence[HubSpotContact]) -> dict[str, SellRecord]:
        """S8: the Sell record each contact's email matches (contact over lead, then newest)."""
        by_email = self.index.find(c.email for c in contacts if c.email)
        candidates = {
            e.ref for entries in by_email.values() for e in entries if not e.is_organization
        }
        if not candidates:
            return {}
        records = self._read_sell(candidates)
        stale = candidates - set(records)
        if stale:
            self.index.remove(stale)
        taken = self.store.links_by_sell(records)
        out: dict[str, SellRecord] = {}
        for c in contacts:
            options = [
                records[e.ref]
                for e in by_email.get(c.email or "", [])
                if e.ref in records
                and not records[e.ref].is_organization
                and records[e.ref].email == c.email
                and (e.ref not in taken or taken[e.ref].state is not LinkState.ACTIVE)
            ]
            if options:
                options.sort(key=lambda r: (r.kind == "contact", r.updated_at), reverse=True)
                out[c.id] = options[0]
        return out

    def _plan_create_in_sell(self, plan: SyncPlan, contact: HubSpotContact) -> None:
        kind = self.cfg.import_as
        try:
            values, snapshot = initial_sell_values(
                self.table(kind), contact, self.props, fallback_url=self.hs.contact_url(contact.id)
            )
        except ValueError as exc:
            self.report.errors.append(Skip(f"HubSpot {contact.id}", f"unreadable value: {exc}"))
            return
        link = Link(
            sell=SellRef(kind, 0), hubspot_id=contact.id, snapshot=snapshot, email=contact.email
        )
        plan.add(
            Action(
                (Outcome.CREATED_IN_SELL,),
                None,
                contact.id,
                f"new {kind} from HubSpot",
                values,
                link=link,
                create_kind=kind,
            )
        )

    def _tombstone(self, link: Link, reason: str) -> Action:
        return Action(
            (Outcome.TOMBSTONED,),
            link.sell,
            link.hubspot_id,
            reason,
            link=replace(link, state=LinkState.TOMBSTONED),
        )

    def _hubspot_gone(self, link: Link) -> Action:
        return Action(
            (Outcome.HUBSPOT_DELETED,),
            link.sell,
            link.hubspot_id,
            "archived or deleted in HubSpot; the Sell record is kept and no longer synced",
            link=replace(link, state=LinkState.HUBSPOT_DELETED),
        )

    # ----------------------------------------------------------------- apply
    def _apply(self, plan: SyncPlan) -> None:
        self.report.plan.extend(plan)
        if self.dry:
            return
        if self.lease is not None:
            self.lease.renew()  # before the page's writes; raises LeaseLost once it was taken
        self.report.applied.skipped.extend(plan.skipped)
        # Conflicts first: when Sell wins a both-sides change (S9), HubSpot's value survives
        # only in its conflict, so it is stored before HubSpot's value is overwritten.
        now = self.e.clock.now()
        for action in plan.actions:
            if action.merge is not None and action.link is not None:
                for d in action.merge.conflicts:
                    self.store.open_conflict(
                        Conflict(
                            sell=action.link.sell,
                            hubspot_id=action.link.hubspot_id,
                            field=d.mapping.key,
                            sell_value=d.sell,
                            hubspot_value=d.hubspot,
                            opened_at=now,
                        )
                    )
        writes = [
            ContactWrite(key=str(i), properties=a.hubspot_writes, id=a.hubspot_id)
            for i, a in enumerate(plan.actions)
            if a.hubspot_writes and a.hubspot_id and a.create_kind is None
        ]
        results = {r.key: r for r in self.hs.update_contacts(writes)} if writes else {}
        ready: list[Action] = []
        for i, action in enumerate(plan.actions):
            result = results.get(str(i))
            assert action.link is not None
            if result is not None and result.missing:
                self._record(self._hubspot_gone(action.link))
            elif result is not None and result.error:
                self.report.errors.append(Skip(_who(action), f"HubSpot refused: {result.error}"))
            else:
                ready.append(action)
        # Sell has no batch endpoint: one request per record, several in flight (the client
        # paces them to the rate limit), then recorded in plan order.
        outcomes = self._pool_map(self._write_sell, ready)
        written: list[SellRecord] = []
        for action, outcome in zip(ready, outcomes, strict=True):
            assert action.link is not None
            if isinstance(outcome, RecordNotFound):
                self._record(self._tombstone(action.link, "deleted in Sell"))
            elif isinstance(outcome, RecordRejected):
                self.report.errors.append(Skip(_who(action), f"Sell refused: {outcome.reason}"))
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                if outcome is not None:
                    written.append(outcome)
                    if action.create_kind is not None:
                        link = replace(action.link, sell=outcome.ref)
                        action = replace(action, sell=outcome.ref, link=link)
                self._record(action)
        self.index.add(written)
        self._flush()

    def _pool_map(
        self, fn: Callable[[Action], SellRecord | None], actions: Sequence[Action]
    ) -> list[SellRecord | BaseException | None]:
        def safe(action: Action) -> SellRecord | BaseException | None:
            try:
                return fn(action)
            except (RecordNotFound, RecordRejected) as exc:
                return exc

        workers = min(self.cfg.sell_write_workers, len(actions))
        if workers <= 1:
            return [safe(a) for a in actions]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sell-write") as pool:
            futures = [pool.submit(safe, a) for a in actions]
            return [_outcome(f) for f in futures]

    def _write_sell(self, action: Action) -> SellRecord | None:
        link = action.link
        assert link is not None
        if self.lease is not None:
            self.lease.check()  # lost meanwhile (seen by the heartbeat): not one more write
        if action.create_kind is not None:
            kind: RecordKind = "contact" if action.create_kind == "contact" else "lead"
            return self.sell.create_record(kind, action.sell_writes)
        if action.sell_writes:
            return self.sell.update_record(link.sell.kind, link.sell.id, action.sell_writes)
        return None

    def _record(self, action: Action) -> None:
        """Queue the link, conflicts and audit events of an applied action (see _flush)."""
        link = action.link
        assert link is not None
        now = self.e.clock.now()
        self._links.append(replace(link, last_synced_at=now))
        if link.state is LinkState.TOMBSTONED:
            self.index.remove([link.sell])
        self.report.applied.add(action)
        actor = self.owner if self.report.trigger.startswith("push:") else None  # the rep
        for outcome in action.outcomes:
            self._events.append(
                AuditEvent(
                    at=now,
                    kind=outcome.value,
                    subject=f"{link.sell}|{link.hubspot_id}",
                    detail={
                        "summary": action.summary,
                        "sell_writes": sorted(action.sell_writes),
                        "hubspot_writes": sorted(action.hubspot_writes),
                        "conflicts": list(action.conflicts),
                    },
                    actor=actor,
                    run_id=self.report.run_id,
                )
            )

    def _flush(self) -> None:
        """Store what a page applied, before the page's cursor moves: audit events, then the
        links with their snapshots. Links go last: a run killed before they are stored decides
        the same pairs again next time, while a stored snapshot would hide what it missed."""
        if self._events:
            self.store.audit_many(self._events)
        if self._links:
            self.store.save_links(self._links)
        self._links, self._events = [], []

    # ------------------------------------------------------------------ push
    def push(self, items: Sequence[str], *, actor: str) -> None:
        parsed = parse_items(items)
        plan = SyncPlan()
        for bad in parsed.invalid:
            plan.skip(bad.item, bad.reason)
        # refresh the email index from the Sell feed (a couple of calls when idle)
        if parsed.emails or parsed.tags:
            for kind in RECORD_KINDS:
                self._index_only(kind)
        refs: dict[SellRef, str] = {ref: str(ref) for ref in parsed.refs}
        found_emails = self.index.find(parsed.emails)
        for email in parsed.emails:
            entries = found_emails.get(email, [])
            if not entries:
                plan.skip(email, "no Sell lead or contact has this email")
            for entry in entries:
                refs.setdefault(entry.ref, email)
        for tag in parsed.tags:
            entries = self.store.find_by_tag(tag)
            if not entries:
                plan.skip(f"tag:{tag}", "no Sell lead or contact has this tag")
            for entry in entries:
                refs.setdefault(entry.ref, f"tag:{tag}")
        records = self._read_sell(refs)
        for ref, item in refs.items():
            if ref not in records:
                plan.skip(item if item == str(ref) else f"{item} ({ref})", "not found in Sell")
        selection = select_records(list(records.values()))
        for s in selection.skipped:
            plan.skip(s.item, s.reason)
        chosen = list(selection.chosen)
        existing_links = self.store.links_by_sell(r.ref for r in chosen)
        active = {
            r.ref: existing_links[r.ref]
            for r in chosen
            if r.ref in existing_links and existing_links[r.ref].state is LinkState.ACTIVE
        }
        linked_contacts: dict[str, HubSpotContact] = {}
        if active:
            linked_contacts, _gone = self.hs.read_contacts(
                [link.hubspot_id for link in active.values()], self.hubspot_props()
            )
        to_hubspot: list[SellRecord] = []
        for r in chosen:
            link = active.get(r.ref)
            if link is None or link.hubspot_id not in linked_contacts:
                to_hubspot.append(r)  # never linked, or its HubSpot contact is gone (S6)
                continue
            before = len(plan.actions)
            self._plan_link_sync(plan, r, linked_contacts[link.hubspot_id], link)
            if len(plan.actions) == before:
                plan.skip(
                    str(r.ref),
                    f"already linked to HubSpot contact {link.hubspot_id} and up to date",
                )
        emails = [r.email for r in to_hubspot if r.email]
        existing = self.hs.read_contacts_by_email(emails, self.hubspot_props()) if emails else {}
        hub_links = self.store.links_by_hubspot(c.id for c in existing.values())
        creates: list[SellRecord] = []
        for r in to_hubspot:
            contact = existing.get(r.email or "")
            if contact is None:
                creates.append(r)
                continue
            other = hub_links.get(contact.id)
            if other is not None and other.state is LinkState.ACTIVE and other.sell != r.ref:
                plan.skip(
                    str(r.ref), f"HubSpot contact {contact.id} is already linked to {other.sell}"
                )
                continue
            note = "merged with the existing HubSpot contact"
            if other is not None and other.state is LinkState.TOMBSTONED:
                note += " (its tombstone was lifted by this push)"
            self._plan_merge(plan, r, contact, LinkOrigin.PUSH, note)
        self._apply(plan)
        linked_ids = [a.hubspot_id for a in self.report.applied.actions if a.hubspot_id]
        created_ids = self._create_in_hubspot(creates)
        if not self.dry and self.hs_list.accepts_members:
            ids = list(dict.fromkeys(linked_ids + created_ids))
            if ids:
                self.hs.add_list_members(self.hs_list.id, ids)
        if not self.dry:
            self.store.audit(
                AuditEvent(
                    at=self.e.clock.now(),
                    kind="push",
                    subject=", ".join(items)[:500],
                    detail={"counts": dict(self.report.counts())},
                    actor=actor,
                )
            )

    def _index_only(self, kind: RecordKind) -> None:
        cursor = self.store.get_cursor(f"index:{kind}") or self.store.get_cursor(
            sell_cursor_name(kind)
        )
        since = cursor.updated_at if cursor else None
        newest = since
        for page in self.sell.changed_pages(kind, since):
            self.index.add(page)
            newest = max([r.updated_at for r in page] + ([newest] if newest else []))
        if not self.dry and newest is not None:
            self.store.set_cursor(f"index:{kind}", Cursor(updated_at=newest))

    def _create_in_hubspot(self, records: Sequence[SellRecord]) -> list[str]:
        plan = SyncPlan()
        writes: list[ContactWrite] = []
        snapshots: dict[str, tuple[SellRecord, dict[str, FieldSnapshot]]] = {}
        for r in records:
            try:
                properties, snapshot = initial_hubspot_properties(
                    self.table(r.kind), r.values, self.props
                )
            except ValueError as exc:
                self.report.errors.append(Skip(str(r.ref), f"unreadable value: {exc}"))
                continue
            writes.append(ContactWrite(key=str(r.ref), properties=properties))
            snapshots[str(r.ref)] = (r, snapshot)
            plan.add(
                Action(
                    (Outcome.CREATED_IN_HUBSPOT,),
                    r.ref,
                    None,
                    "new HubSpot contact",
                    hubspot_writes=properties,
                    link=Link(
                        sell=r.ref,
                        hubspot_id="",
                        origin=LinkOrigin.PUSH,
                        snapshot=snapshot,
                        email=r.email,
                    ),
                )
            )
        self.report.plan.extend(plan)
        if self.dry or not writes:
            return []
        created: list[str] = []
        duplicates: list[tuple[SellRecord, str]] = []
        planned = {str(a.sell): a for a in plan.actions}
        for result in self.hs.create_contacts(writes):
            record, snapshot = snapshots[result.key]
            if result.duplicate_of:
                duplicates.append((record, result.duplicate_of))
            elif result.error or result.id is None:
                self.report.errors.append(Skip(result.key, f"HubSpot refused: {result.error}"))
            else:
                action = planned[result.key]
                assert action.link is not None
                self._record(
                    replace(
                        action,
                        hubspot_id=result.id,
                        link=replace(action.link, hubspot_id=result.id),
                    )
                )
                created.append(result.id)
        self._flush()
        if duplicates:
            # Created meanwhile (or by an earlier, interrupted push): merge, never duplicate.
            contacts, _ = self.hs.read_contacts([d for _, d in duplicates], self.hubspot_props())
            merges = SyncPlan()
            for record, cid in duplicates:
                if cid in contacts:
                    self._plan_merge(
                        merges,
                        record,
                        contacts[cid],
                        LinkOrigin.PUSH,
                        "merged with the existing HubSpot contact",
                    )
            self._apply(merges)
            created.extend(cid for _, cid in duplicates if cid in contacts)
        return created


def _outcome(
    future: Future[SellRecord | BaseException | None],
) -> SellRecord | BaseException | None:
    try:
        return future.result()
    except BaseException as exc:  # re-raised in order by the caller
        return exc


def _conflict_lines(merge: RecordMerge) -> tuple[str, ...]:
    return tuple(
        f"{d.mapping.label or d.mapping.key}: Sell {d.sell!r} vs HubSpot {d.hubspot!r}"
        for d in merge.conflicts
    )


def _who(action: Action) -> str:
    if action.sell is not None:
        return str(action.sell)
    return f"HubSpot {action.hubspot_id}"


def _id_key(value: str) -> tuple[int, str]:
    return (int(value), value) if value.isdigit() else (0, value)
