"""Moving a Sell account to HubSpot (M1 plan, M2 run): one pass over Sell, page by page.

The plan and the run are the same walk: :class:`Mover` reads a page of Sell (at most 100
items), reads what HubSpot holds for it, decides per item with the pure rules of
:mod:`sync.migration.rules`, and then, unless it only plans, writes the page (one batch upsert
by ``zendesk_sell_id``, one batch update for records adopted by link, e-mail, domain or name),
associates it and records what moved before reading the next page (the writing and
recording are :class:`~sync.migration.writer.PageWriter`'s). Nothing holds more than a
page of records, apart from the organizations' domains and names (companies are matched by them).

Order: properties (``zendesk_sell_id``, ``sell_tags``, the custom fields' properties), then
organizations → companies, leads and person contacts → contacts (with their company), notes →
notes (on their record). A run killed anywhere and run again upserts by the same keys, so it
creates nothing twice; what a complete run left equal is read, compared and not written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sync.domain import (
    RECORD_KINDS,
    LinkState,
    PropertyInfo,
    PropertyOption,
    RecordKind,
    SellRef,
)
from sync.errors import ConfigError, RunInterrupted
from sync.mapping import FieldMapping, valid_email
from sync.migration.ports import (
    FoundObject,
    MigrationHubSpot,
    MigrationSell,
)
from sync.migration.report import MigrationReport, Progress
from sync.migration.rules import (
    OBJECT_TYPES,
    OWNER_PROPERTY,
    SELL_ID_PROPERTY,
    TAGS_PROPERTY,
    CompanyIndex,
    CustomFieldPlan,
    Decision,
    Desired,
    Note,
    ObjectType,
    Person,
    PropertySpec,
    association_key,
    contact_fields,
    decide,
    fit_options,
    note_desired,
    note_target,
    organization_desired,
    organization_from_wire,
    owner_map,
    person_desired,
    person_from_wire,
    plan_custom_fields,
    sell_id_properties,
    tags_property,
)
from sync.migration.writer import PageWriter
from sync.ports import LinkStore, MigrationStore

__all__ = [
    "MIGRATION_SCOPES",
    "MigrationReport",
    "Mover",
    "Progress",
    "Setup",
    "check_scopes",
    "pages",
    "read_setup",
]

T = TypeVar("T")

PAGE = 100

#: The scopes a HubSpot credential needs to take a Sell account across (checked first); the
#: use case passes those of the endpoint table (``sync.clients.hubspot_scopes``), the same.
MIGRATION_SCOPES = (
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.owners.read",
    "crm.schemas.companies.write",
    "crm.schemas.contacts.write",
)


def _pages(items: Iterable[T], size: int = PAGE) -> Iterator[list[T]]:
    page: list[T] = []
    for item in items:
        page.append(item)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


def check_scopes(hubspot: MigrationHubSpot, required: Sequence[str] = MIGRATION_SCOPES) -> None:
    """Raise :class:`ConfigError` naming the scopes of ``required`` the credential lacks
    (before any write); a credential whose scopes HubSpot does not tell passes (a 403 then
    names the scope)."""
    granted = hubspot.token_scopes()
    if granted is None:
        return
    missing = [s for s in required if s not in granted]
    if missing:
        raise ConfigError(
            "HUBSPOT_ACCESS_TOKEN",
            "lacks the scopes leaving Sell needs: "
            + ", ".join(missing)
            + " (add them to the HubSpot app and run again; nothing was written)",
        )


@dataclass(frozen=True)
class Setup:
    """What every page needs: Sell user → HubSpot owner, the fields each kind sends (with the
    custom fields' plans) and HubSpot's property definitions per object."""

    owners: dict[int, str]
    unmatched_owners: tuple[str, ...]
    custom: tuple[CustomFieldPlan, ...]
    fields: dict[RecordKind, list[FieldMapping]]
    props: dict[ObjectType, dict[str, PropertyInfo]]


def read_setup(
    hubspot: MigrationHubSpot, sell: MigrationSell, mappings: Sequence[FieldMapping]
) -> Setup:
    owners, unmatched = owner_map(sell.users(), hubspot.owners())
    sell_fields = {kind: sell.custom_fields(kind) for kind in RECORD_KINDS}
    custom = plan_custom_fields(sell_fields, mappings)
    return Setup(
        owners=owners,
        unmatched_owners=tuple(unmatched),
        custom=tuple(custom),
        fields={kind: contact_fields(kind, custom) for kind in RECORD_KINDS},
        props={t: hubspot.object_properties(t) for t in OBJECT_TYPES},
    )


def pages(items: Iterable[T], size: int = PAGE) -> Iterator[list[T]]:
    """``items`` in lists of ``size``, one list held at a time."""
    return _pages(items, size)


class Mover:
    """One plan (``dry_run``) or run over the whole account.

    ``store`` records what moved (and is read to find what moved before); ``links`` are the
    sync's links (a linked record updates its own contact); ``mappings`` the usable S13
    mappings; ``now`` stamps the records; ``on_progress`` hears after every page (a run stops
    there when ``should_stop`` says so: :class:`RunInterrupted`).
    """

    def __init__(
        self,
        hubspot: MigrationHubSpot,
        sell: MigrationSell,
        store: MigrationStore,
        *,
        links: LinkStore | None = None,
        mappings: Sequence[FieldMapping] = (),
        now: Callable[[], datetime],
        dry_run: bool,
        on_progress: Callable[[Progress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        total: int | None = None,
        required_scopes: Sequence[str] = MIGRATION_SCOPES,
    ) -> None:
        self.hubspot = hubspot
        self.required_scopes = tuple(required_scopes)
        self.sell = sell
        self.store = store
        self.links = links
        self.mappings = list(mappings)
        self.now = now
        self.dry_run = dry_run
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.total = total
        self.report = MigrationReport(dry_run=dry_run)
        self.writer = PageWriter(hubspot, store, self.report, now=now, dry_run=dry_run)
        self.done = 0
        self.run_id = 0
        self.owners: dict[int, str] = {}
        self.props: dict[ObjectType, dict[str, PropertyInfo]] = {}
        self.key_ready: dict[ObjectType, bool] = {}
        self.fields: dict[RecordKind, list[FieldMapping]] = {}
        self.companies = CompanyIndex()
        self._companies_read = False

    # ------------------------------------------------------------------ the walk

    def run(self) -> MigrationReport:
        check_scopes(self.hubspot, self.required_scopes)
        if not self.dry_run:
            self.run_id = self.store.start_migration_run(self.now())
            self.report.run_id = self.writer.run_id = self.run_id
        try:
            self._prepare()
            self._organizations()
            for kind in RECORD_KINDS:
                self._people(kind)
            self._notes()
            self.report.not_moved.update(self.sell.counts())
        except RunInterrupted:
            self.report.status = "interrupted"
            self._finish()
            raise
        except BaseException:
            self.report.status = "failed"
            self._finish()
            raise
        self._finish()
        return self.report

    def _finish(self) -> None:
        if not self.dry_run and self.run_id:
            counts = {**self.report.counts, "moved": self.report.moved, "walked": self.done}
            self.store.finish_migration_run(self.run_id, self.now(), self.report.status, counts)

    def _page_done(self, phase: str, items: int) -> None:
        self.done += items
        self.report.walked = self.done
        if self.on_progress is not None:
            self.on_progress(Progress(phase, self.done, self.total))
        if self.should_stop is not None and self.should_stop():
            raise RunInterrupted("stopped on request")

    # ------------------------------------------------------------------ properties and owners

    def _prepare(self) -> None:
        setup = read_setup(self.hubspot, self.sell, self.mappings)
        self.owners, self.fields, self.props = setup.owners, setup.fields, setup.props
        self.report.unassigned = list(setup.unmatched_owners)
        custom = setup.custom
        needed: list[PropertySpec] = sell_id_properties()
        needed += _new_properties(custom)
        held = {t: SELL_ID_PROPERTY in self.props[t] for t in OBJECT_TYPES}
        for spec in needed:
            self._ensure_property(spec)
        for object_type in OBJECT_TYPES:
            # a planned property does not exist yet: nothing can be found by it
            self.key_ready[object_type] = held[object_type] or not self.dry_run

    def _ensure_property(self, spec: PropertySpec) -> None:
        """Create ``spec`` when HubSpot lacks it (planned only, when planning); give
        ``sell_tags`` the tags it lacks. The definitions kept here follow, so later pages
        need not read them again."""
        existing = self.props[spec.object_type].get(spec.name)
        if existing is None:
            self.report.new_properties.append(f"{spec.object_type}.{spec.name}")
            if not self.dry_run:
                self.hubspot.create_property(spec)
            self.props[spec.object_type][spec.name] = _info(spec, spec.options)
            return
        if spec.name == TAGS_PROPERTY:
            have = {o.value for o in existing.options}
            new = set(spec.options) - have
            if new:
                self.report.count("tags.new", len(new), sample=sorted(new)[0])
                merged = sorted(have | new, key=str.lower)
                if not self.dry_run:
                    self.hubspot.set_options(spec.object_type, spec.name, merged)
                self.props[spec.object_type][spec.name] = _info(spec, merged)

    def _ensure_tags(self, persons: Sequence[Person]) -> None:
        """``sell_tags`` offers every tag of the page before the page is written (tags are
        options of a multiple-checkbox property: HubSpot refuses a value that is not one)."""
        tags = {t.strip() for p in persons for t in p.tags if t.strip()}
        if tags or TAGS_PROPERTY in self.props["contacts"]:
            self._ensure_property(tags_property(tags))

    # ------------------------------------------------------------------ reading HubSpot

    def _existing(
        self, object_type: ObjectType, desired: Sequence[Desired]
    ) -> dict[str, FoundObject]:
        if not desired or not self.key_ready.get(object_type):
            return {}
        names = sorted({n for d in desired for n in d.properties} | {OWNER_PROPERTY})
        return self.hubspot.read_by_key(object_type, [d.key for d in desired], names)

    def _read_companies(self) -> None:
        if self._companies_read:
            return
        self._companies_read = True
        for page in self.hubspot.object_pages("companies", ["domain", "name", SELL_ID_PROPERTY]):
            for company in page:
                self.companies.add(company.id, company.properties)

    # ------------------------------------------------------------------ deciding and writing

    # ------------------------------------------------------------------ organizations

    def _organizations(self) -> None:
        for raws in _pages(self.sell.organizations()):
            orgs = [organization_from_wire(d) for d in raws]
            desired = [
                fit_options(organization_desired(o, self.owners), self.props["companies"])
                for o in orgs
            ]
            self._unassigned(desired)
            found = self._existing("companies", desired)
            decisions: list[Decision] = []
            pending = [d for d in desired if d.key not in found]
            if pending:
                self._read_companies()
            matched_ids = {d.key: cid for d in pending if (cid := self.companies.match(d))}
            matched = self.hubspot.read_by_id(
                "companies", sorted(set(matched_ids.values())), _names(desired)
            )
            for d in desired:
                hit = found.get(d.key)
                if hit is None and d.key in matched_ids:
                    hit = matched.get(matched_ids[d.key])
                    if hit is not None and _carries_other_key(hit, d.key):
                        d = _without_key(d)
                decisions.append(decide(d, None if hit is None else hit.properties, _id(hit)))
            placed, _ = self.writer.apply("companies", "companies", decisions)
            for d in desired:
                if d.key in placed:
                    self.companies.add(placed[d.key], d.properties)
            self._page_done("companies", len(raws))

    # ------------------------------------------------------------------ people

    def _people(self, kind: RecordKind) -> None:
        reader = self.sell.leads if kind == "lead" else self.sell.contacts
        for raws in _pages(reader()):
            persons = [person_from_wire(kind, d) for d in raws]
            movable: list[tuple[Person, Desired]] = []
            for person in persons:
                desired = fit_options(
                    person_desired(person, self.fields[kind], self.owners, self.props["contacts"]),
                    self.props["contacts"],
                )
                if person.email is not None and not valid_email(person.email):
                    self.writer.refuse_now(person.key, f"invalid email {person.email!r}")
                elif desired.unusable:
                    reasons = "; ".join(f"{k}: {v}" for k, v in sorted(desired.unusable.items()))
                    self.writer.refuse_now(person.key, f"unreadable value ({reasons})")
                else:
                    movable.append((person, desired))
                    if person.email is None:
                        self.report.count("contacts.without_email")
            self._unassigned([d for _, d in movable])
            self._ensure_tags([p for p, _ in movable])
            placed = self._people_page(movable)
            self._associate_people([p for p, _ in movable], placed)
            self._page_done("contacts", len(raws))

    def _people_page(self, movable: Sequence[tuple[Person, Desired]]) -> dict[str, str]:
        desired = [d for _, d in movable]
        found = self._existing("contacts", desired)
        names = _names(desired)
        pending = [(p, d) for p, d in movable if d.key not in found]
        linked: dict[str, str] = {}
        if pending and self.links is not None:
            refs = {SellRef(p.kind, p.id): d.key for p, d in pending}
            for ref, link in self.links.links_by_sell(refs).items():
                if link.state is LinkState.ACTIVE:
                    linked[refs[ref]] = link.hubspot_id
        by_id = self.hubspot.read_by_id("contacts", sorted(set(linked.values())), names)
        emails = [p.email for p, d in pending if d.key not in linked and p.email]
        by_email = self.hubspot.read_by_email(emails, names) if emails else {}
        decisions: list[Decision] = []
        deferred: list[Desired] = []
        claimed: set[str] = set()
        for person, d in movable:
            hit = found.get(d.key)
            if hit is None and d.key in linked:
                hit = by_id.get(linked[d.key])
            if hit is None and person.email:
                hit = by_email.get(person.email)
                if person.email in claimed:  # another record of this page takes the contact
                    if hit is None:
                        deferred.append(d)  # it is created first; this one merges into it
                        continue
                    d = _without_key(d)
                claimed.add(person.email)
            if hit is not None and _carries_other_key(hit, d.key):
                d = _without_key(d)  # the same person moved as another record: merge into it
            decisions.append(decide(d, None if hit is None else hit.properties, _id(hit)))
        placed, duplicates = self.writer.apply("contacts", "contacts", decisions)
        if deferred or duplicates:
            placed.update(self._merge(deferred, duplicates, {d.key: d for d in desired}))
        return placed

    def _merge(
        self,
        deferred: Sequence[Desired],
        duplicates: Mapping[str, str],
        desired: Mapping[str, Desired],
    ) -> dict[str, str]:
        """Records whose e-mail another contact holds (one this page just made, or one HubSpot
        named when it refused a create): merged into that contact per S8."""
        if self.dry_run:
            for d in deferred:
                self.report.count("contacts.merge", sample=d.key)
            return {}
        names = _names([*deferred, *(desired[k] for k in duplicates)])
        by_email = self.hubspot.read_by_email([d.email for d in deferred if d.email], names)
        by_id = self.hubspot.read_by_id("contacts", sorted(set(duplicates.values())), names)
        decisions: list[Decision] = []
        for d in [*deferred, *(desired[k] for k in duplicates)]:
            hit = (
                by_id.get(duplicates[d.key]) if d.key in duplicates else by_email.get(d.email or "")
            )
            if hit is None:
                self.writer.refuse_now(
                    d.key, "its e-mail belongs to a contact HubSpot did not return"
                )
                continue
            if _carries_other_key(hit, d.key):
                d = _without_key(d)
            decisions.append(decide(d, hit.properties, hit.id))
        placed, again = self.writer.apply("contacts", "contacts", decisions)
        for key in again:
            self.writer.refuse_now(key, "HubSpot refused it: a contact already holds its e-mail")
        return placed

    def _associate_people(self, persons: Sequence[Person], placed: Mapping[str, str]) -> None:
        wanted: dict[str, tuple[str, str]] = {}
        org_keys = [f"organization:{p.organization_id}" for p in persons if p.organization_id]
        org_ids = self.store.moved_ids(org_keys) if org_keys else {}
        for person in persons:
            contact_id = placed.get(person.key)
            company_id: str | None = None
            if person.organization_id is not None:
                company_id = org_ids.get(f"organization:{person.organization_id}")
                if company_id is None and self.dry_run:
                    company_id = "planned"
            elif person.organization_name:
                self._read_companies()
                company_id = self.companies.company_named(person.organization_name)
            if company_id is None:
                continue
            if contact_id is None:
                if self.dry_run:
                    self.report.count("associations.create")
                continue
            wanted[association_key(person.key)] = (contact_id, company_id)
        self.writer.associate("contacts", "companies", wanted)

    # ------------------------------------------------------------------ notes

    def _notes(self) -> None:
        for notes in _pages(self.sell.notes()):
            movable: list[tuple[Note, Desired]] = []
            targets = {n.key: note_target(n) for n in notes}
            stored = self.store.moved_ids([k for ks in targets.values() for k in ks])
            for note in notes:
                if not targets[note.key]:
                    self.report.not_moved[f"notes on {note.resource_type or 'other'}s"] = (
                        self.report.not_moved.get(f"notes on {note.resource_type or 'other'}s", 0)
                        + 1
                    )
                    continue
                if not self.dry_run and not any(k in stored for k in targets[note.key]):
                    self.writer.refuse_now(
                        note.key, f"its record ({targets[note.key][0]}) was not moved"
                    )
                    continue
                movable.append((note, note_desired(note, self.owners)))
            desired = [d for _, d in movable]
            self._unassigned(desired)
            found = self._existing("notes", desired)
            decisions = [
                decide(d, None if (h := found.get(d.key)) is None else h.properties, _id(h))
                for d in desired
            ]
            placed, _ = self.writer.apply("notes", "notes", decisions)
            to_contacts: dict[str, tuple[str, str]] = {}
            to_companies: dict[str, tuple[str, str]] = {}
            for note, d in movable:
                note_id = placed.get(d.key)
                for target in targets[note.key]:
                    if target in stored and note_id is not None:
                        pair = (note_id, stored[target])
                        if target.startswith("organization:"):
                            to_companies[association_key(d.key)] = pair
                        else:
                            to_contacts[association_key(d.key)] = pair
                        break
                else:
                    if self.dry_run:
                        self.report.count("associations.create")
            self.writer.associate("notes", "contacts", to_contacts)
            self.writer.associate("notes", "companies", to_companies)
            self._page_done("notes", len(notes))

    def _unassigned(self, desired: Iterable[Desired]) -> None:
        """Count the items moving without their owner, and the values left out because the
        HubSpot enumeration has no such option."""
        for d in desired:
            if d.unassigned:
                self.report.count(f"{d.object_type}.unassigned", sample=d.key)
            for name, value in sorted(d.dropped.items()):
                self.report.count("values_without_option", sample=f"{d.key} {name}={value!r}")


def _info(spec: PropertySpec, options: Iterable[str]) -> PropertyInfo:
    return PropertyInfo(
        spec.name,
        spec.label,
        spec.type,
        spec.field_type,
        tuple(PropertyOption(o, o) for o in options),
    )


def _names(desired: Sequence[Desired]) -> list[str]:
    return sorted({n for d in desired for n in d.properties} | {OWNER_PROPERTY, SELL_ID_PROPERTY})


def _id(found: FoundObject | None) -> str | None:
    return None if found is None else found.id


def _carries_other_key(found: FoundObject, key: str) -> bool:
    other = (found.properties.get(SELL_ID_PROPERTY) or "").strip()
    return bool(other) and other != key


def _without_key(desired: Desired) -> Desired:
    """``desired`` without its ``zendesk_sell_id``: merged into a record another Sell item
    moved to (that record keeps its own key)."""
    props = {k: v for k, v in desired.properties.items() if k != SELL_ID_PROPERTY}
    return Desired(
        desired.key,
        desired.object_type,
        props,
        desired.unusable,
        desired.unassigned,
        desired.email,
    )


def _new_properties(custom: Sequence[CustomFieldPlan]) -> list[PropertySpec]:
    seen: set[str] = set()
    out: list[PropertySpec] = []
    for plan in custom:
        spec = plan.new_property
        if spec is not None and spec.name not in seen:
            seen.add(spec.name)
            out.append(spec)
    return out
