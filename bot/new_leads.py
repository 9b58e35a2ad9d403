"""Speed to lead in Slack: records sellsync created in Sell are posted to
``SLACK_NEW_LEADS_CHANNEL`` (when set) and sent to their Sell owner by direct message (whether
or not the channel is set, when Slack knows the owner's e-mail: ``users.lookupByEmail``, scope
``users:read.email``).

The engine calls :meth:`SlackNewLeads.announce` with each page's new records once they are
stored. Nothing here may fail a run: every Slack or Sell error is logged by its kind (never the
record's data) and the next announcement is tried as usual. The owner's e-mail comes from Sell
(``owner_email``, cached per owner); an owner Slack does not know (``users_not_found``) gets no
DM, and is not asked again until the process restarts. An app installed without the lookup's
scopes (``missing_scope``, an app not reinstalled since they were added) is told so once in the
log, and owners are not looked up again until the process restarts.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.new_leads import new_records_message
from bot.listeners.common import dm
from bot.settings import AppSettings
from sync.api import NewRecordNotifier, NewSellRecord, SellClient

log = logging.getLogger("sellsync.new_leads")

#: The Sell owner's e-mail for an owner id (None: unknown).
OwnerEmail = Callable[[int], str | None]


#: What Slack answers users.lookupByEmail for an app without its scopes.
_SCOPE_REFUSALS = frozenset({"missing_scope", "no_permission", "not_allowed_token_type"})


def _slack_error(exc: SlackApiError) -> str:
    response = exc.response
    return str(response.get("error", "")) if response is not None else "unknown"


class SlackNewLeads:
    """Announces new Sell records in a channel and to their owners (see the module docstring)."""

    def __init__(
        self, client: WebClient, channel: str | None, owner_email: OwnerEmail | None
    ) -> None:
        self.client = client
        self.channel = channel
        self.owner_email = owner_email
        self._slack_user: dict[str, str | None] = {}  # e-mail → Slack user id (None: unknown)
        self._lookups_refused = False  # the app lacks users.lookupByEmail's scopes

    def announce(self, records: Sequence[NewSellRecord]) -> None:
        if not records:
            return
        if self.channel:
            try:
                self.client.chat_postMessage(
                    channel=self.channel, **new_records_message(records).kwargs()
                )
            except SlackApiError as exc:
                log.warning(
                    "SLACK_NEW_LEADS_CHANNEL refused the announcement (%s)", _slack_error(exc)
                )
        if self.owner_email is None or self._lookups_refused:
            return
        by_owner: dict[int, list[NewSellRecord]] = defaultdict(list)
        for record in records:
            if record.owner_id is not None:
                by_owner[record.owner_id].append(record)
        for owner_id, owned in by_owner.items():
            user = self._owner_in_slack(owner_id)
            if user is None:
                continue
            try:
                dm(self.client, user, new_records_message(owned, for_owner=True))
            except SlackApiError as exc:
                log.warning("the Sell owner's direct message failed (%s)", _slack_error(exc))

    def _owner_in_slack(self, owner_id: int) -> str | None:
        assert self.owner_email is not None
        try:
            email = self.owner_email(owner_id)
        except Exception as exc:  # Sell unreachable: the channel post is what is left
            log.warning("the Sell owner could not be read (%s)", type(exc).__name__)
            return None
        if not email:
            return None
        key = email.strip().lower()
        if key not in self._slack_user:
            try:
                answer = self.client.users_lookupByEmail(email=email)
                user = answer.get("user") or {}
                self._slack_user[key] = str(user.get("id")) if user.get("id") else None
            except SlackApiError as exc:
                error = _slack_error(exc)
                if error in _SCOPE_REFUSALS:
                    self._lookups_refused = True
                    log.warning(
                        "Slack refused users.lookupByEmail (%s): new Sell records' owners get no "
                        "direct message until the app has the users:read and users:read.email "
                        "scopes (reinstall it from manifest.yml) and sellsync restarts",
                        error,
                    )
                    return None
                if error != "users_not_found":
                    log.warning("Slack could not look up the Sell owner (%s)", error)
                    return None  # asked again next time
                self._slack_user[key] = None
        return self._slack_user[key]


def new_leads_notifier(settings: AppSettings, sell: SellClient) -> NewRecordNotifier | None:
    """The announcer of new Sell records when a bot token is set (None otherwise): it posts in
    ``SLACK_NEW_LEADS_CHANNEL`` when that is set, and tells each record's Sell owner by DM
    either way."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    if not token:
        return None
    client = WebClient(token=token, base_url=settings.slack_api_url)
    return SlackNewLeads(client, settings.slack_new_leads_channel, sell.owners.email_of)
