"""S4 "Add to HubSpot": which of the selected Sell records may go, and why the others may not.

Pure: item parsing and selection take values and return values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sync.domain import SellRecord, SellRef, Skip
from sync.mapping import valid_email

MAX_ITEMS = 1000

# Sell record URLs: app.futuresimple.com/leads/12, app.getbase.com/crm/contacts/12,
# {sub}.zendesk.com/sales/leads/12 ...
_URL_RE = re.compile(r"^https?://[^\s/]+/(?:[\w-]+/)*?(leads|contacts)/(\d+)(?:[/?#].*)?$", re.I)
_EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_SLACK_LINK_RE = re.compile(r"^<(?:mailto:)?([^|>]+)(?:\|[^>]*)?>$")


@dataclass(frozen=True)
class PushItems:
    refs: tuple[SellRef, ...] = ()
    emails: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    invalid: tuple[Skip, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.refs or self.emails or self.tags)


def parse_items(items: Iterable[str]) -> PushItems:
    """Split raw items (an email, lead:ID, contact:ID, a Sell URL, tag:NAME) by kind.

    Slack's auto-formatting (``<mailto:a@b.com|a@b.com>``, ``<https://...>``) is unwrapped.
    """
    refs: list[SellRef] = []
    emails: list[str] = []
    tags: list[str] = []
    invalid: list[Skip] = []
    for raw in items:
        text = raw.strip().strip(",;")
        if not text:
            continue
        slack = _SLACK_LINK_RE.match(text)
        if slack:
            text = slack.group(1)
        lowered = text.lower()
        if lowered.startswith("tag:"):
            name = text[4:].strip()
            if name:
                tags.append(name)
            else:
                invalid.append(Skip(raw, "empty tag name"))
        elif lowered.startswith(("lead:", "contact:")):
            try:
                refs.append(SellRef.parse(lowered))
            except ValueError as exc:
                invalid.append(Skip(raw, str(exc)))
        elif (m := _URL_RE.match(text)) is not None:
            refs.append(
                SellRef("lead" if m.group(1).lower() == "leads" else "contact", int(m.group(2)))
            )
        elif _EMAIL_RE.match(text):
            emails.append(lowered)
        else:
            invalid.append(
                Skip(raw, "not an email, lead:ID, contact:ID, Sell record URL or tag:NAME")
            )
    return PushItems(
        tuple(dict.fromkeys(refs)),
        tuple(dict.fromkeys(emails)),
        tuple(dict.fromkeys(tags)),
        tuple(invalid),
    )


@dataclass(frozen=True)
class PushSelection:
    chosen: tuple[SellRecord, ...]
    skipped: tuple[Skip, ...]


def select_records(records: Sequence[SellRecord]) -> PushSelection:
    """S4 per record: no email, organization contacts, duplicate emails (newest wins)."""
    skipped: list[Skip] = []
    by_email: dict[str, list[SellRecord]] = {}
    for r in records:
        if r.is_organization:
            skipped.append(Skip(str(r.ref), "company contacts can't be added"))
        elif r.email is None:
            skipped.append(Skip(str(r.ref), "no email"))
        elif not valid_email(r.email):
            skipped.append(Skip(str(r.ref), f"invalid email {r.email!r}"))
        else:
            by_email.setdefault(r.email, []).append(r)
    chosen: list[SellRecord] = []
    for email, group in by_email.items():
        group = sorted(group, key=lambda r: (r.updated_at, r.kind == "contact", r.id), reverse=True)
        chosen.append(group[0])
        for other in group[1:]:
            skipped.append(
                Skip(str(other.ref), f"duplicate email {email}: {group[0].ref} was used")
            )
    return PushSelection(tuple(chosen), tuple(skipped))
