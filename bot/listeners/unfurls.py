"""Record links unfurl into a card: ``link_shared`` → the explanation ``status ITEM`` gives →
``chat.unfurl``; the card's *Push to HubSpot* and *Why* buttons.

Slack sends ``link_shared`` for links on the manifest's unfurl domains; a link is unfurled when
it names a record (a Sell lead or contact page, a HubSpot contact page) on one of those
domains, and only where the bot is a member (Slack says so in the event). The event is
answered at once and the CRM lookups happen after it, on the work lane: a slow CRM never delays
Slack's 3 seconds. A message with many links unfurls the first :data:`MAX_LINKS` records.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import action_ids as ids
from bot.blocks.common import notice
from bot.blocks.push import push_result
from bot.blocks.status import explanation_message
from bot.blocks.unfurl import card_dict, unfurl_card, unreadable_card
from bot.listeners.common import Body, Deps, first_action, guarded, report_error, tell, user_id
from sync.api import SellRef, SyncError, parse_id, parse_sell_url

log = logging.getLogger("sellsync.bot.unfurls")

#: Records unfurled per message (Slack sends every link of the message in one event).
MAX_LINKS = 5
#: Longer URLs are no record link of either CRM.
MAX_URL = 2000

OUT_OF_DATE = ":warning: That button is out of date; paste the record's link again."

# HubSpot's contact pages: /contacts/{portal}/record/0-1/{id} and the older /contacts/{portal}/contact/{id}
_HUBSPOT_CONTACT = re.compile(
    r"/contacts/(?P<portal>[0-9]{1,19})/(?:record/0-1|contact)/(?P<id>[0-9]{1,19})(?:/.*)?",
    re.IGNORECASE,
)
_HUBSPOT_HOST = "app.hubspot.com"


def record_item(url: object) -> str | None:
    """The record a link names, as ``status ITEM`` takes it (``lead:12``, ``contact:7``,
    ``hubspot:901``), when the link is on an unfurl domain; None for anything else."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        return None
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".").lower()
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or host not in ids.UNFURL_DOMAINS:
        return None
    if port is not None or parts.username or parts.password:
        return None
    if host == _HUBSPOT_HOST:
        found = _HUBSPOT_CONTACT.fullmatch(parts.path)
        contact = parse_id(found.group("id")) if found else None
        return None if contact is None else f"hubspot:{contact}"
    ref = parse_sell_url(url)
    return str(ref) if isinstance(ref, SellRef) else None


def shared_records(event: dict[str, Any]) -> dict[str, str]:
    """The event's record links (URL → item), in order, at most :data:`MAX_LINKS`."""
    links = event.get("links")
    found: dict[str, str] = {}
    if not isinstance(links, list):
        return found
    for link in links[:100]:
        url = link.get("url") if isinstance(link, dict) else None
        item = record_item(url)
        if item is not None and isinstance(url, str) and url not in found:
            found[url] = item
            if len(found) >= MAX_LINKS:
                break
    return found


def _where(event: dict[str, Any]) -> dict[str, str] | None:
    """Which message ``chat.unfurl`` acts on: ``unfurl_id`` + ``source`` when Slack gave
    them (they also cover a message still being composed), else ``channel`` + ``ts``."""
    unfurl_id, source = event.get("unfurl_id"), event.get("source")
    if isinstance(unfurl_id, str) and unfurl_id and isinstance(source, str) and source:
        return {"unfurl_id": unfurl_id, "source": source}
    channel, ts = event.get("channel"), event.get("message_ts")
    if isinstance(channel, str) and channel and isinstance(ts, str) and ts:
        return {"channel": channel, "ts": ts}
    return None


def _ack(ack: Ack) -> None:
    ack()


def register(app: App, deps: Deps) -> None:
    service = deps.service

    def card(item: str, body: Body) -> dict[str, Any]:
        try:
            blocks = unfurl_card(service.explain(item), urls=deps.urls)
        except SyncError as exc:  # a CRM down or refusing: words built without secrets
            log.info("could not unfurl %s: %s", item, deps.scrub(str(exc)))
            blocks = unreadable_card(item, deps.scrub(str(exc)), urls=deps.urls)
        except Exception as exc:
            report_error(exc, body=body, client=None, respond=None, secrets=deps.secrets)
            blocks = unreadable_card(
                item, "an unexpected error; see sellsync's log", urls=deps.urls
            )
        return card_dict(blocks)

    def unfurl(body: Body, client: WebClient, respond: Respond) -> None:
        del respond
        event = body.get("event")
        if not isinstance(event, dict) or event.get("is_bot_user_member") is not True:
            return  # only where the bot is a member
        records = shared_records(event)
        where = _where(event)
        if not records or where is None:
            return
        cards: dict[str, dict[str, Any]] = {}
        for url, item in records.items():
            cards[url] = card(item, body)
        try:
            if "unfurl_id" in where:
                client.chat_unfurl(
                    unfurl_id=where["unfurl_id"], source=where["source"], unfurls=cards
                )
            else:
                client.chat_unfurl(channel=where["channel"], ts=where["ts"], unfurls=cards)
        except SlackApiError as exc:
            log.warning("Slack refused the unfurl: %s", exc.response.get("error"))

    def why(body: Body, client: WebClient, respond: Respond) -> None:
        item = ids.decode_record(first_action(body).get("value"))
        if item is None:
            tell(body, client, respond, notice(OUT_OF_DATE))
            return
        tell(body, client, respond, explanation_message(service.explain(item), urls=deps.urls))

    def push(body: Body, client: WebClient, respond: Respond) -> None:
        item = ids.decode_record(first_action(body).get("value"))
        if item is None or item.startswith("hubspot:"):
            tell(body, client, respond, notice(OUT_OF_DATE))
            return
        report = service.push([item], actor=deps.actor(user_id(body)))
        tell(body, client, respond, push_result(report, urls=deps.urls))
        refresh(body, client, item)

    def refresh(body: Body, client: WebClient, item: str) -> None:
        """The card the button was on, unfurled again as the record stands now (everyone in
        the channel sees it linked), when Slack said which link and message it was under."""
        container = body.get("container") or {}
        url, channel, ts = (
            container.get(k) for k in ("app_unfurl_url", "channel_id", "message_ts")
        )
        if not (
            container.get("is_app_unfurl") and isinstance(url, str) and record_item(url) == item
        ):
            return
        if not (isinstance(channel, str) and channel and isinstance(ts, str) and ts):
            return
        try:
            client.chat_unfurl(channel=channel, ts=ts, unfurls={url: card(item, body)})
        except SlackApiError as exc:
            log.info("the card under %s was not refreshed: %s", item, exc.response.get("error"))

    app.event("link_shared")(ack=_ack, lazy=[guarded(deps, unfurl)])
    app.action(ids.UNFURL_WHY)(ack=_ack, lazy=[guarded(deps, why)])
    app.action(ids.UNFURL_PUSH)(ack=_ack, lazy=[guarded(deps, push)])
