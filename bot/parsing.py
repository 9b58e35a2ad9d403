"""What people type into Slack, turned into values; nothing here raises.

* :func:`split_args` is a forgiving ``shlex.split``: double or single quotes group words
  (``fields map region "Sales region"``), Slack's curly quotes count as quotes, an apostrophe
  inside a word (``O’Brien``) is just a letter, an unterminated quote runs to the end, and Slack's
  ``<mailto:…|…>`` / ``<https://…>`` links stay one word whatever their label holds.
* :data:`TABLE` is the one home of the ``/sellsync`` subcommands: each row gives a subcommand's
  parser, its usage line, its help text and its forms (the command values it parses to, who may
  run each, and which are answered inside the ack). The usage, ``/sellsync help``, the
  manifests' usage hint and the managers-only gate all come from it.
* :func:`parse_command` turns the text after ``/sellsync`` into one of the command values below,
  or :class:`Invalid` with a one-line reason and the usage line to show with it;
  :func:`read_command` gives the value's :class:`Form` with it.
* :func:`parse_item_text` and :func:`extract_items` read push items from a modal's textarea and
  from a message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sync.api import (
    MAX_ITEMS,
    SETTINGS,
    Refused,
    SellRef,
    SettingName,
    SyncService,
    looks_like_email,
    mentions_sell_host,
    parse_id,
    parse_items,
    parse_sell_url,
)

# --------------------------------------------------------------------------- command values


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Push:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Status:
    item: str | None = None

    @property
    def board(self) -> bool:
        """No item: the status board, answered inside the ack."""
        return self.item is None


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
class RequestSetting:
    """Ask for a setting of the registry to change (a manager approves): ``pause``, ``resume``."""

    setting: SettingName
    value: str
    reason: str = ""


@dataclass(frozen=True)
class RequestMigration:
    """Ask to move everything out of Sell into HubSpot (the plan's counts; a manager approves)."""

    reason: str = ""


@dataclass(frozen=True)
class Conflicts:
    page: int = 1  # 1-based, as people count


@dataclass(frozen=True)
class Health:
    """Records and events that keep failing (the Health inbox)."""


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
    """Bad input: a one-line reason, and the usage to show with it (all of it by default)."""

    reason: str
    usage: str = field(default_factory=lambda: USAGE)


Command = (
    Help
    | Push
    | Status
    | ShowThreshold
    | RequestThreshold
    | ShowList
    | RequestList
    | RequestSetting
    | RequestMigration
    | Conflicts
    | Health
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


# --------------------------------------------------------------------------- the table

#: What a parser returns: the command value, or a one-line reason the words don't fit.
Parsed = Command | str


@dataclass(frozen=True)
class Form:
    """One command value a subcommand parses to, and how it is answered.

    ``managers`` says what only managers may do ("only managers can {managers}"; ``None``:
    anyone). ``instant`` forms are answered inside the ack and do no work after it, so they
    never ask who is a manager. ``when`` tells apart two forms of one value type.
    """

    value: type
    managers: str | None = None
    instant: bool = False
    when: Callable[[Any], bool] | None = None

    def fits(self, command: object) -> bool:
        return isinstance(command, self.value) and (self.when is None or self.when(command))

    @property
    def refusal(self) -> str:
        return f"only managers can {self.managers}"


@dataclass(frozen=True)
class Subcommand:
    """One row of :data:`TABLE`: adding a subcommand is one row here and its handler in
    ``bot/listeners/commands.py``."""

    name: str
    args: tuple[str, ...]  # the argument forms, as the usage line shows them
    help: str  # what it does, one sentence for /sellsync help
    parse: Callable[[list[str]], Parsed]
    forms: tuple[Form, ...]
    note: str = ""  # after the usage line (what ITEM may be)
    aliases: tuple[str, ...] = ()

    @property
    def usage(self) -> str:
        """``/sellsync NAME ARGS`` (each argument form), then the note."""
        line = "  or  ".join(f"/sellsync {self.name} {a}".rstrip() for a in self.args or ("",))
        return f"{line}  {self.note}" if self.note else line

    @property
    def hint(self) -> str:
        """This subcommand in the manifest's usage hint: its first argument form."""
        return f"{self.name} {self.args[0]}" if self.args else self.name

    def form_of(self, command: object) -> Form:
        return next(f for f in self.forms if f.fits(command))


def _parse_help(args: list[str]) -> Parsed:
    return Help()


def _parse_push(args: list[str]) -> Parsed:
    check = check_items(args)
    return Push(check.items) if check.ok else str(check.error)


def _parse_status(args: list[str]) -> Parsed:
    if not args:
        return Status()
    if len(args) > 1:
        return "status takes one item"
    return _check_item(args[0]) or Status(args[0])


def _parse_threshold(args: list[str]) -> Parsed:
    if not args:
        return ShowThreshold()
    try:
        value = SyncService.parse_threshold(args[0])
    except Refused as exc:
        return str(exc)
    return RequestThreshold(value, " ".join(args[1:]).strip())


def _parse_list(args: list[str]) -> Parsed:
    if not args:
        return ShowList()
    if not re.fullmatch(r"[0-9]{1,18}", args[0]):
        return f"{_shown(args[0])} is not a HubSpot list id (the number in the list's URL)"
    return RequestList(args[0], " ".join(args[1:]).strip())


def _parse_conflicts(args: list[str]) -> Parsed:
    if not args:
        return Conflicts()
    page = parse_id(args[0]) if len(args) == 1 else None
    if page is not None and page <= 100_000:
        return Conflicts(page)
    return f"{_shown(' '.join(args))} is not a page number"


def _parse_health(args: list[str]) -> Parsed:
    return "health takes no arguments" if args else Health()


def _parse_run(args: list[str]) -> Parsed:
    return "run takes no arguments" if args else Run()


def _parse_restore(args: list[str]) -> Parsed:
    if args and args[0].lower().startswith("run:"):
        run_id = parse_id(args[0][4:])
        if run_id is None:
            return f"{_shown(args[0])} names no run number"
        return RestoreRun(run_id, " ".join(args[1:]))
    if len(args) != 1:
        return "restore takes exactly one item"
    return _check_item(args[0]) or Restore(args[0])


def _parse_pause(args: list[str]) -> Parsed:
    return RequestSetting(SettingName.PAUSE, "on", " ".join(args).strip())


def _parse_resume(args: list[str]) -> Parsed:
    return RequestSetting(SettingName.PAUSE, "off", " ".join(args).strip())


def _parse_sell_mode(args: list[str]) -> Parsed:
    if not args:
        return "sell-mode takes a mode: active, read_only or retired"
    try:
        mode = SETTINGS[SettingName.SELL_MODE].parse(args[0])
    except Refused as exc:
        return str(exc)
    return RequestSetting(SettingName.SELL_MODE, mode.value, " ".join(args[1:]).strip())


def _parse_migrate(args: list[str]) -> Parsed:
    return RequestMigration(" ".join(args).strip())


def _parse_fields(args: list[str]) -> Parsed:
    if not args:
        return Fields()
    if args[0].lower() != "map":
        return f"unknown fields action {_shown(args[0])}"
    if len(args) != 3 or not args[1].strip() or not args[2].strip():
        return "fields map takes a HubSpot property and a Sell field name (quote names with spaces)"
    return MapField(args[1].strip(), args[2].strip())


def _check_item(word: str) -> str | None:
    """Why ``word`` names no record (``None`` when it does)."""
    if word.lower().startswith("hubspot:"):
        if parse_id(word[8:]) is not None:
            return None
        return f"{_shown(word)} is not a HubSpot contact id (hubspot:ID)"
    parsed = parse_items([word])
    if parsed.refs or parsed.emails:
        return None
    return f"{_shown(word)} is not an email, lead:ID, contact:ID, Sell URL or hubspot:ID"


#: Every ``/sellsync`` subcommand, in the order help lists them.
TABLE: tuple[Subcommand, ...] = (
    Subcommand(
        "push",
        ("ITEM…",),
        f"Add Sell records to HubSpot now (up to {MAX_ITEMS:,} at a time).",
        _parse_push,
        (Form(Push),),
        note="(ITEM = email, lead:ID, contact:ID, Sell URL or tag:NAME)",
    ),
    Subcommand(
        "status",
        ("[ITEM]",),
        "The sync at a glance; with ITEM, why that record did or didn't sync.",
        _parse_status,
        (Form(Status, instant=True, when=lambda c: c.board), Form(Status)),
    ),
    Subcommand(
        "threshold",
        ("[N [reason]]",),
        "The score threshold and what it lets in; with N, ask for a change (a manager approves).",
        _parse_threshold,
        (Form(ShowThreshold), Form(RequestThreshold)),
    ),
    Subcommand(
        "list",
        ("[LIST_ID [reason]]",),
        "The synced HubSpot list; with LIST_ID, ask to sync another (a manager approves).",
        _parse_list,
        (Form(ShowList), Form(RequestList)),
    ),
    Subcommand(
        "pause",
        ("[reason]",),
        "Ask to pause the sync: no run starts until a resume (a manager approves).",
        _parse_pause,
        (Form(RequestSetting),),
    ),
    Subcommand(
        "resume",
        ("[reason]",),
        "Ask to resume a paused sync (a manager approves).",
        _parse_resume,
        (Form(RequestSetting),),
    ),
    Subcommand(
        "sell-mode",
        ("active|read_only|retired [reason]",),
        "Ask to stop writing to Sell (read_only) or to stop calling it (retired); a manager "
        "approves.",
        _parse_sell_mode,
        (Form(RequestSetting),),
    ),
    Subcommand(
        "migrate",
        ("[reason]",),
        "Ask to move everything out of Sell into HubSpot, with the plan's counts (managers "
        "ask, another manager approves).",
        _parse_migrate,
        (Form(RequestMigration, managers="ask to move everything out of Sell"),),
    ),
    Subcommand(
        "conflicts",
        ("[PAGE]",),
        "Fields that changed on both sides, to review and resolve.",
        _parse_conflicts,
        (Form(Conflicts),),
    ),
    Subcommand(
        "health",
        (),
        "Records that keep failing, with the reason; managers retry or ignore them.",
        _parse_health,
        (Form(Health),),
    ),
    Subcommand(
        "run",
        (),
        "Sync now; the progress is posted in the channel.",
        _parse_run,
        (Form(Run, managers="start a sync"),),
    ),
    Subcommand(
        "restore",
        ("ITEM", "run:N [reason]"),
        "Lift a tombstone or a “deleted in HubSpot” mark; run:N lifts every one a run made.",
        _parse_restore,
        (
            Form(Restore, managers="restore deleted records"),
            Form(RestoreRun, managers="restore deleted records"),
        ),
    ),
    Subcommand(
        "fields",
        ('[map PROPERTY "Sell field"]',),
        "The synced fields; map syncs a HubSpot property with a Sell custom field.",
        _parse_fields,
        (Form(Fields), Form(MapField, managers="map fields")),
    ),
    Subcommand(
        "help",
        (),
        "This list.",
        _parse_help,
        (Form(Help, instant=True),),
        aliases=("-h", "--help", "?"),
    ),
)

USAGE_LINES: dict[str, str] = {row.name: row.usage for row in TABLE}

SUBCOMMANDS = tuple(USAGE_LINES)

USAGE: str = "\n".join(USAGE_LINES.values())

#: The manifests' usage hint (Slack shows it while typing the command).
USAGE_HINT: str = " | ".join(row.hint for row in TABLE)

#: How bad input is answered: inside the ack, by anyone.
INVALID_FORM = Form(Invalid, instant=True)


# --------------------------------------------------------------------------- the command


def read_command(text: str | None) -> tuple[Command, Form]:
    """The text after ``/sellsync`` as a command value, with how it is answered."""
    words = split_args(text)
    row = subcommand("help" if not words else words[0])
    if row is None:
        return Invalid(f"unknown subcommand {_shown(words[0])}"), INVALID_FORM
    parsed = row.parse(words[1:])
    if isinstance(parsed, str):
        return Invalid(parsed, row.usage), INVALID_FORM
    return parsed, row.form_of(parsed)


def subcommand(name: str) -> Subcommand | None:
    """The table's row for ``name`` (or one of its aliases), any case."""
    name = name.lower()
    return next((row for row in TABLE if name == row.name or name in row.aliases), None)


def parse_command(text: str | None) -> Command:
    """The text after ``/sellsync`` as a command value, or :class:`Invalid`."""
    return read_command(text)[0]


def form_of(command: Command) -> Form:
    """How ``command`` is answered (the table's form for it)."""
    if isinstance(command, Invalid):
        return INVALID_FORM
    return next(f for row in TABLE for f in row.forms if f.fits(command))


def _shown(text: str, limit: int = 60) -> str:
    """A piece of user input quoted in a reason, kept short and on one line."""
    one_line = " ".join(text.split())
    if len(one_line) > limit:
        one_line = one_line[: limit - 1] + "…"
    return f"“{one_line}”"


def _article(reason: str) -> str:
    """``not an email, …`` reads fine after "is"; anything else gets "invalid: "."""
    return reason if reason.startswith("not ") else f"invalid: {reason}"
