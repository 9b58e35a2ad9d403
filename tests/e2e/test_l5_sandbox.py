"""L5 end to end over the sandbox servers: for a world holding every kind of record a team has
(qualifying members, members without an email, members below the threshold, contacts outside the
list, linked pairs, a lead converted in Sell, contacts merged in HubSpot, a Sell record deleted),
what ``status ITEM`` says of each before a run is what that run then does, through the real
clients, the SQLite store and the engine. The checks are the property test's
(``tests/unit/test_l5_explanations_agree.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sandbox import Sandbox
from sync.domain import SellRef
from sync.ports import Store
from sync.service import SyncService, Verdict
from tests.e2e.conftest import engine_over
from tests.unit.test_l5_explanations_agree import RunFacts, check_contact, check_record


@dataclass
class _World:
    """What the property test's checks read of a world: the store."""

    store: Store


def test_l5_status_of_every_record_equals_what_the_next_run_does(
    sb: Sandbox, tmp_path: Path
) -> None:
    sb.reset("empty")
    hub_state, sell_state = sb.hubspot, sb.sell
    list_id = hub_state.create_list("Sell sync", "MANUAL")

    def contact(email: str | None, score: int, *, member: bool = True) -> str:
        props = {"lastname": "Lovelace", "hubspotscore": str(score)}
        if email:
            props["email"] = email
        cid = hub_state.add_contact(props)
        if member:
            hub_state.add_to_list(list_id, [cid])
        return cid

    with engine_over(sb, f"sqlite:///{tmp_path}/l5.db", list_id) as engine:
        store = engine.store
        service = SyncService(engine)
        # linked by a first run: a lead to convert, a pair to merge away, a pair to delete
        converted = contact("bob@example.com", 80)
        merged_away = contact("cy@example.com", 80)
        deleted = contact("dee@example.com", 80)
        held_a, held_b = contact("eve@example.com", 80), contact("fay@example.com", 80)
        lead = sell_state.add_record("lead", {"email": "bob@example.com", "last_name": "B"})
        doomed = sell_state.add_record("contact", {"email": "dee@example.com", "last_name": "D"})
        assert engine.run(trigger="test").failure is None
        # then, before the run status predicts:
        no_email = contact(None, 80)  # qualifies, and every run skips it: "no email"
        qualifies = contact("ada@example.com", 80)
        sell_state.add_record("lead", {"email": "ada@example.com", "last_name": "A"})
        low = contact("gus@example.com", 10)
        outside = contact("hal@example.com", 90, member=False)
        survivor = contact("cy.l@example.com", 10, member=False)
        sell_state.convert_lead(lead)
        hub_state.merge_contacts(survivor, merged_away)  # the link moves to the survivor
        hub_state.merge_contacts(held_a, held_b)  # two linked contacts: a link conflict
        sell_state.delete_record("contact", doomed)
        hub_state.update_contact(deleted, {"jobtitle": "Touched"})  # the run reads the pair

        contact_ids = [
            converted, merged_away, deleted, held_a, held_b, no_email, qualifies, low, outside,
            survivor,
        ]  # fmt: skip
        refs = [SellRef("lead", lead), SellRef("contact", doomed)]
        refs += [SellRef(kind, int(r["id"])) for kind in ("lead", "contact")
                 for r in sell_state.records(kind)]  # fmt: skip
        refs = list(dict.fromkeys(refs))
        said_h = {cid: service.explain(f"hubspot:{cid}") for cid in contact_ids}
        said_s = {ref: service.explain(str(ref)) for ref in refs}
        assert said_h[no_email].kind is Verdict.SKIPPED and said_h[no_email].skip == "no email"
        assert said_h[qualifies].kind is Verdict.QUALIFIES
        assert said_h[low].kind is Verdict.NOT_QUALIFIED
        assert said_h[outside].kind is Verdict.NOT_QUALIFIED
        assert said_h[merged_away].kind is Verdict.ABSORBED
        assert said_h[held_b].kind is Verdict.HELD
        assert said_s[SellRef("lead", lead)].missing == SellRef("lead", lead)

        links_h = store.links_by_hubspot(contact_ids)
        links_s = store.links_by_sell(said_s)
        report = engine.run(trigger="test", keep_actions=True)
        assert report.failure is None, report.failure
        run = RunFacts(report, dict(links_h), dict(links_s), _World(store))  # type: ignore[arg-type]
        verdicts = {cid: exp.kind for cid, exp in said_h.items()}
        for cid, exp in said_h.items():
            check_contact(cid, exp, run, verdicts)
        for ref, exp in said_s.items():
            check_record(ref, exp, run, verdicts)
        counts = report.counts()
        assert counts["converted"] == 1 and counts["hubspot_merged"] == 1
        assert counts["link_conflict"] == 1 and counts["tombstoned"] == 1
