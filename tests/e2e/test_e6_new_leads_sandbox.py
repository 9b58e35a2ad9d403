"""Speed to lead end to end over the sandbox servers: a run that creates a lead in Sell announces
it in the new-leads channel and to its Sell owner by DM (found with Slack's
``users.lookupByEmail``), through the real clients, the SQLite store and the engine."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.new_leads import SlackNewLeads, new_leads_notifier
from bot.settings import AppSettings
from sandbox import Sandbox
from sync.clients.sell import SellClient
from sync.engine import Engine
from sync.new_records import NewSellRecord
from tests.e2e.conftest import engine_over

CHANNEL = "C0NEWLEADS"
OWNER_EMAIL = "sandra.box@sandbox.example"  # the sandbox Sell user who owns what is created


def _world(sb: Sandbox, lastname: str = "Lovelace") -> str:
    sb.reset("empty")
    for kind in ("lead", "contact"):
        sb.sell.add_custom_field(kind, "HubSpot score", "number")
        sb.sell.add_custom_field(kind, "HubSpot public contact URL", "url")
    sb.slack.set_channel(CHANNEL, "new-leads")
    list_id = sb.hubspot.create_list("Sell sync", "MANUAL")
    cid = sb.hubspot.add_contact(
        {
            "email": "ada@example.com",
            "firstname": "Ada",
            "lastname": lastname,
            "hubspotscore": "80",
            "hs_analytics_source": "ORGANIC_SEARCH",
        }
    )
    sb.hubspot.add_to_list(list_id, [cid])
    return list_id


@contextmanager
def _engine(sb: Sandbox, tmp_path: Path, list_id: str) -> Iterator[Engine]:
    with engine_over(sb, f"sqlite:///{tmp_path}/e6.db", list_id) as engine:
        yield engine


def _notifier(sb: Sandbox, engine: Engine, channel: str | None = CHANNEL) -> SlackNewLeads:
    sell = engine.sell
    assert isinstance(sell, SellClient)
    client = WebClient(token=sb.slack_token, base_url=sb.slack_url)
    return SlackNewLeads(client, channel, sell.owners.email_of)


def _text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks") or []) + str(message.get("text"))


def _dms(sb: Sandbox) -> list[dict[str, Any]]:
    return [m for m in sb.slack.sent("chat.postMessage") if m.get("channel") != CHANNEL]


def test_e6_a_lead_created_in_sell_is_announced_in_the_channel(sb: Sandbox, tmp_path: Path) -> None:
    list_id = _world(sb)
    with _engine(sb, tmp_path, list_id) as engine:
        engine.announce = _notifier(sb, engine)
        report = engine.run(trigger="test")
        assert report.failure is None and report.counts()["created_in_sell"] == 1
        (lead,) = sb.sell.records("lead")
        (post,) = sb.slack.sent("chat.postMessage", channel=CHANNEL)
        text = _text(post)
        assert "Ada Lovelace" in text
        assert "score *80*" in text
        assert "source *" in text
        assert f"https://app.futuresimple.com/leads/{lead['id']}" in text
        assert "app.hubspot.com/contacts/" in text
        # a second run creates nothing and announces nothing
        assert engine.run(trigger="test").failure is None
        assert len(sb.slack.sent("chat.postMessage", channel=CHANNEL)) == 1


def test_e6_the_sell_owner_is_told_by_dm_when_slack_knows_their_email(
    sb: Sandbox, tmp_path: Path
) -> None:
    list_id = _world(sb)
    sb.slack.set_user("U0SANDRA1", real_name="Sandra Box", profile={"email": OWNER_EMAIL})
    with _engine(sb, tmp_path, list_id) as engine:
        engine.announce = _notifier(sb, engine)
        assert engine.run(trigger="test").failure is None
        (dm,) = _dms(sb)
        assert dm["channel"] == "DU0SANDRA1"  # the DM conversations.open gave for the owner
        assert "for you" in _text(dm) and "Ada Lovelace" in _text(dm)


def test_e6_no_dm_for_an_owner_slack_does_not_know(sb: Sandbox, tmp_path: Path) -> None:
    list_id = _world(sb)
    sb.slack.set_user("U0OTHER01", profile={"email": "someone.else@sandbox.example"})
    with _engine(sb, tmp_path, list_id) as engine:
        engine.announce = _notifier(sb, engine)
        assert engine.run(trigger="test").failure is None
        assert len(sb.slack.sent("chat.postMessage", channel=CHANNEL)) == 1
        assert _dms(sb) == []
        lookups = [c for c in sb.slack.calls if c.path.endswith("users.lookupByEmail")]
        assert [c.status for c in lookups] == [200]  # asked once; Slack said users_not_found


def _settings(sb: Sandbox, **values: Any) -> AppSettings:
    return AppSettings(
        _env_file=None,  # type: ignore[call-arg]
        slack_api_url=sb.slack_url,
        **values,
    )


def test_e6_without_the_channel_the_owner_is_still_told_by_dm(sb: Sandbox, tmp_path: Path) -> None:
    list_id = _world(sb)
    sb.slack.set_user("U0SANDRA1", profile={"email": OWNER_EMAIL})
    with _engine(sb, tmp_path, list_id) as engine:
        assert isinstance(engine.sell, SellClient)
        engine.announce = new_leads_notifier(
            _settings(sb, slack_bot_token=sb.slack_token), engine.sell
        )
        assert engine.run(trigger="test").counts()["created_in_sell"] == 1
        assert sb.slack.sent("chat.postMessage", channel=CHANNEL) == []
        (dm,) = _dms(sb)
        assert dm["channel"] == "DU0SANDRA1" and "Ada Lovelace" in _text(dm)


def test_e6_nothing_is_announced_without_a_bot_token(sb: Sandbox, tmp_path: Path) -> None:
    list_id = _world(sb)
    sb.slack.set_user("U0SANDRA1", profile={"email": OWNER_EMAIL})
    with _engine(sb, tmp_path, list_id) as engine:
        assert isinstance(engine.sell, SellClient)
        engine.announce = new_leads_notifier(
            _settings(sb, slack_new_leads_channel=CHANNEL), engine.sell
        )
        assert engine.announce is None
        assert engine.run(trigger="test").counts()["created_in_sell"] == 1
        assert sb.slack.sent() == []


def test_e6_an_app_without_the_lookup_scope_says_so_once_and_stops_asking(
    sb: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    list_id = _world(sb)
    sb.slack.set_user("U0SANDRA1", profile={"email": OWNER_EMAIL})
    sb.slack.scopes.remove("users:read.email")
    with _engine(sb, tmp_path, list_id) as engine, caplog.at_level(logging.WARNING):
        engine.announce = _notifier(sb, engine)
        assert engine.run(trigger="test").counts()["created_in_sell"] == 1
        grace = sb.hubspot.add_contact(
            {
                "email": "grace@example.com",
                "firstname": "Grace",
                "lastname": "Hopper",
                "hubspotscore": "90",
            }
        )
        sb.hubspot.add_to_list(list_id, [grace])
        assert engine.run(trigger="test").counts()["created_in_sell"] == 1
    assert len(sb.slack.sent("chat.postMessage", channel=CHANNEL)) == 2  # the channel still hears
    assert _dms(sb) == []
    lookups = [c for c in sb.slack.calls if c.path.endswith("users.lookupByEmail")]
    assert len(lookups) == 1
    refusals = [r for r in caplog.records if "users.lookupByEmail" in r.getMessage()]
    assert len(refusals) == 1 and "users:read.email" in refusals[0].getMessage()


def test_e6_an_announcement_that_fails_never_fails_the_run(sb: Sandbox, tmp_path: Path) -> None:
    list_id = _world(sb)

    class Broken:
        def announce(self, records: Sequence[NewSellRecord]) -> None:
            raise RuntimeError("Slack is down")

    with _engine(sb, tmp_path, list_id) as engine:
        engine.announce = Broken()
        report = engine.run(trigger="test")
        assert report.failure is None and report.counts()["created_in_sell"] == 1
        assert len(sb.sell.records("lead")) == 1


def test_e6_a_slack_error_on_the_channel_still_tells_the_owner(sb: Sandbox, tmp_path: Path) -> None:
    list_id = _world(sb)
    sb.slack.set_user("U0SANDRA1", profile={"email": OWNER_EMAIL})
    with _engine(sb, tmp_path, list_id) as engine:
        engine.announce = _notifier(sb, engine)
        sb.slack.inject("401", path_prefix="/api/chat.postMessage", times=1)  # the channel post
        report = engine.run(trigger="test")
        assert report.failure is None
        assert sb.slack.sent("chat.postMessage", channel=CHANNEL) == []
        assert len(_dms(sb)) == 1
