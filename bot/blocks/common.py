"""Shared pieces of every builder: Slack's limits, escaping and clipping, small block helpers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from sync.api import Trigger, trigger_parts

# --------------------------------------------------------------------------- Slack's limits

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
SECTION_TEXT = 3000
FIELD_TEXT = 2000
MAX_FIELDS = 10
HEADER_TEXT = 150
BUTTON_TEXT = 75
CONTEXT_ELEMENTS = 10
FALLBACK_TEXT = 3000  # the notification text of a message (Slack allows more; keep it short)

# --------------------------------------------------------------------------- text


def escape(text: object) -> str:
    """Make user data inert in mrkdwn: no mentions, links or broken entities."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quote(text: object) -> str:
    """``text`` as a block quote, line by line: every line escaped and behind its own ``>``.

    Slack ends a quote at a line break, so quoting only the first line would let the next ones
    pass for the app's own words (a forged "*Approved by …*" under a request's reason).
    """
    lines = str(text).splitlines() or [""]
    return "\n".join(f"> {escape(line)}" for line in lines)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis; never cuts an ``&…;`` entity."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    amp = cut.rfind("&")
    if amp >= 0 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def code(value: object, limit: int = 300) -> str:
    """A value shown as inline code (escaped, backticks neutralised, clipped); empty → _empty_."""
    if value is None or str(value).strip() == "":
        return "_empty_"
    one_line = " ".join(str(value).split())
    return "`" + clip(escape(one_line.replace("`", "'")), limit) + "`"


_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


def who(user_id: str | None) -> str:
    """A Slack mention for a user id; the scheduler, the CLI and the like as plain words."""
    if not user_id:
        return "someone"
    if _SLACK_USER.match(user_id):
        return f"<@{user_id}>"
    return {"cli": "the command line", "sellsync": "sellsync", "schedule": "the schedule"}.get(
        user_id, escape(user_id)
    )


def stamp(moment: datetime | None) -> str:
    """A time as plain text in UTC (a terminal, a log, Slack's fallback): ``2026-11-30 06:29 UTC``."""
    if moment is None:
        return "never"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def when(moment: datetime | None) -> str:
    """A time every reader sees in their own time zone (with a UTC fallback)."""
    if moment is None:
        return "never"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{stamp(moment)}>"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


# --------------------------------------------------------------------------- outcomes

OUTCOME_LABELS: dict[str, str] = {
    "created_in_sell": "created in Sell",
    "created_in_hubspot": "created in HubSpot",
    "merged": "merged",
    "updated_sell": "updated in Sell",
    "updated_hubspot": "updated in HubSpot",
    "conflict_opened": "conflicts opened",
    "conflict_resolved": "conflicts resolved",
    "tombstoned": "deleted in Sell (tombstoned)",
    "hubspot_deleted": "deleted in HubSpot",
    "converted": "leads converted (links moved)",
    "hubspot_merged": "merged in HubSpot (links moved)",
    "link_conflict": "link conflicts",
    "held_for_approval": "held for a manager's approval (bulk guard)",
    "skipped": "skipped",
    "error": "errors",
}


def outcome_label(key: str) -> str:
    return OUTCOME_LABELS.get(key, key.replace("_", " "))


def counted_outcomes(counts: Mapping[str, int]) -> list[str]:
    """The outcomes that happened, in :data:`OUTCOME_LABELS` order (``skipped:REASON`` left out)."""
    order = list(OUTCOME_LABELS)
    return sorted(
        (k for k, v in counts.items() if v and not k.startswith("skipped:")),
        key=lambda k: (order.index(k) if k in order else len(order), k),
    )


def counts_line(counts: Mapping[str, int], *, empty: str = "nothing to do") -> str:
    """``created in HubSpot 3 · merged 1 · skipped 2`` in a stable order."""
    keys = counted_outcomes(counts)
    if not keys:
        return empty
    return " · ".join(f"{outcome_label(k)} *{counts[k]:,}*" for k in keys)


#: What started a run, in words; Slack and the terminal both word it with :func:`trigger_text`.
TRIGGER_WORDS = {
    Trigger.SCHEDULE: "on schedule",
    Trigger.SLACK: "from Slack",
    Trigger.CLI: "from the command line",
    Trigger.EVENTS: "from CRM events",
    Trigger.POLL: "by the short poll",
}


def trigger_text(
    stored: str,
    *,
    person: Callable[[str], str] = who,
    raw: Callable[[str], str] = escape,
) -> str:
    """``on schedule``, ``from Slack``, ``from the command line``, ``push by @Riley``: one
    wording of a run's stored trigger (older stored values included). ``person`` words who
    pushed and ``raw`` makes an unknown value safe, each for where it is shown."""
    kind, actor = trigger_parts(stored)
    if kind is Trigger.PUSH:
        return f"push by {person(actor)}" if actor else "push"
    if kind is not None:
        return TRIGGER_WORDS[kind]
    return raw(actor)


