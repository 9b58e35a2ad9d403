"""What people type into Slack, turned into values; nothing here raises.

* :func:`split_args` is a forgiving ``shlex.split``: double or single quotes group words
  (``fields map region "Sales region"``), Slack's curly quotes count as quotes, an apostrophe
  inside a word (``O’Brien``) is just a letter, an unterminated quote runs to the end, and Slack's
  ``<mailto:…|…>`` / ``<https://…>`` links stay one word whatever their label holds.
* :func:`parse_command` turns the text after ``/sellsync`` into one of the command values below,
  or :class:`Invalid` with a one-line reason and the usage line to show with it.
* :func:`parse_item_text` and :func:`extract_items` read push items from a modal's textarea and
  from a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sync.domain import SellRef
from sync.push import (
    MAX_ITEMS,
    looks_like_email,
    mentions_sell_host,
    parse_id,
    parse_items,
    parse_sell_url,
)
from sync.service import Refused, SyncService

# --------------------------------------------------------------------------- usage

USAGE_LINES: dict[str, str] = {
    "push": "/sellsync push ITEM…  (ITEM = email, lead:ID, contact:ID, Sell URL or tag:NAME)",
    "status": "/sellsync status [ITEM]",
    "threshold": "/sellsync threshold [N [reason]]",
    "list": "/sellsync list [LIST_ID [reason]]",
    "conflicts": "/sellsync conflicts [PAGE]",
    "run": "/sellsync run",
    "restore": "/sellsync restore ITEM  or  /sellsync restore run:N [reason]",
    "fields": '/sellsync fields [map PROPERTY "Sell field"]',
    "help": "/sellsync help",
}

SUBCOMMANDS = tuple(USAGE_LINES)

USAGE = "\n".join(USAGE_LINES.values())

#: The manifest's usage hint (Slack shows it while typing the command).
USAGE_HINT = 'push ITEM… | status [ITEM] | threshold [N [reason]] | list [LIST_ID [reason]] | conflicts | run | restore ITEM | fields [map PROPERTY "Sell field"] | help'

# --------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Push:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Status:
    item: str | None = None


@dataclass(frozen=True)
class ShowThreshold:
    pass


@dataclass(frozen=True)
class RequestThreshold:
    value: int
    reason: str = ""


@dataclass(frozen=True)
class ShowList:
    pass


@dataclass(frozen=True)
class RequestList:
    list_id: str
    reason: str = ""


@dataclass(frozen=True)
class Conflicts:
    page: int = 1  # 1-based, as people count


@dataclass(frozen=True)
class Run:
    pass


@dataclass(frozen=True)
class Restore:
    item: str


@dataclass(frozen=True)
class RestoreRun:
    """Lift every tombstone and "deleted in HubSpot" mark run ``run_id`` made."""

    run_id: int
    reason: str = ""


@dataclass(frozen=True)
class Fields:
    pass


@dataclass(frozen=True)
class MapField:
    hubspot_property: str
    sell_field: str


@dataclass(frozen=True)
class Invalid:
    """Bad input: a one-line reason, and the usage to show with it."""

    reason: str
    usage: str = USAGE


Command = (
    Help
    | Push
    | Status
    | ShowThreshold
    | RequestThreshold
    | ShowList
    | RequestList
    | Conflicts
    | Run
    | Restore
    | RestoreRun
    | Fields
    | MapField
    | Invalid
)

# --------------------------------------------------------------------------- splitting

_QUOTES = {
    '"': '"',
    "'": "'",
    "“": "”",  # Slack turns typed quotes into curly ones
    "”": "”",
    "„": "“",
    "‘": "’",
    "’": "’",
}
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def unescape(text: str) -> str:
    """Undo Slack's escaping of ``&``, ``<`` and ``>`` in what a person typed."""
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


# Runs of characters the splitter treats alike, matched at C speed: a 100,000-character command
# costs a few milliseconds, not a Python step per character.
_PLAIN_RUN = re.compile(r"[^\s<\"'“”„‘’]+")
_SPACE_RUN = re.compile(r"\s+")
_CLOSING = {
    '"': re.compile('"'),
    "'": re.compile("'"),
    **{q: re.compile("[”“\"’']") for q in _QUOTES if q not in "\"'"},
}


