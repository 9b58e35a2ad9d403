"""Lifting what a deletion left on a link: one tombstone (S5), one "deleted in HubSpot" mark
(S6), or everything one run marked so (an answer that lied, undone in one step).

* ``restore ITEM`` lifts a tombstone: the link is removed, so from the next sync the contact is
  treated as never linked (and linked again to its Sell record when that still exists). On a
  link marked deleted in HubSpot it lifts the mark: the link is active again.
* ``restore --run N`` re-activates every link run N tombstoned or marked deleted in HubSpot and
  still holds as that run left it (a link changed since, by a restore, a HubSpot contact merge
  or a later run, is left alone and counted). The run's own audit events name the links, so
  nothing else is guessed. A record that really was deleted is found so again by a later run,
  with proof, and marked again.

Every lift is audited as ``restored`` by the manager who asked, with the run and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sync.domain import Link, LinkState, Outcome, SellRef
from sync.ports import AuditEvent, AuditLog, Clock, LinkStore
from sync.push import parse_items
from sync.usecases.common import Actor, Audit, Refused

#: What each audited outcome left on a link, and so what ``restore --run`` lifts.
LIFTED: dict[str, LinkState] = {
    Outcome.TOMBSTONED.value: LinkState.TOMBSTONED,
    Outcome.HUBSPOT_DELETED.value: LinkState.HUBSPOT_DELETED,
}
RESTORED = "restored"


@dataclass(frozen=True)
class RunRestored:
    """What ``restore --run`` lifted of run ``run_id``'s marks."""

    run_id: int
    tombstones: int = 0  # links it had tombstoned (S5), active again
    hubspot_marks: int = 0  # links it had marked deleted in HubSpot (S6), active again
    changed_since: int = 0  # links it marked that something changed since: left as they are

    @property
    def lifted(self) -> int:
        return self.tombstones + self.hubspot_marks


def _pair(subject: str) -> tuple[SellRef, str] | None:
    """The (Sell record, HubSpot id) of an audit subject ``lead:12|511``; None for others."""
    sell, sep, hubspot_id = subject.partition("|")
    try:
        return (SellRef.parse(sell), hubspot_id) if sep and hubspot_id else None
    except ValueError:
        return None


class Tombstones:
    def __init__(self, links: LinkStore, audit_log: AuditLog, clock: Clock) -> None:
        self.links = links
        self.audit_log = audit_log
        self.clock = clock
        self.audit = Audit(audit_log, clock)

    def restore(self, item: str, *, actor: Actor) -> Link:
        """Lift ITEM's tombstone (from the next sync the contact is treated as never linked) or
        its "deleted in HubSpot" mark (the link is active again); → the link as it was."""
        if not actor.is_manager:
            raise Refused("only managers can restore deleted records")
        link = self._marked(item.strip())
        if link.state is LinkState.TOMBSTONED:
            self.links.delete_link(link.sell)
        else:
            self.links.save_link(replace(link, state=LinkState.ACTIVE))
        self.audit(RESTORED, f"{link.sell}|{link.hubspot_id}", actor, {"was": link.state.value})
        return link

    def restore_run(self, run_id: int, *, actor: Actor, reason: str = "") -> RunRestored:
        """Re-activate every link run ``run_id`` tombstoned or marked deleted in HubSpot."""
        if not actor.is_manager:
            raise Refused("only managers can restore deleted records")
        marked: dict[SellRef, tuple[str, LinkState]] = {}
        for event in self.audit_log.audit_events(run_id=run_id):
            pair = _pair(event.subject) if event.kind in LIFTED else None
            if pair is not None:
                marked[pair[0]] = (pair[1], LIFTED[event.kind])
        if not marked:
            raise Refused(
                f"run {run_id} tombstoned nothing and marked nothing deleted in HubSpot; "
                "`sellsync runs` lists the runs"
            )
        links = self.links.links_by_sell(marked)
        lifted: list[tuple[Link, LinkState]] = []
        for ref, (hubspot_id, state) in marked.items():
            link = links.get(ref)
            if link is not None and link.state is state and link.hubspot_id == hubspot_id:
                lifted.append((link, state))
        now = self.clock.now()
        detail: dict[str, object] = {"run": run_id, **({"reason": reason} if reason else {})}
        self.audit_log.audit_many(
            [
                AuditEvent(
                    at=now,
                    kind=RESTORED,
                    subject=f"{link.sell}|{link.hubspot_id}",
                    detail={**detail, "was": state.value},
                    actor=actor.id,
                )
                for link, state in lifted
            ]
        )
        self.links.save_links([replace(link, state=LinkState.ACTIVE) for link, _ in lifted])
        return RunRestored(
            run_id,
            tombstones=sum(1 for _, s in lifted if s is LinkState.TOMBSTONED),
            hubspot_marks=sum(1 for _, s in lifted if s is LinkState.HUBSPOT_DELETED),
            changed_since=len(marked) - len(lifted),
        )

    def _marked(self, item: str) -> Link:
        store = self.links
        candidates: list[Link] = []
        if item.lower().startswith("hubspot:"):
            hub = item.split(":", 1)[1].strip()
            candidates = list(store.links_by_hubspot([hub]).values())
        else:
            parsed = parse_items([item])
            if parsed.invalid or parsed.tags:
                raise Refused(
                    "restore takes lead:ID, contact:ID, a Sell URL, an email or hubspot:ID"
                )
            if parsed.refs:
                candidates = list(store.links_by_sell(parsed.refs).values())
            for email in parsed.emails:
                candidates += [
                    link
                    for batch in store.iter_links()
                    for link in batch
                    if link.email == email and link.state in MARKS
                ]
        marked = [link for link in candidates if link.state in MARKS]
        if not marked:
            raise Refused(f"{item} has no tombstone or 'deleted in HubSpot' mark to lift")
        return marked[0]


MARKS = (LinkState.TOMBSTONED, LinkState.HUBSPOT_DELETED)