# --------------------------------------------------------------------------- blocks


def mrkdwn(text: str, limit: int = SECTION_TEXT) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, limit))


def plain(text: str, limit: int = BUTTON_TEXT) -> PlainTextObject:
    return PlainTextObject(text=clip(text, limit), emoji=True)


def _at_most(items: Sequence[str], limit: int) -> list[str]:
    """``items`` when they fit; else the first ``limit - 1`` and "…and N more" (never cut silently)."""
    if len(items) <= limit:
        return list(items)
    return [*items[: limit - 1], f"…and {len(items) - limit + 1:,} more"]


def section(text: str, *, block_id: str | None = None, fields: Sequence[str] = ()) -> SectionBlock:
    return SectionBlock(
        block_id=block_id,
        text=mrkdwn(text),
        fields=[mrkdwn(f, FIELD_TEXT) for f in _at_most(fields, MAX_FIELDS)] or None,
    )


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=plain(text, HEADER_TEXT))


def context(*texts: str, block_id: str | None = None) -> ContextBlock:
    return ContextBlock(
        block_id=block_id,
        elements=[mrkdwn(t) for t in _at_most([t for t in texts if t], CONTEXT_ELEMENTS)],
    )


def divider() -> DividerBlock:
    return DividerBlock()


def button(
    text: str,
    action_id: str,
    value: str,
    *,
    style: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    return ButtonElement(
        text=plain(text), action_id=action_id, value=value, style=style, confirm=confirm
    )


def actions(*elements: ButtonElement, block_id: str | None = None) -> ActionsBlock:
    return ActionsBlock(block_id=block_id, elements=list(elements[:25]))


def confirm(title: str, text: str, yes: str, no: str = "Cancel") -> ConfirmObject:
    return ConfirmObject(
        title=plain(title, 100), text=mrkdwn(text, 300), confirm=plain(yes, 30), deny=plain(no, 30)
    )


def bullet_sections(
    lines: Iterable[str], *, max_blocks: int, more: str = "…and {n:,} more"
) -> list[Block]:
    """Lines packed into as few sections as fit (3,000 characters each), at most ``max_blocks``.

    When they do not all fit, the last section ends with ``more`` (``{n}`` = lines left out).
    """
    lines = [clip(line, SECTION_TEXT - 100) for line in lines]
    chunks: list[list[str]] = []
    size = 0
    for line in lines:
        if chunks and size + len(line) + 1 <= SECTION_TEXT - 100:
            chunks[-1].append(line)
            size += len(line) + 1
        else:
            chunks.append([line])
            size = len(line)
    if len(chunks) > max_blocks:
        kept = chunks[:max_blocks]
        shown = sum(len(c) for c in kept)
        kept[-1] = [*kept[-1], more.format(n=len(lines) - shown)]
        chunks = kept
    return [section("\n".join(chunk)) for chunk in chunks]


# --------------------------------------------------------------------------- message


@dataclass(frozen=True)
class Message:
    """A message: its notification text and at most 50 blocks."""

    text: str
    blocks: Sequence[Block] = field(default_factory=list)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", clip(self.text, FALLBACK_TEXT))
        object.__setattr__(self, "blocks", list(self.blocks))
        if len(self.blocks) > MAX_MESSAGE_BLOCKS:
            kept = list(self.blocks[: MAX_MESSAGE_BLOCKS - 1])
            kept.append(context(f"…{plural(len(self.blocks) - len(kept), 'more block')} not shown"))
            object.__setattr__(self, "blocks", kept)

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``chat_postMessage`` / ``chat_update`` / ``respond`` / ``ack``."""
        return {"text": self.text, "blocks": self.blocks}

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": [b.to_dict() for b in self.blocks]}


def fit_view_blocks(blocks: list[Block]) -> list[Block]:
    """At most 100 blocks in a modal or Home tab."""
    if len(blocks) <= MAX_VIEW_BLOCKS:
        return blocks
    kept = blocks[: MAX_VIEW_BLOCKS - 1]
    kept.append(context(f"…{plural(len(blocks) - len(kept), 'more block')} not shown"))
    return kept


# --------------------------------------------------------------------------- small messages


def notice(text: str) -> Message:
    """A one-line answer (a refusal, an acknowledgement, a note)."""
    return Message(text, [section(text)])


def invalid_input(reason: str, usage: str) -> Message:
    """Bad input: the one-line reason, then the usage."""
    line = f":warning: {clip(escape(reason), 500)}"
    usage_text = "\n".join(f"`{u}`" for u in usage.splitlines())
    return Message(escape(reason), [section(line), context(f"Usage:\n{usage_text}")])
