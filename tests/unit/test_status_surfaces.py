"""The status board is one structured value (``StatusView``) worded once per surface: Slack's
``status_message`` (``/sellsync status``, and the App Home shows it as it is) and the terminal's
``render_status``. What the board says (which link states to list, whether the figures are so
far) is decided by the value; the surfaces only word it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.blocks.home import home_view
from bot.blocks.status import status_message
from bot.terminal import render_status
from sync.ports import RunRecord
from sync.service import ConflictPage, StatusView

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _view(*, running: bool = False, links: dict[str, int] | None = None) -> StatusView:
    done = RunRecord(1, T0, T0 + timedelta(seconds=5), "schedule", "ok", {"created_in_sell": 2})
    going = RunRecord(2, T0 + timedelta(hours=1), None, "cli", "running", {})
    runs = [going, done] if running else [done]
    return StatusView(
        threshold=50,
        list_id="7",
        last_run=runs[0],
        next_run=None,
        open_conflicts=3,
        pending_requests=1,
        links={"active": 4, "tombstoned": 0, "hubspot_deleted": 2} if links is None else links,
        recent_runs=runs,
    )


def _home(view: StatusView) -> str:
    page = ConflictPage([], 0, 0, 10)
    return json.dumps(home_view(view, [], page, viewer="U1", viewer_is_manager=False).to_dict())


def test_the_app_home_words_the_status_board_once_as_slash_status_does() -> None:
    for view in (_view(), _view(running=True), _view(running=True, links={})):
        board = [b.to_dict() for b in status_message(view).blocks]
        home = json.loads(_home(view))["blocks"]
        starts = [i for i in range(len(home)) if home[i : i + len(board)] == board]
        assert len(starts) == 1, "the App Home shows the board as /sellsync status does"
        links = board[-1]["elements"][0]["text"]
        assert links.startswith("Links")
        assert _home(view).count(json.dumps(links)[1:-1]) == 1  # said once, not twice


def test_the_board_decides_which_link_states_to_list_and_every_surface_lists_them() -> None:
    view = _view()
    assert view.link_counts == [("active", 4), ("hubspot_deleted", 2)]
    slack = json.dumps(status_message(view).to_dict(), ensure_ascii=False)
    terminal = render_status(view)
    assert "active *4* · deleted in HubSpot *2*" in slack and "tombstoned" not in slack
    assert "Links:              active 4, hubspot deleted 2" in terminal
    assert "tombstoned" not in terminal


def test_while_a_run_goes_on_every_surface_says_the_figures_are_so_far() -> None:
    quiet, running = _view(), _view(running=True)
    assert not quiet.so_far and running.so_far
    for say in (
        lambda v: json.dumps(status_message(v).to_dict(), ensure_ascii=False),
        _home,
        render_status,
    ):
        assert "so far" not in say(quiet)
        assert "3 so far" in say(running) and "run #2" in say(running)
