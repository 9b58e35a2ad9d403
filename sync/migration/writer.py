"""Writing a page of the move out of Sell: the decisions of a page, its associations and its
refusals, each recorded as moved (or refused) in the migration's store before the next page.

:class:`PageWriter` is the only part of the move that writes to HubSpot or records what moved;
when planning (``dry_run``) it counts what it would write and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from sync.migration.ports import MigrationHubSpot, ObjectWrite, ObjectWriteResult
from sync.migration.report import KEPT, MigrationReport
from sync.migration.rules import Decision, ObjectType
from sync.ports import MigrationRefusal, MigrationStore, MovedItem


class PageWriter:
    """Writes pages to ``hubspot`` and records them in ``store`` under ``run_id`` (set once the
    run is started), counting in ``report``; ``dry_run`` counts only."""

    def __init__(
        self,
        hubspot: MigrationHubSpot,
        store: MigrationStore,
        report: MigrationReport,
        *,
        now: Callable[[], datetime],
        dry_run: bool,
    ) -> None:
        self.hubspot = hubspot
        self.store = store
        self.report = report
        self.now = now
        self.dry_run = dry_run
        self.run_id = 0

    def apply(
        self,
        object_type: ObjectType,
        phase: str,
        decisions: Sequence[Decision],
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Write ``decisions`` (unless planning). Answers the key → HubSpot id of each item now
        in HubSpot (equal, written, or, when planning, found), and the key → existing contact
        of each create HubSpot refused because that contact holds its e-mail already."""
        placed: dict[str, str] = {}
        upserts: list[ObjectWrite] = []
        updates: list[ObjectWrite] = []
        for decision in decisions:
            self.report.count(f"{phase}.{decision.action}", sample=decision.key)
            for conflict in decision.conflicts:
                self.report.count("conflicts")
                if len(self.report.conflicts) < KEPT:
                    self.report.conflicts.append(conflict)
            if decision.action == "unchanged":
                assert decision.hubspot_id is not None
                placed[decision.key] = decision.hubspot_id
            elif decision.action in ("create", "update"):
                upserts.append(ObjectWrite(decision.key, decision.properties))
            else:  # adopt or merge: the record is found, by its id
                updates.append(ObjectWrite(decision.key, decision.properties, decision.hubspot_id))
        if self.dry_run:
            for decision in decisions:
                if decision.hubspot_id:
                    placed.setdefault(decision.key, decision.hubspot_id)
            return placed, {}
        results: list[ObjectWriteResult] = []
        if upserts:
            results += self.hubspot.upsert(object_type, upserts)
        for round_ in _unique_id_rounds(updates):  # HubSpot refuses one id twice in a batch
            results += self.hubspot.update(object_type, round_)
        refusals: list[MigrationRefusal] = []
        duplicates: dict[str, str] = {}
        for result in results:
            if result.id is not None and result.error is None:
                placed[result.key] = result.id
            elif result.duplicate_of and object_type == "contacts":
                duplicates[result.key] = result.duplicate_of
                self.report.count(f"{phase}.create", -1)
            else:
                refusals.append(self.report.refuse(result.key, result.error or "not written"))
        self.store.record_moved(
            self.run_id,
            [MovedItem(k, object_type, v) for k, v in placed.items()],
            self.now(),
        )
        self.store.record_refusals(self.run_id, refusals, self.now())
        return placed, duplicates

    def refuse_now(self, key: str, reason: str) -> None:
        refusal = self.report.refuse(key, reason)
        if not self.dry_run:
            self.store.record_refusals(self.run_id, [refusal], self.now())

    def associate(
        self, from_type: ObjectType, to_type: ObjectType, wanted: Mapping[str, tuple[str, str]]
    ) -> None:
        """Make the associations not recorded as made (by ``assoc:<key>``)."""
        if not wanted:
            return
        done = self.store.moved_ids(list(wanted))
        todo = {k: pair for k, pair in wanted.items() if done.get(k) != f"{pair[0]}>{pair[1]}"}
        self.report.count("associations.unchanged", len(wanted) - len(todo))
        if not todo:
            return
        self.report.count("associations.create", len(todo))
        if self.dry_run:
            return
        results = self.hubspot.associate(from_type, to_type, list(todo.values()))
        made: list[MovedItem] = []
        refusals: list[MigrationRefusal] = []
        for key, pair in todo.items():
            error = results.get(pair)
            if error is None:
                made.append(MovedItem(key, "associations", f"{pair[0]}>{pair[1]}"))
            else:
                refusals.append(self.report.refuse(key, f"association refused: {error}"))
        self.store.record_moved(self.run_id, made, self.now())
        self.store.record_refusals(self.run_id, refusals, self.now())


def _unique_id_rounds(writes: Sequence[ObjectWrite]) -> list[list[ObjectWrite]]:
    """``writes`` in rounds where no record id appears twice (two Sell records merged into one
    contact are written one after the other)."""
    rounds: list[list[ObjectWrite]] = []
    ids: list[set[str | None]] = []
    for write in writes:
        for round_, held in zip(rounds, ids, strict=True):
            if write.id not in held:
                round_.append(write)
                held.add(write.id)
                break
        else:
            rounds.append([write])
            ids.append({write.id})
    return rounds
