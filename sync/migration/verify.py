"""Verifying a migration (M3): read both sides again and name every difference.

Sell is walked page by page as the run walked it; each item's HubSpot record is read back by
its ``zendesk_sell_id`` (or, for a record merged into another's contact, by the id stored when
it moved) and compared field by field with what the rules say it should hold: standard and
custom fields, tags, owner, a note's body, time and author, and each association (a contact's
company, a note's record). The result is stored (``migration_standing`` reads it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sync.domain import RECORD_KINDS
from sync.mapping import FieldMapping, valid_email
from sync.migration.mover import Setup, pages, read_setup
from sync.migration.ports import FoundObject, MigrationHubSpot, MigrationSell
from sync.migration.report import Progress
from sync.migration.rules import (
    SELL_ID_PROPERTY,
    Desired,
    Difference,
    ObjectType,
    association_key,
    differences,
    fit_options,
    note_desired,
    note_target,
    organization_desired,
    organization_from_wire,
    person_desired,
    person_from_wire,
)
from sync.ports import MigrationStore, MigrationVerification

KEPT = 200


@dataclass
class VerifyReport:
    """``checked`` items compared, ``verified`` found equal, ``differences`` every difference
    counted (the first :data:`KEPT` kept in ``details``), ``by_object`` checked/equal counts."""

    verified_at: datetime
    checked: int = 0
    verified: int = 0
    differences: int = 0
    details: list[Difference] = field(default_factory=list)
    by_object: dict[str, list[int]] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return self.differences == 0

    def as_json(self) -> dict[str, object]:
        return {
            "verified_at": self.verified_at.isoformat(),
            "checked": self.checked,
            "verified": self.verified,
            "differences": self.differences,
            "by_object": {k: {"checked": v[0], "equal": v[1]} for k, v in self.by_object.items()},
            "details": [d.row() for d in self.details],
        }


class Verifier:
    """Compares every Sell item with its HubSpot record; ``on_difference`` hears each one
    (the command line writes them to CSV as they come)."""

    def __init__(
        self,
        hubspot: MigrationHubSpot,
        sell: MigrationSell,
        store: MigrationStore,
        *,
        mappings: Sequence[FieldMapping] = (),
        now: Callable[[], datetime],
        on_difference: Callable[[Difference], None] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.hubspot = hubspot
        self.sell = sell
        self.store = store
        self.mappings = list(mappings)
        self.now = now
        self.on_difference = on_difference
        self.on_progress = on_progress
        self.report = VerifyReport(verified_at=now())
        self.done = 0

    def run(self) -> VerifyReport:
        setup = read_setup(self.hubspot, self.sell, self.mappings)
        self._organizations(setup)
        for kind in RECORD_KINDS:
            self._people(kind, setup)
        self._notes(setup)
        report = self.report
        self.store.record_verification(
            MigrationVerification(
                verified_at=report.verified_at,
                checked=report.checked,
                verified=report.verified,
                differences=report.differences,
                details=tuple(d.row() for d in report.details),
            )
        )
        return report

    # ------------------------------------------------------------------ bookkeeping

    def _tally(self, object_type: str, found: Sequence[Difference]) -> None:
        counts = self.report.by_object.setdefault(object_type, [0, 0])
        counts[0] += 1
        self.report.checked += 1
        if not found:
            counts[1] += 1
            self.report.verified += 1
            return
        self.report.differences += len(found)
        for difference in found:
            if len(self.report.details) < KEPT:
                self.report.details.append(difference)
            if self.on_difference is not None:
                self.on_difference(difference)

    def _page_done(self, phase: str, items: int) -> None:
        self.done += items
        if self.on_progress is not None:
            self.on_progress(Progress(phase, self.done))

    def _actual(
        self, object_type: ObjectType, desired: Sequence[Desired]
    ) -> dict[str, FoundObject]:
        """Each item's HubSpot record: by ``zendesk_sell_id``, else by the id stored when it
        moved (a record merged into another's contact)."""
        if not desired:
            return {}
        names = sorted({n for d in desired for n in d.properties} | {SELL_ID_PROPERTY})
        found = self.hubspot.read_by_key(object_type, [d.key for d in desired], names)
        rest = [d.key for d in desired if d.key not in found]
        stored = self.store.moved_ids(rest) if rest else {}
        if stored:
            by_id = self.hubspot.read_by_id(object_type, sorted(set(stored.values())), names)
            for key, hubspot_id in stored.items():
                if hubspot_id in by_id:
                    found[key] = by_id[hubspot_id]
        return found

    def _compare(self, object_type: ObjectType, desired: Sequence[Desired]) -> dict[str, str]:
        actual = self._actual(object_type, desired)
        for d in desired:
            hit = actual.get(d.key)
            expected = d
            if hit is not None and (hit.properties.get(SELL_ID_PROPERTY) or "") != d.key:
                # merged into the contact another Sell record moved to: it keeps its own key
                expected = Desired(
                    d.key,
                    d.object_type,
                    {k: v for k, v in d.properties.items() if k != SELL_ID_PROPERTY},
                )
            self._tally(object_type, differences(expected, None if hit is None else hit.properties))
        return {key: hit.id for key, hit in actual.items()}

    def _check_associations(
        self,
        from_type: ObjectType,
        to_type: ObjectType,
        wanted: Mapping[str, tuple[str | None, str]],
    ) -> None:
        """``wanted``: association key → (from id or None when the item is missing, to id)."""
        ids = sorted({a for a, _ in wanted.values() if a is not None})
        held = self.hubspot.associations(from_type, to_type, ids) if ids else {}
        for key, (source, target) in wanted.items():
            ok = source is not None and target in held.get(source, set())
            found = [] if ok else [Difference(key, f"association to {to_type}", target, None)]
            self._tally("associations", found)

    # ------------------------------------------------------------------ walks

    def _organizations(self, setup: Setup) -> None:
        for raws in pages(self.sell.organizations()):
            desired = [
                fit_options(
                    organization_desired(organization_from_wire(d), setup.owners),
                    setup.props["companies"],
                )
                for d in raws
            ]
            self._compare("companies", desired)
            self._page_done("companies", len(raws))

    def _people(self, kind: str, setup: Setup) -> None:
        reader = self.sell.leads if kind == "lead" else self.sell.contacts
        for raws in pages(reader()):
            persons = [person_from_wire("lead" if kind == "lead" else "contact", d) for d in raws]
            desired: list[Desired] = []
            for person in persons:
                d = fit_options(
                    person_desired(
                        person, setup.fields[person.kind], setup.owners, setup.props["contacts"]
                    ),
                    setup.props["contacts"],
                )
                if person.email is not None and not valid_email(person.email):
                    self._tally(
                        "contacts",
                        [Difference(person.key, "record", "present (invalid e-mail)", None)],
                    )
                    continue
                desired.append(d)
            ids = self._compare("contacts", desired)
            org_keys = [f"organization:{p.organization_id}" for p in persons if p.organization_id]
            companies = self.store.moved_ids(org_keys) if org_keys else {}
            wanted: dict[str, tuple[str | None, str]] = {}
            for person in persons:
                if person.organization_id is None:
                    continue
                company = companies.get(f"organization:{person.organization_id}")
                if company is not None:
                    wanted[association_key(person.key)] = (ids.get(person.key), company)
            self._check_associations("contacts", "companies", wanted)
            self._page_done("contacts", len(raws))

    def _notes(self, setup: Setup) -> None:
        for notes in pages(self.sell.notes()):
            movable = [n for n in notes if note_target(n)]
            desired = [note_desired(n, setup.owners) for n in movable]
            ids = self._compare("notes", desired)
            targets = self.store.moved_ids([k for n in movable for k in note_target(n)])
            to_contacts: dict[str, tuple[str | None, str]] = {}
            to_companies: dict[str, tuple[str | None, str]] = {}
            for note in movable:
                for target in note_target(note):
                    if target in targets:
                        bucket = to_companies if target.startswith("organization:") else to_contacts
                        bucket[association_key(note.key)] = (ids.get(note.key), targets[target])
                        break
            self._check_associations("notes", "contacts", to_contacts)
            self._check_associations("notes", "companies", to_companies)
            self._page_done("notes", len(notes))


def difference_rows(found: Iterable[Difference]) -> list[dict[str, str]]:
    return [d.row() for d in found]
