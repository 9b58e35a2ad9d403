"""S4 "Add to HubSpot": which of the selected Sell records may go, and why the others may not.

Pure: item parsing and selection take values and return values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sync.domain import RecordKind, SellRecord, SellRef, Skip
from sync.mapping import valid_email

MAX_ITEMS = 1000

#: Sell ids are positive 64-bit integers; anything bigger cannot be a record (nor fit a column).
MAX_SELL_ID = 2**63 - 1

# Sell's own record URLs, and nothing else: a HubSpot contact link also ends in /contacts/<id>.
#   https://app.futuresimple.com/leads/12       https://app.getbase.com/crm/contacts/12
#   https://app.futuresimple.com/sales/leads/12 https://{subdomain}.zendesk.com/sales/leads/12
_SELL_APP_HOSTS = ("app.futuresimple.com", "app.getbase.com")
_SELL_APP_PREFIXES: tuple[tuple[str, ...], ...] = ((), ("crm",), ("sales",))
_ZENDESK_SUFFIX = ".zendesk.com"
_URL_KINDS: dict[str, RecordKind] = {"leads": "lead", "contacts": "contact"}
_REF_KINDS: dict[str, RecordKind] = {"lead": "lead", "contact": "contact"}
_SLACK_LINK_RE = re.compile(r"<(?:mailto:)?([^|<>]+)(?:\|[^<>]*)?>")
_NOT_AN_ITEM = "not an email, lead:ID, contact:ID, Sell record URL or tag:NAME"


def parse_id(text: str) -> int | None:
    """A record id typed by a person: ASCII digits only, 1 to 2^63-1; else None.

    ``str.isdigit()`` accepts "²" and "٣" (which ``int()`` refuses or reads), and an id of
    2^63 or more overflows the database: both are refused here, where the text comes in.
    """
    raw = text.strip()
    if not raw or len(raw) > 19 or not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if 0 < value <= MAX_SELL_ID else None


def parse_ref(text: str) -> SellRef | str:
    """``lead:ID`` / ``contact:ID`` as a reference, or the reason it is not one."""
    kind, _, raw = text.strip().partition(":")
    record_kind = _REF_KINDS.get(kind.strip().lower())
    if record_kind is None:
        return _NOT_AN_ITEM
    rid = parse_id(raw)
    if rid is None:
        return (
            f"not a Sell record reference: {record_kind}:ID takes a whole number from 1 to 2^63-1"
        )
    return SellRef(record_kind, rid)


def mentions_sell_host(text: str) -> bool:
    """A cheap first look (no URL parsing) for scanning many links: could this be Sell's?"""
    lowered = text[:300].lower()
    return any(host in lowered for host in (*_SELL_APP_HOSTS, _ZENDESK_SUFFIX))


def parse_sell_url(text: str) -> SellRef | str:
    """A Sell record URL as a reference, or the reason it is not one (only Sell's own forms)."""
    try:
        url = urlsplit(text.strip())
        host = (url.hostname or "").rstrip(".").lower()
        port = url.port
    except ValueError:
        return "not a valid URL"
    if url.scheme.lower() not in ("http", "https") or not host:
        return "not a valid URL"
    if port is not None or url.username or url.password:
        return "not a Sell record URL"
    segments = tuple(seg for seg in url.path.split("/") if seg)
    prefixes: tuple[tuple[str, ...], ...]
    if host in _SELL_APP_HOSTS:
        prefixes = _SELL_APP_PREFIXES
    elif host.endswith(_ZENDESK_SUFFIX) and "." not in host[: -len(_ZENDESK_SUFFIX)]:
        prefixes = (("sales",),)
    else:
        hubspot = host == "hubspot.com" or host.endswith(".hubspot.com")
        return "a HubSpot link, not a Sell record URL" if hubspot else "not a Sell record URL"
    for prefix in prefixes:
        n = len(prefix)
        if (
            len(segments) >= n + 2  # …/leads/12/notes is the same record
            and tuple(seg.lower() for seg in segments[:n]) == prefix
            and segments[n].lower() in _URL_KINDS
        ):
            rid = parse_id(segments[n + 1])
            if rid is None:
                break
            return SellRef(_URL_KINDS[segments[n].lower()], rid)
    return "not a Sell record URL (…/leads/ID or …/contacts/ID)"


#: What an address's local part may hold besides letters and digits: RFC 5322's ``atext`` and
#: the dot. No quotes, brackets, parentheses, colons, commas, spaces or backslashes: an item is
#: a plain ``local@domain``, never ``=HYPERLINK("http://evil.example/x@a.co")``.
_LOCAL_EXTRA = frozenset("!#$%&'*+/=?^_`{|}~-.")


def looks_like_email(text: str) -> bool:
    """A plain address (an unquoted addr-spec): letters, digits and ``atext`` before the one
    ``@``; after it, two or more dot-separated labels of letters, digits, ``-`` and ``_``.

    Plain string checks, not a regex: a regex with two greedy runs around the dot backtracks
    quadratically on long hostile input.
    """
    if text.count("@") != 1:
        return False
    local, _, domain = text.partition("@")
    if not local or not all(c.isalnum() or c in _LOCAL_EXTRA for c in local):
        return False
    labels = domain.split(".")
    return len(labels) >= 2 and all(
        label and all(c.isalnum() or c in "-_" for c in label) for label in labels
    )


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
        slack = _SLACK_LINK_RE.fullmatch(text)
        if slack:
            text = slack.group(1)
        lowered = text.lower()
        ref: SellRef | str
        if lowered.startswith("tag:"):
            name = text[4:].strip()
            if name:
                tags.append(name)
            else:
                invalid.append(Skip(raw, "empty tag name"))
            continue
        if lowered.startswith(("lead:", "contact:")):
            ref = parse_ref(text)
        elif lowered.startswith(("http://", "https://")):
            ref = parse_sell_url(text)
        elif looks_like_email(text):
            emails.append(lowered)
            continue
        else:
            ref = _NOT_AN_ITEM
        if isinstance(ref, SellRef):
            refs.append(ref)
        else:
            invalid.append(Skip(raw, ref))
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
