"""Charts uploaded beside the text they illustrate, with slack_sdk's ``files_upload_v2``.

The text always goes first and stays whole (screen readers and notifications read it); a chart
is a picture of the same figures, with alt text. An upload that fails — rendering, Slack
refusing (``missing_scope`` when ``files:write`` was not granted, ``not_in_channel`` …), the
upload URL unreachable — is one warning in the log and nothing else: the command or the summary
it illustrates has already been answered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.common import escape, plural
from bot.charts import Chart, threshold_chart, trend_chart
from sync.api import TREND_RUN_LIMIT, RunTrend, SyncService, ThresholdImpact, daily_trend

log = logging.getLogger("sellsync.bot.charts")


def upload_chart(
    client: WebClient,
    channel: str,
    render: Callable[[], Chart],
    *,
    comment: str | None = None,
    thread_ts: str | None = None,
) -> str | None:
    """Render a chart and share it in ``channel`` (in the thread of ``thread_ts`` when given);
    its file id, or None when it did not go out (logged once, never raised)."""
    what = getattr(render, "__name__", "chart")
    if not channel:
        log.warning("%s not uploaded: no channel to share it in", what)
        return None
    try:
        chart = render()
        response = client.files_upload_v2(
            channel=channel,
            file=chart.png,
            filename=chart.filename,
            title=chart.title,
            alt_txt=chart.alt,
            initial_comment=comment,
            thread_ts=thread_ts,
        )
    except SlackApiError as exc:
        error = exc.response.get("error", "") if exc.response is not None else ""
        log.warning("%s not uploaded to %s: Slack answered %s", what, channel, error or "an error")
        return None
    except Exception as exc:  # rendering, the upload URL, the network: never the caller's
        log.warning("%s not uploaded to %s: %s", what, channel, type(exc).__name__)
        return None
    file = response.get("file") or {}
    return str(file.get("id") or "") or None


def share_threshold_chart(
    client: WebClient, channel: str, impact: ThresholdImpact, *, thread_ts: str | None = None
) -> str | None:
    """The impact of ``/sellsync threshold`` as a bar chart, in the channel it was asked in;
    a request's (its proposed value marked) in the thread of its approvals message. Nothing
    before the first sync has recorded the members' scores."""
    if impact.as_of is None or not impact.rows:
        return None

    def threshold_impact_chart() -> Chart:
        return threshold_chart(impact)

    if impact.proposed is None:
        comment = (
            f"The engagement-score threshold is {impact.current:,}: who would enter Sell at it "
            "and at nearby values (`/sellsync threshold` has the numbers)."
        )
    else:
        comment = (
            f"Who would enter Sell at the proposed threshold {impact.proposed:,}, beside the "
            f"{impact.current:,} in force and nearby values (the request above has the numbers)."
        )
    return upload_chart(
        client, channel, threshold_impact_chart, comment=escape(comment), thread_ts=thread_ts
    )


def run_trend(service: SyncService) -> RunTrend:
    """Runs, changes and failures per day over the last 14 days, from the stored runs."""
    return daily_trend(service.runs(TREND_RUN_LIMIT), today=service.clock.now().date())


def share_trend_chart(client: WebClient, channel: str, service: SyncService) -> str | None:
    """The summary's trend as a chart, in the summary channel (not when nothing ran)."""
    trend = run_trend(service)
    if trend.empty:
        return None

    def sync_trend_chart() -> Chart:
        return trend_chart(trend)

    return upload_chart(
        client,
        channel,
        sync_trend_chart,
        comment=(
            f"The last {len(trend.days)} days: {plural(trend.runs, 'run')}, "
            f"{plural(trend.changes, 'record')} changed, {plural(trend.failures, 'failure')}."
        ),
    )
