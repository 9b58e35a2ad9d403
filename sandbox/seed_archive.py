"""The demo seed's Sell history, what a move out of Sell carries besides leads and contacts.

Run by :mod:`sandbox.seed` after the leads and contacts exist, from its own fixed random seed so
the records before it stay exactly as they were (their ``updated_at`` is never touched):

* 5 users (the token's own admin, two reps, one inactive, one invited and not confirmed), every
  lead and contact owned by one of the first four;
* the 6 organizations hold the people whose e-mail is at their domain (``contact_id``), and the
  second belongs to the first (``parent_organization_id``);
* 24 deals on people and organizations (``organization_id`` set as Sell sets it);
* notes by those users on about half the leads and contacts and on most deals: several lines,
  markup-like and non-ASCII text, one long note, some marked important;
* 30 tasks, 20 calls, 10 documents, and the tag definitions every tag in use has.

And in HubSpot (:func:`seed_hubspot_archive`), what a move finds already there: 5 owners (three
of the Sell users, one with its e-mail in other capitals, one archived, one HubSpot-only user),
and 2 companies, one of them with the domain of a Sell organization and its people associated.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.hubspot import HubSpotState
from sandbox.hubspot_crm import COMPANY, CONTACT
from sandbox.sell import SellState
from sandbox.sell_fields import USER_ID, iso_seconds

ARCHIVE_SEED = 20_261_207
ANCHOR_S = 1_748_736_000  # 2025-06-01T00:00:00Z, the demo seed's "now"
DAY_S = 86_400

#: (id, name, email, fields): the Sell users; the first is the token's own (already there).
SELL_USERS: tuple[tuple[int, str, str, dict[str, object]], ...] = (
    (9002, "Marco Ruiz", "marco.ruiz@sandbox.example", {}),
    (9003, "Priya Natarajan", "priya.natarajan@sandbox.example", {"team_name": "Enterprise"}),
    (9004, "Tom Becker", "tom.becker@sandbox.example", {"status": "inactive"}),
    (
        9005,
        "Lena Vogel",
        "lena.vogel@sandbox.example",
        {"invited": True, "confirmed": False, "status": "inactive"},
    ),
)
OWNERS = (USER_ID, 9002, 9003, 9004)
AUTHORS = (USER_ID, 9002, 9002, 9003, 9003, 9004)

NOTE_TEXTS = (
    "Intro call with {first}: interested in the {product} tier, wants pricing by Friday.",
    "Sent the proposal to {first}.\nNext step: a demo with their ops team.",
    "{first} asked about SSO & SCIM — forwarded to solutions engineering.",
    "Left a voicemail. Will try again next week.",
    "Budget approved for Q{quarter}. Procurement contact is {first}'s manager.",
    "Met {first} at the trade show; follow up with the case study <Retail 2025>.",
    "Renewal risk: {first} says the onboarding took too long. *Escalate* to CS.",
    "Price objection (10 % over budget). Offered annual billing instead of monthly.",
    "Café meeting with {first} in the old town — très positive, contract draft to follow.",
    "Notes from QBR:\n- adoption up 18 %\n- wants the API add-on\n- next QBR in {quarter} months",
)
PRODUCTS = ("Starter", "Growth", "Enterprise", "API add-on")
DEAL_STAGES = (1, 2, 3, 4, 5, 6)  # the default pipeline's stages, incoming → won
TASK_TEXTS = ("Call back", "Send contract", "Book a demo", "Check in after onboarding")
DOCUMENTS = ("proposal.pdf", "nda-signed.pdf", "pricing-2025.xlsx", "case-study.pdf")


@dataclass
class ArchiveSummary:
    """What the seed added (for tests and the demo narration)."""

    users: list[int] = field(default_factory=list)
    deals: list[int] = field(default_factory=list)
    notes: int = 0
    members: dict[int, list[int]] = field(default_factory=dict)  # organization -> people


def seed_sell_archive(sell: SellState) -> ArchiveSummary:
    rng = random.Random(ARCHIVE_SEED)
    summary = ArchiveSummary()
    with sell.lock:
        for user_id, name, email, fields in SELL_USERS:
            sell.add_user(name, email, user_id=user_id, created_at="2021-03-01T09:00:00Z", **fields)
        summary.users = sorted(sell.users_by_id)
        for kind in ("lead", "contact"):
            for record in sell.records_by_id[kind].values():
                record["owner_id"] = rng.choice(OWNERS)
        contacts = sell.records_by_id["contact"]
        organizations = [c for c in contacts.values() if c.get("is_organization")]
        domains = {
            (org.get("website") or "").removeprefix("https://"): org["id"] for org in organizations
        }
        for person in contacts.values():
            if person.get("is_organization"):
                continue
            domain = (person.get("email") or "").strip().lower().rpartition("@")[2]
            if domain in domains:
                person["contact_id"] = domains[domain]
                summary.members.setdefault(domains[domain], []).append(person["id"])
        if len(organizations) > 1:
            organizations[1]["parent_organization_id"] = organizations[0]["id"]
        _deals(sell, rng, summary, organizations)
        _notes(sell, rng, summary)
        _activities(sell, rng)
        sell.version += 1
    sell.sync_tags()
    return summary


def _epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def _after(rng: random.Random, iso: str) -> str:
    start = _epoch(iso)
    return iso_seconds(rng.randint(start, max(start, ANCHOR_S - DAY_S)))


def _deals(
    sell: SellState,
    rng: random.Random,
    summary: ArchiveSummary,
    organizations: list[dict[str, Any]],
) -> None:
    people = [c for c in sell.records_by_id["contact"].values() if not c.get("is_organization")]
    targets = organizations + rng.sample(people, 24 - len(organizations))
    for n, contact in enumerate(targets):
        company = contact.get("name") if contact.get("is_organization") else contact["last_name"]
        value: int | str = rng.randrange(2_000, 250_000, 500)
        if n % 5 == 0:
            value = f"{value}.50"  # Sell answers decimal values as strings
        created = _after(rng, contact["created_at"])
        summary.deals.append(
            sell.add_deal(
                f"{company} – {rng.choice(PRODUCTS)}",
                contact["id"],
                value=value,
                currency="EUR" if n % 4 == 3 else "USD",
                owner_id=rng.choice(OWNERS),
                stage_id=rng.choice(DEAL_STAGES),
                hot=rng.random() < 0.25,
                estimated_close_date=f"2025-{rng.randint(6, 12):02d}-{rng.randint(1, 28):02d}",
                tags=sorted(rng.sample(("renewal", "upsell", "new-business", "q3-push"), 1)),
                created_at=created,
                updated_at=_after(rng, created),
            )
        )


def _notes(sell: SellState, rng: random.Random, summary: ArchiveSummary) -> None:
    subjects: list[tuple[str, int, str, str]] = []
    for kind in ("lead", "contact"):
        for record in sell.records_by_id[kind].values():
            first = record.get("first_name") or record.get("name") or "the buyer"
            subjects.append((kind, record["id"], first, record["created_at"]))
    for deal in sell.deals_by_id.values():
        subjects.append(("deal", deal["id"], "the buyer", deal["created_at"]))
    longest = True
    for kind, resource_id, first, created in subjects:
        chance = 0.8 if kind == "deal" else 0.45
        if rng.random() >= chance:
            continue
        for _ in range(rng.randint(1, 3)):
            text = rng.choice(NOTE_TEXTS).format(
                first=first, product=rng.choice(PRODUCTS), quarter=rng.randint(1, 4)
            )
            if longest and kind == "contact":
                text = "\n".join([text] + [f"Call log line {i}: no answer." for i in range(120)])
                longest = False
            at = _after(rng, created)
            sell.add_note(
                kind,
                resource_id,
                text,
                creator_id=rng.choice(AUTHORS),
                is_important=rng.random() < 0.1,
                created_at=at,
                updated_at=_after(rng, at) if rng.random() < 0.2 else at,
            )
            summary.notes += 1


def _in_turn(
    rng: random.Random, count: int, *pools: tuple[str, list[int]]
) -> Iterator[tuple[str, int]]:
    """``count`` records to attach something to: a kind of each pool in turn, a record of it at
    random (drawn as each is asked for, so the draws interleave with the caller's)."""
    for n in range(count):
        kind, ids = pools[n % len(pools)]
        yield kind, rng.choice(ids)


def _activities(sell: SellState, rng: random.Random) -> None:
    leads = sorted(sell.records_by_id["lead"])
    contacts = sorted(sell.records_by_id["contact"])
    for kind, record_id in _in_turn(rng, 30, ("contact", contacts), ("lead", leads)):
        sell.add_task(
            kind,
            record_id,
            rng.choice(TASK_TEXTS),
            owner_id=rng.choice(OWNERS),
            due_date=f"2025-{rng.randint(5, 8):02d}-{rng.randint(1, 28):02d}",
            completed=rng.random() < 0.4,
            created_at=iso_seconds(ANCHOR_S - rng.randint(1, 60) * DAY_S),
        )
    for kind, record_id in _in_turn(rng, 20, ("contact", contacts), ("lead", leads)):
        sell.add_call(
            kind,
            record_id,
            rng.choice(("Discovery call", "Follow-up", "No answer", "Pricing questions")),
            user_id=rng.choice(OWNERS),
            duration=rng.randint(0, 1800),
            incoming=rng.random() < 0.3,
            missed=rng.random() < 0.15,
            made_at=iso_seconds(ANCHOR_S - rng.randint(1, 90) * DAY_S),
        )
    deals = sorted(sell.deals_by_id)
    for kind, record_id in _in_turn(rng, 10, ("contact", contacts), ("deal", deals)):
        sell.add_document(
            kind,
            record_id,
            rng.choice(DOCUMENTS),
            size=rng.randint(20_000, 2_000_000),
            created_at=iso_seconds(ANCHOR_S - rng.randint(1, 90) * DAY_S),
        )


#: (email, first name, last name, archived): the HubSpot owners, in id order.
HUBSPOT_OWNERS = (
    ("sandra.box@sandbox.example", "Sandra", "Box", False),
    ("Marco.Ruiz@Sandbox.example", "Marco", "Ruiz", False),
    ("priya.natarajan@sandbox.example", "Priya", "Natarajan", False),
    ("tom.becker@sandbox.example", "Tom", "Becker", True),
    ("jordan.lee@sandbox.example", "Jordan", "Lee", False),
)
HUBSPOT_COMPANIES = (
    ("Acme Analytics", "acme-analytics.com", "COMPUTER_SOFTWARE"),
    ("Zephyr Labs", "zephyrlabs.io", "BIOTECHNOLOGY"),
)


@dataclass
class HubSpotArchiveSummary:
    owners: list[str] = field(default_factory=list)
    companies: list[str] = field(default_factory=list)


def seed_hubspot_archive(hubspot: HubSpotState) -> HubSpotArchiveSummary:
    summary = HubSpotArchiveSummary()
    with hubspot.lock:
        for email, first, last, archived in HUBSPOT_OWNERS:
            summary.owners.append(
                hubspot.add_owner(email, first, last, archived=archived, teams=["Sales"])
            )
        for name, domain, industry in HUBSPOT_COMPANIES:
            company_id = hubspot.add_company(
                {
                    "name": name,
                    "domain": domain,
                    "industry": industry,
                    "hubspot_owner_id": summary.owners[0],
                }
            )
            summary.companies.append(company_id)
            kind = hubspot.default_type(CONTACT, COMPANY)
            for contact_id in hubspot.contact_ids():
                email = (hubspot.contacts_by_id[contact_id].values.get("email") or "").lower()
                if kind is not None and email.endswith("@" + domain):
                    hubspot.associate((CONTACT, contact_id), (COMPANY, company_id), kind)
    return summary


def owner_counts(sell: SellState) -> Counter[int]:
    """How many leads and contacts each user owns."""
    with sell.lock:
        return Counter(
            r["owner_id"] for kind in ("lead", "contact") for r in sell.records_by_id[kind].values()
        )
