"""The Sell mode in Slack: the line the status board, App Home and summaries show, and the
second confirmation a manager gives to retire Sell before the migration is verified."""

from __future__ import annotations

from bot import action_ids as ids
from bot.blocks.common import Message, actions, button, confirm, section
from sync.api import RetireUnverified, SellMode

#: What each mode means, in one line.
MODE_WORDS = {
    SellMode.ACTIVE: "active: sellsync reads and writes Sell",
    SellMode.READ_ONLY: "read-only: nothing is written to Sell; its changes still reach HubSpot",
    SellMode.RETIRED: "retired: Sell is not called; HubSpot is the system of record",
}


def sell_mode_line(mode: SellMode) -> str:
    """``*Sell:* read-only: nothing is written to Sell; …`` (mrkdwn)."""
    icon = {SellMode.ACTIVE: "", SellMode.READ_ONLY: ":lock: ", SellMode.RETIRED: ":no_entry: "}
    return f"{icon[mode]}*Sell:* {MODE_WORDS[mode]}"


def _unverified_words(error: RetireUnverified) -> str:
    if error.unverified is None:
        return "No migration to HubSpot was run and verified"
    n = error.unverified
    return f"{n:,} moved item{'' if n == 1 else 's'} no verification vouches for"


def retire_unverified_message(request_id: int, error: RetireUnverified) -> Message:
    """The second confirmation: what is not verified, and a button that retires Sell anyway."""
    what = _unverified_words(error)
    text = (
        f":warning: *{what}.* Retiring Sell stops every call to it, and Zendesk deletes Sell's "
        "data when it shuts Sell down. Verify the migration first (`sellsync migrate --verify`) "
        "and export Sell's data (`sellsync export PATH`), or retire it anyway."
    )
    return Message(
        f"Retiring Sell needs a second confirmation: {what}",
        [
            section(text),
            actions(
                button(
                    "Retire Sell anyway",
                    ids.APPROVE_UNVERIFIED,
                    ids.encode_request(request_id),
                    style="danger",
                    confirm=confirm(
                        "Retire Sell unverified?",
                        f"{what}. Sell will not be called any more.",
                        "Retire Sell",
                    ),
                )
            ),
        ],
    )
