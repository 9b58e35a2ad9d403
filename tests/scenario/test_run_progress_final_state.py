"""``/sellsync run``'s progress message always reaches a final state: done, failed with a
classified reason (also when the run raised instead of reporting), or interrupted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.scenario.conftest import CHANNEL, MANAGER, Bot, message_text


def final_message(bot: Bot) -> str:
    (posted,) = bot.sent("chat.postMessage", channel=CHANNEL)
    (final,) = bot.channel_messages(CHANNEL)
    assert final["ts"] == posted["ts"]  # the progress message itself, updated in place
    return message_text(final)


def test_a_run_whose_database_fails_mid_run_turns_its_progress_message_into_a_failure(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot.world.member(score=80, email="d@example.com", lastname="D")

    def disk_full(*args: object, **kwargs: object) -> None:
        raise sa.exc.OperationalError("INSERT INTO links ...", {}, Exception("disk is full"))

    monkeypatch.setattr(bot.world.store, "save_links", disk_full)
    reply = bot.command("run", user=MANAGER).reply()
    assert "Something went wrong" in message_text(reply)  # the user is told, as before
    text = final_message(bot)
    assert "Sync running" not in text
    assert "failed: sellsync's database failed" in text
    assert "disk is full" not in text and "INSERT" not in text  # the kind, never the text
    assert bot.world.store.recent_runs(1)[0].status == "failed"


def test_a_run_stopped_by_the_process_shutting_down_says_so_in_its_progress_message(
    bot: Bot,
) -> None:
    bot.world.member(score=80, email="i@example.com", lastname="I")
    bot.world.service.interrupt("SIGTERM")  # serve is stopping: the run stops at its next page
    bot.command("run", user=MANAGER)
    text = final_message(bot)
    assert "was interrupted" in text and "Sync running" not in text
    (run,) = bot.world.store.recent_runs(1)
    assert run.status == "interrupted" and run.error == "interrupted by SIGTERM"