def split_args(text: str | None) -> list[str]:
    """Words of ``text``, honouring quotes and Slack links; never raises."""
    if not text:
        return []
    words: list[str] = []
    current: list[str] = []
    in_word = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            if in_word:
                words.append(unescape("".join(current)))
                current, in_word = [], False
            space = _SPACE_RUN.match(text, i)
            i = space.end() if space else i + 1
        elif not in_word and ch in _QUOTES:
            closing = _CLOSING[ch].search(text, i + 1)
            j = closing.start() if closing else n
            current.append(text[i + 1 : j])
            in_word = True
            i = j + 1
        elif ch == "<":
            j = text.find(">", i)
            j = n - 1 if j < 0 else j
            current.append(text[i : j + 1])
            in_word = True
            i = j + 1
        else:  # a plain run; a quote inside a word (O’Brien) is a letter, one at a time
            plain = _PLAIN_RUN.match(text, i)
            j = plain.end() if plain else i + 1
            current.append(text[i:j])
            in_word = True
            i = j
    if in_word:
        words.append(unescape("".join(current)))
    return words


def _split_commas(word: str) -> list[str]:
    """``a@x.com,b@y.com`` → two items; a Slack link is never split."""
    if word.startswith("<") and word.endswith(">"):
        return [word]
    return [part for part in re.split(r"[,;]", word) if part.strip()]


# --------------------------------------------------------------------------- items


@dataclass(frozen=True)
class ItemsCheck:
    items: tuple[str, ...]
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def check_items(words: list[str]) -> ItemsCheck:
    """Push items: at least one, at most ``MAX_ITEMS``, every one readable."""
    items = tuple(item for word in words for item in _split_commas(word))
    if not items:
        return ItemsCheck(
            (),
            "nothing to push: give at least one email, lead:ID, contact:ID, Sell URL or tag:NAME",
        )
    if len(items) > MAX_ITEMS:
        return ItemsCheck(
            items, f"too many items ({len(items):,}): push at most {MAX_ITEMS:,} at a time"
        )
    parsed = parse_items(items)
    if parsed.invalid:
        bad = parsed.invalid[0]
        more = f" (and {len(parsed.invalid) - 1} more)" if len(parsed.invalid) > 1 else ""
        return ItemsCheck(items, f"{_shown(bad.item)} is {_article(bad.reason)}{more}")
    return ItemsCheck(items)


def parse_item_text(text: str | None, tag: str | None = None) -> ItemsCheck:
    """The push modal: items separated by spaces, commas or new lines, plus an optional tag."""
    words = split_args((text or "").replace(",", " ").replace(";", " "))
    tag = (tag or "").strip()
    if tag:
        words.append("tag:" + tag.removeprefix("tag:").strip())
    return check_items(words)


# Linear time on any message: every run stops at the next "<" (so a failed link attempt never
# rescans the rest of the message), and an email is only tried from the start of a run of
# local-part characters (the lookbehind), so a long word without "@" is scanned once, not once
# per position.
_FINDABLE = re.compile(
    r"<mailto:(?P<mailto>[^|<>\s]+)(?:\|[^<>]*)?>"  # Slack's email link
    r"|<(?P<link>https?://[^|<>\s]+)(?:\|[^<>]*)?>"  # Slack's URL link
    r"|(?P<url>https?://[^\s<>|]+)"
    r"|(?<![\w.+'-])(?P<email>[\w.+'-]+@[\w-]+(?:\.[\w-]+)+)",
    re.I,
)


def extract_items(message_text: str | None) -> list[str]:
    """The emails and Sell record URLs in a message, in the order they appear, each once (at
    most ``MAX_ITEMS``, as many as one push takes); other links are left out."""
    out: dict[str, None] = {}
    seen: set[str] = set()
    for m in _FINDABLE.finditer(message_text or ""):
        candidate = unescape(m.group(m.lastgroup or 0)).strip().rstrip(".,;:)")
        if candidate in seen:
            continue
        seen.add(candidate)
        if m.lastgroup in ("link", "url"):
            ref = parse_sell_url(candidate) if mentions_sell_host(candidate) else None
            if isinstance(ref, SellRef):
                out.setdefault(str(ref), None)
        elif looks_like_email(candidate):
            out.setdefault(candidate.lower(), None)
        if len(out) >= MAX_ITEMS:
            break
    return list(out)


