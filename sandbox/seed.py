"""Seed data for the stand-in servers: ``empty`` and ``demo``.

``empty`` holds only what every account has: HubSpot's standard contact properties and portal,
Sell's own user (``/v2/users/self``). ``demo`` adds, from a fixed random seed (so every run holds
the same records, ids included):

* HubSpot: a MANUAL list "Sell sync" (its id is ``hubspot.demo_list_id``) of 300 contacts with
  ``hubspotscore`` spread over 0-100 (about 1 in 10 blank), lifecycle stages, original sources
  and lead statuses; 40 more contacts outside the list, 3 archived ones; a DYNAMIC list and a
  second MANUAL list; a custom property of every type.
* Sell: 150 leads and 80 contacts (6 organizations, some records without an email); 60 of them
  share an email with a list member, written with other capitalisation or stray whitespace,
  with conflicting values, or with blanks on one side; 3 emails held by both a lead and a
  contact; the ``HubSpot ...`` custom fields of SPEC S10, fields matching the HubSpot custom
  properties by type (and "Preferred contact method", a ``string`` where S13 wants a ``list``,
  to show a refused mapping), and three lead sources; then the history a move out of Sell
  carries (users, organizations with their people, deals, notes, tasks, calls, documents, tags:
  :mod:`sandbox.seed_archive`).
* Slack: a rep, two managers and the user group ``S0MANAGERS``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.hubspot import HubSpotState
from sandbox.seed_archive import (
    ArchiveSummary,
    HubSpotArchiveSummary,
    seed_hubspot_archive,
    seed_sell_archive,
)
from sandbox.sell import SellState
from sandbox.sell_fields import USER_ID, iso_seconds
from sandbox.slack import SlackState

SEEDS = ("empty", "demo")
RANDOM_SEED = 20_260_301
ANCHOR_S = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp())
DAY_S = 86_400

FIRST_NAMES = (
    "Ada",
    "Alan",
    "Amara",
    "Anders",
    "Anika",
    "Arjun",
    "Aya",
    "Beatriz",
    "Bram",
    "Camila",
    "Chen",
    "Chloe",
    "Dario",
    "Diego",
    "Elena",
    "Emeka",
    "Emma",
    "Farah",
    "Felix",
    "Freya",
    "Gabriel",
    "Hana",
    "Hugo",
    "Ines",
    "Isaac",
    "Ivana",
    "Jamal",
    "Jonas",
    "Julia",
    "Kai",
    "Kenji",
    "Lars",
    "Layla",
    "Leo",
    "Lina",
    "Luca",
    "Maya",
    "Mateo",
    "Mei",
    "Mila",
    "Nadia",
    "Noah",
    "Nora",
    "Omar",
    "Oskar",
    "Paula",
    "Priya",
    "Quinn",
    "Rafael",
    "Rosa",
    "Sami",
    "Sara",
    "Sofia",
    "Tariq",
    "Theo",
    "Uma",
    "Valentina",
    "Wei",
    "Yara",
    "Zoe",
)
LAST_NAMES = (
    "Abara",
    "Andersen",
    "Bauer",
    "Becker",
    "Bianchi",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fernandes",
    "Fischer",
    "Garcia",
    "Haddad",
    "Hansen",
    "Ibrahim",
    "Ito",
    "Jansen",
    "Kim",
    "Kowalski",
    "Larsen",
    "Lopez",
    "Martin",
    "Moreau",
    "Muller",
    "Nakamura",
    "Nguyen",
    "Novak",
    "Okafor",
    "Olsen",
    "Park",
    "Patel",
    "Perez",
    "Petrov",
    "Quinteros",
    "Rossi",
    "Santos",
    "Schmidt",
    "Silva",
    "Singh",
    "Suzuki",
    "Tanaka",
    "Torres",
    "Varga",
    "Vogel",
    "Wagner",
    "Weber",
    "Wong",
    "Yilmaz",
    "Young",
    "Zhang",
    "Zimmermann",
)
COMPANIES = (
    ("Acme Analytics", "acme-analytics.com", "Software"),
    ("Blue Harbor Logistics", "blueharbor.io", "Logistics"),
    ("Cedar Health", "cedarhealth.org", "Healthcare"),
    ("Delta Robotics", "deltarobotics.com", "Manufacturing"),
    ("Evergreen Foods", "evergreenfoods.co", "Food & Beverage"),
    ("Fjord Capital", "fjordcapital.com", "Financial Services"),
    ("Granite Build", "granitebuild.com", "Construction"),
    ("Helix Bio", "helixbio.com", "Biotechnology"),
    ("Iris Media", "irismedia.tv", "Media"),
    ("Juniper Retail", "juniper-retail.com", "Retail"),
    ("Kestrel Air", "kestrelair.aero", "Aviation"),
    ("Lumen Energy", "lumenenergy.com", "Energy"),
    ("Meridian Legal", "meridianlegal.com", "Legal"),
    ("Nimbus Cloud", "nimbuscloud.dev", "Software"),
    ("Orchid Hotels", "orchidhotels.com", "Hospitality"),
    ("Pioneer Schools", "pioneerschools.edu", "Education"),
    ("Quartz Insurance", "quartzinsure.com", "Insurance"),
    ("Redwood Realty", "redwoodrealty.com", "Real Estate"),
    ("Summit Telecom", "summittel.net", "Telecommunications"),
    ("Tidal Marine", "tidalmarine.com", "Maritime"),
)
CITIES = (
    ("Austin", "TX", "78701", "United States"),
    ("Boston", "MA", "02108", "United States"),
    ("Chicago", "IL", "60601", "United States"),
    ("Denver", "CO", "80202", "United States"),
    ("Seattle", "WA", "98101", "United States"),
    ("Toronto", "ON", "M5H 2N2", "Canada"),
    ("London", None, "EC1A 1BB", "United Kingdom"),
    ("Berlin", "Berlin", "10115", "Germany"),
    ("Lisbon", None, "1100-148", "Portugal"),
    ("Copenhagen", None, "1050", "Denmark"),
)
STREETS = ("Main St", "Market St", "Harbor Rd", "Elm Ave", "King St", "Oak Blvd", "Station Rd")
TITLES = (
    "CEO",
    "CTO",
    "Head of Sales",
    "Sales Manager",
    "Account Executive",
    "Marketing Director",
    "Operations Lead",
    "Procurement Manager",
    "IT Director",
    "Founder",
)
STAGES = (
    ("subscriber", 8),
    ("lead", 30),
    ("marketingqualifiedlead", 20),
    ("salesqualifiedlead", 15),
    ("opportunity", 10),
    ("customer", 10),
    ("evangelist", 3),
    ("other", 4),
)
SOURCES = (
    "ORGANIC_SEARCH",
    "PAID_SEARCH",
    "EMAIL_MARKETING",
    "SOCIAL_MEDIA",
    "REFERRALS",
    "OTHER_CAMPAIGNS",
    "DIRECT_TRAFFIC",
    "OFFLINE",
    "PAID_SOCIAL",
)
LEAD_STATUSES = ("NEW", "OPEN", "IN_PROGRESS", "ATTEMPTED_TO_CONTACT", "CONNECTED")
SELL_LEAD_STATUSES = ("New", "Working", "Unqualified")
TAGS = ("hubspot", "webinar", "vip", "trade-show", "q3-push")
TIERS = (("bronze", "Bronze"), ("silver", "Silver"), ("gold", "Gold"), ("platinum", "Platinum"))
CONTACT_METHODS = (("email", "Email"), ("phone", "Phone"), ("in_person", "In person"))
INTERESTS = (
    ("analytics", "Analytics"),
    ("automation", "Automation"),
    ("integrations", "Integrations"),
    ("support", "Support"),
)
SELL_LEAD_SOURCES = ("Organic Search", "Referral", "Trade Show")
OVERLAP_VARIANTS = (
    ("same", 15),
    ("caps", 10),
    ("whitespace", 5),
    ("conflict", 15),
    ("blank_in_sell", 8),
    ("blank_in_hubspot", 7),
)
BLANKABLE = (
    ("phone", "phone"),
    ("jobtitle", "title"),
    ("city", "address.city"),
    ("website", "website"),
)

SLACK_USERS: dict[str, dict[str, Any]] = {
    "UREP00001": {"real_name": "Riley Rep", "name": "riley"},
    "UMGR00001": {"real_name": "Morgan Manager", "name": "morgan"},
    "UMGR00002": {"real_name": "Avery Admin", "name": "avery", "is_admin": True},
}
SLACK_MANAGER_GROUP = "S0MANAGERS"
SLACK_SUMMARY_CHANNEL = "C0SALESOPS"
SLACK_APPROVAL_CHANNEL = "C0APPROVALS"


@dataclass
class Person:
    first: str
    last: str
    email: str
    company: tuple[str, str, str]
    city: tuple[str, str | None, str, str]
    street: str
    phone: str
    mobile: str | None
    title: str | None
    website: str | None


@dataclass
class SeedSummary:
    """What the demo seed holds, for tests and the demo narration."""

    list_id: str | None = None
    list_members: list[str] = field(default_factory=list)
    overlaps: dict[str, list[str]] = field(default_factory=dict)  # variant -> HubSpot ids
    shared_emails: list[str] = field(default_factory=list)  # held by a Sell lead and contact
    leads: int = 0
    contacts: int = 0
    archive: ArchiveSummary = field(default_factory=ArchiveSummary)  # users, deals, notes
    hubspot_archive: HubSpotArchiveSummary = field(default_factory=HubSpotArchiveSummary)


def apply_seed(seed: str, hubspot: HubSpotState, sell: SellState, slack: SlackState) -> SeedSummary:
    if seed not in SEEDS:
        raise ValueError(f"unknown seed {seed!r}; choose one of {', '.join(SEEDS)}")
    if seed == "empty":
        return SeedSummary()
    return _Demo(hubspot, sell, slack).run()


class _Demo:
    def __init__(self, hubspot: HubSpotState, sell: SellState, slack: SlackState) -> None:
        self.hubspot, self.sell, self.slack = hubspot, sell, slack
        self.rng = random.Random(RANDOM_SEED)
        self.emails: set[str] = set()
        self.summary = SeedSummary()

    def run(self) -> SeedSummary:
        self.sell.firehose.enabled = True  # the demo account has Sell's premium APIs
        self._hubspot_properties()
        self._sell_fields()
        self.sources = [self.sell.add_lead_source(name) for name in SELL_LEAD_SOURCES]
        people = [self._person() for _ in range(343)]
        members, outsiders, archived = people[:300], people[300:340], people[340:]
        overlap = self._plan_overlap(members)

        list_id = self.hubspot.create_list("Sell sync", "MANUAL")
        self.hubspot.demo_list_id = self.summary.list_id = list_id
        ids: list[str] = []
        for index, person in enumerate(members):
            blanks = overlap.get(index, ("", []))
            no_email = index % 60 == 59  # five list members without an email
            ids.append(
                self._hubspot_contact(
                    person,
                    no_email=no_email,
                    blank=blanks[1] if blanks[0] == "blank_in_hubspot" else [],
                )
            )
        self.hubspot.add_to_list(list_id, ids)
        self.summary.list_members = ids
        outsider_ids = [self._hubspot_contact(p) for p in outsiders]
        for person in archived:
            self.hubspot.add_contact(
                self._hubspot_values(person), archived=True, created_ms=self._past_ms(400, 200)
            )
        webinar = self.hubspot.create_list("Webinar attendees", "MANUAL")
        self.hubspot.add_to_list(webinar, ids[::15] + outsider_ids[:10])
        dynamic = self.hubspot.create_list("Customers (dynamic)", "DYNAMIC")
        self.hubspot.add_to_list(
            dynamic,
            [
                i
                for i in ids
                if (self.hubspot.get_contact(i) or {}).get("properties", {}).get("lifecyclestage")
                == "customer"
            ],
        )

        self._sell_records(members, ids, overlap)
        self.summary.archive = seed_sell_archive(self.sell)
        self.summary.hubspot_archive = seed_hubspot_archive(self.hubspot)
        self._slack()
        return self.summary

    # ------------------------------------------------------------------ definitions

    def _hubspot_properties(self) -> None:
        add = self.hubspot.add_property
        add("customer_tier", "Customer tier", "enumeration", "select", TIERS)
        add(
            "preferred_contact_method",
            "Preferred contact method",
            "enumeration",
            "radio",
            CONTACT_METHODS,
        )
        add("interests", "Interests", "enumeration", "checkbox", INTERESTS)
        add(
            "newsletter_opt_in",
            "Newsletter opt-in",
            "bool",
            "booleancheckbox",
            (("true", "Yes"), ("false", "No")),
        )
        add("annual_revenue_usd", "Annual revenue (USD)", "number", "number")
        add("account_notes", "Account notes", "string", "textarea")
        add("linkedin_handle", "LinkedIn handle", "string", "text")
        add("assistant_phone", "Assistant phone", "string", "phonenumber")
        add("contract_start_date", "Contract start date", "date", "date")
        add("last_demo_at", "Last demo", "datetime", "date")

    def _sell_fields(self) -> None:
        for kind in ("lead", "contact"):
            add = self.sell.add_custom_field
            add(kind, "HubSpot score", "number")
            add(kind, "HubSpot lifecycle stage", "string")
            add(kind, "HubSpot public contact URL", "url")
            if kind == "contact":
                add(kind, "HubSpot source", "string")
            add(kind, "Customer tier", "list", [label for _, label in TIERS])
            add(kind, "Interests", "multi_select_list", [label for _, label in INTERESTS])
            add(kind, "Newsletter opt-in", "bool")
            add(kind, "Annual revenue", "number")
            add(kind, "Account notes", "text")
            add(kind, "LinkedIn handle", "string")
            add(kind, "Assistant phone", "phone")
            add(kind, "Contract start", "date")
            add(kind, "Last demo", "datetime")
            add(kind, "Preferred contact method", "string")
            add(kind, "Region", "list", ["North", "South", "East", "West"])

    # ------------------------------------------------------------------ people

    def _person(self) -> Person:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company = rng.choice(COMPANIES)
        base = f"{first}.{last}".lower()
        email, n = f"{base}@{company[1]}", 1
        while email in self.emails:
            n += 1
            email = f"{base}{n}@{company[1]}"
        self.emails.add(email)
        return Person(
            first=first,
            last=last,
            email=email,
            company=company,
            city=rng.choice(CITIES),
            street=f"{rng.randint(1, 999)} {rng.choice(STREETS)}",
            phone=f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
            mobile=f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
            if rng.random() < 0.3
            else None,
            title=rng.choice(TITLES) if rng.random() < 0.85 else None,
            website=f"https://{company[1]}" if rng.random() < 0.5 else None,
        )

    def _past_ms(self, oldest_days: int, newest_days: int) -> int:
        seconds = ANCHOR_S - self.rng.randint(newest_days * DAY_S, oldest_days * DAY_S)
        return seconds * 1000 + self.rng.randint(0, 999)

    def _hubspot_values(self, person: Person) -> dict[str, Any]:
        rng = self.rng
        city, state, zip_code, country = person.city
        values: dict[str, Any] = {
            "firstname": person.first,
            "lastname": person.last,
            "email": person.email,
            "phone": person.phone,
            "mobilephone": person.mobile,
            "jobtitle": person.title,
            "company": person.company[0],
            "website": person.website,
            "industry": person.company[2] if rng.random() < 0.6 else None,
            "lifecyclestage": rng.choices([s for s, _ in STAGES], [w for _, w in STAGES])[0],
            "hs_analytics_source": rng.choice(SOURCES) if rng.random() < 0.9 else None,
            "hubspotscore": str(rng.randint(0, 100)) if rng.random() < 0.9 else None,
            "hs_lead_status": rng.choice(LEAD_STATUSES) if rng.random() < 0.4 else None,
        }
        if rng.random() < 0.6:
            values.update(
                address=person.street, city=city, state=state, zip=zip_code, country=country
            )
        if rng.random() < 0.5:
            values.update(
                customer_tier=rng.choice(TIERS)[0],
                preferred_contact_method=rng.choice(CONTACT_METHODS)[0],
                interests=";".join(v for v, _ in rng.sample(INTERESTS, rng.randint(1, 3))),
                newsletter_opt_in=rng.choice(("true", "false")),
                annual_revenue_usd=str(rng.randrange(50_000, 20_000_000, 10_000)),
                linkedin_handle=f"{person.first}{person.last}".lower(),
            )
        if rng.random() < 0.2:
            values.update(
                account_notes=f"Met at {rng.choice(('SaaStr', 'Web Summit', 'a webinar'))}.\nFollow up in Q{rng.randint(1, 4)}.",
                assistant_phone=f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                contract_start_date=f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                last_demo_at=f"2025-{rng.randint(1, 5):02d}-{rng.randint(1, 28):02d}T{rng.randint(8, 17):02d}:30:00.000Z",
            )
        return values

    def _hubspot_contact(
        self, person: Person, *, no_email: bool = False, blank: list[str] | None = None
    ) -> str:
        values = self._hubspot_values(person)
        if no_email:
            values["email"] = None
        for name in blank or []:
            values[name] = None
        created = self._past_ms(365, 30)
        updated = created + self.rng.randint(0, 20 * DAY_S) * 1000
        return self.hubspot.add_contact(values, created_ms=created, updated_ms=updated)

    # ------------------------------------------------------------------ Sell

    def _plan_overlap(self, members: list[Person]) -> dict[int, tuple[str, list[str]]]:
        """Member index -> (variant, HubSpot properties blank on the blank side)."""
        candidates = [i for i in range(len(members)) if i % 60 != 59]
        chosen = self.rng.sample(candidates, sum(n for _, n in OVERLAP_VARIANTS))
        plan: dict[int, tuple[str, list[str]]] = {}
        position = 0
        for variant, count in OVERLAP_VARIANTS:
            for index in chosen[position : position + count]:
                blanks = (
                    [hs for hs, _ in self.rng.sample(BLANKABLE, 2)]
                    if variant.startswith("blank")
                    else []
                )
                plan[index] = (variant, blanks)
            position += count
        return plan

    def _sell_data(self, person: Person, kind: str) -> dict[str, Any]:
        rng = self.rng
        city, state, zip_code, country = person.city
        data: dict[str, Any] = {
            "first_name": person.first,
            "last_name": person.last,
            "email": person.email,
            "phone": person.phone,
            "mobile": person.mobile,
            "title": person.title,
            "website": person.website,
            "industry": person.company[2],
            "address": {
                "line1": person.street,
                "city": city,
                "state": state,
                "postal_code": zip_code,
                "country": country,
            },
            "tags": sorted(rng.sample(TAGS, rng.randint(0, 2))),
            "owner_id": USER_ID,
        }
        if kind == "lead":
            data["organization_name"] = person.company[0]
            data["status"] = rng.choice(SELL_LEAD_STATUSES)
            if rng.random() < 0.5:
                data["source_id"] = rng.choice(self.sources)
        else:
            data["customer_status"] = rng.choice(("none", "current", "past"))
            data["prospect_status"] = rng.choice(("none", "current", "lost"))
        custom: dict[str, Any] = {}
        if rng.random() < 0.4:
            custom["Customer tier"] = rng.choice(TIERS)[1]
            custom["Region"] = rng.choice(["North", "South", "East", "West"])
        if rng.random() < 0.2:
            custom["Annual revenue"] = str(rng.randrange(50_000, 20_000_000, 10_000))
            custom["Newsletter opt-in"] = rng.random() < 0.5
        if custom:
            data["custom_fields"] = custom
        return data

    def _add_sell(self, kind: str, data: dict[str, Any]) -> int:
        created = ANCHOR_S - self.rng.randint(41 * DAY_S, 300 * DAY_S)
        updated = created + self.rng.randint(0, 40 * DAY_S)
        record_id = self.sell.add_record(
            kind, data, created_at=iso_seconds(created), updated_at=iso_seconds(updated)
        )
        if kind == "lead":
            self.summary.leads += 1
        else:
            self.summary.contacts += 1
        return record_id

    def _sell_records(
        self, members: list[Person], ids: list[str], overlap: dict[int, tuple[str, list[str]]]
    ) -> None:
        rng = self.rng
        overlapping = sorted(overlap)
        kinds = ["lead"] * 40 + ["contact"] * 20
        rng.shuffle(kinds)
        for index, kind in zip(overlapping, kinds, strict=True):
            variant, blanks = overlap[index]
            person = members[index]
            data = self._sell_data(person, kind)
            if variant == "caps":
                local, _, domain = person.email.partition("@")
                data["email"] = f"{local.title()}@{domain.upper()}"
            elif variant == "whitespace":
                data["email"] = f"  {person.email} "
            elif variant == "conflict":
                data["phone"] = f"+44 20 7946 {rng.randint(1000, 9999)}"
                data["title"] = rng.choice([t for t in TITLES if t != person.title])
                data["address"]["city"] = "Springfield"
            elif variant == "blank_in_sell":
                for _, sell_key in rng.sample(BLANKABLE, 2):
                    _blank(data, sell_key)
            elif variant == "blank_in_hubspot":
                fills = {
                    "phone": person.phone,
                    "title": person.title or "Buyer",
                    "website": person.website or f"https://{person.company[1]}",
                }
                for hs_name, sell_key in BLANKABLE:
                    if hs_name in blanks and sell_key in fills:
                        data[sell_key] = fills[sell_key]
            self._add_sell(kind, data)
            self.summary.overlaps.setdefault(variant, []).append(ids[index])
        # the same email on a lead and a contact (S8 prefers the contact)
        for index in overlapping[:3]:
            kind = "contact" if "lead" in self._kinds_of(members[index].email) else "lead"
            self._add_sell(kind, self._sell_data(members[index], kind))
            self.summary.shared_emails.append(members[index].email)

        leads_left = 150 - self.summary.leads
        contacts_left = 80 - self.summary.contacts
        for n in range(leads_left):
            data = self._sell_data(self._person(), "lead")
            if n % 12 == 0:
                data["email"] = None
            if n % 25 == 0:  # a company-only lead
                data.pop("first_name")
                data.pop("last_name")
            self._add_sell("lead", data)
        for n in range(contacts_left):
            if n < 6:
                company = COMPANIES[n]
                self._add_sell(
                    "contact",
                    {
                        "is_organization": True,
                        "name": company[0],
                        "email": f"info@{company[1]}" if n % 2 == 0 else None,
                        "website": f"https://{company[1]}",
                        "industry": company[2],
                        "tags": ["account"],
                    },
                )
                continue
            data = self._sell_data(self._person(), "contact")
            if n % 9 == 0:
                data["email"] = None
            self._add_sell("contact", data)

    def _kinds_of(self, email: str) -> set[str]:
        return {
            kind
            for kind in ("lead", "contact")
            for record in self.sell.records(kind)
            if (record.get("email") or "").strip().lower() == email
        }

    def _slack(self) -> None:
        for user_id, fields in SLACK_USERS.items():
            self.slack.set_user(user_id, **fields)
        self.slack.set_usergroup(SLACK_MANAGER_GROUP, ["UMGR00001", "UMGR00002"])
        self.slack.set_channel(SLACK_SUMMARY_CHANNEL, "sales-ops")
        self.slack.set_channel(SLACK_APPROVAL_CHANNEL, "sellsync-approvals", private=True)


def _blank(data: dict[str, Any], key: str) -> None:
    if key.startswith("address."):
        data["address"][key.split(".", 1)[1]] = None
    else:
        data[key] = None