def _check_item(word: str, subcommand: str) -> Invalid | None:
    if word.lower().startswith("hubspot:"):
        if parse_id(word[8:]) is not None:
            return None
        return Invalid(
            f"{_shown(word)} is not a HubSpot contact id (hubspot:ID)", USAGE_LINES[subcommand]
        )
    parsed = parse_items([word])
    if parsed.refs or parsed.emails:
        return None
    return Invalid(
        f"{_shown(word)} is not an email, lead:ID, contact:ID, Sell URL or hubspot:ID",
        USAGE_LINES[subcommand],
    )


# --------------------------------------------------------------------------- the command


def parse_command(text: str | None) -> Command:
    """The text after ``/sellsync`` as a command value, or :class:`Invalid`."""
    words = split_args(text)
    if not words:
        return Help()
    name, args = words[0].lower(), words[1:]
    if name in ("help", "-h", "--help", "?"):
        return Help()
    if name == "push":
        check = check_items(args)
        return Push(check.items) if check.ok else Invalid(str(check.error), USAGE_LINES["push"])
    if name == "status":
        if not args:
            return Status()
        if len(args) > 1:
            return Invalid("status takes one item", USAGE_LINES["status"])
        return _check_item(args[0], "status") or Status(args[0])
    if name == "threshold":
        if not args:
            return ShowThreshold()
        try:
            value = SyncService.parse_threshold(args[0])
        except Refused as exc:
            return Invalid(str(exc), USAGE_LINES["threshold"])
        return RequestThreshold(value, " ".join(args[1:]).strip())
    if name == "list":
        if not args:
            return ShowList()
        if not re.fullmatch(r"[0-9]{1,18}", args[0]):
            return Invalid(
                f"{_shown(args[0])} is not a HubSpot list id (the number in the list's URL)",
                USAGE_LINES["list"],
            )
        return RequestList(args[0], " ".join(args[1:]).strip())
    if name == "conflicts":
        if not args:
            return Conflicts()
        page = parse_id(args[0]) if len(args) == 1 else None
        if page is not None and page <= 100_000:
            return Conflicts(page)
        return Invalid(f"{_shown(' '.join(args))} is not a page number", USAGE_LINES["conflicts"])
    if name == "run":
        if args:
            return Invalid("run takes no arguments", USAGE_LINES["run"])
        return Run()
    if name == "restore":
        if args and args[0].lower().startswith("run:"):
            run_id = parse_id(args[0][4:])
            if run_id is None:
                return Invalid(f"{_shown(args[0])} names no run number", USAGE_LINES["restore"])
            return RestoreRun(run_id, " ".join(args[1:]))
        if len(args) != 1:
            return Invalid("restore takes exactly one item", USAGE_LINES["restore"])
        return _check_item(args[0], "restore") or Restore(args[0])
    if name == "fields":
        if not args:
            return Fields()
        if args[0].lower() != "map":
            return Invalid(f"unknown fields action {_shown(args[0])}", USAGE_LINES["fields"])
        if len(args) != 3 or not args[1].strip() or not args[2].strip():
            return Invalid(
                "fields map takes a HubSpot property and a Sell field name (quote names with spaces)",
                USAGE_LINES["fields"],
            )
        return MapField(args[1].strip(), args[2].strip())
    return Invalid(f"unknown subcommand {_shown(words[0])}")


def _shown(text: str, limit: int = 60) -> str:
    """A piece of user input quoted in a reason, kept short and on one line."""
    one_line = " ".join(text.split())
    if len(one_line) > limit:
        one_line = one_line[: limit - 1] + "…"
    return f"“{one_line}”"


def _article(reason: str) -> str:
    """``not an email, …`` reads fine after "is"; anything else gets "invalid: "."""
    return reason if reason.startswith("not ") else f"invalid: {reason}"
