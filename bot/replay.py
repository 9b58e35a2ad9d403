"""Replayed Slack requests are refused (SPEC §7).

Bolt already refuses unsigned, forged and stale (> 5 min) requests. A captured request replayed
within those 5 minutes carries a valid signature, so each signature is accepted once: it is
recorded as a marker in the database (the lock table, so that every web process sees it) that
outlives the 5-minute window, and a second request with the same signature gets 401.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from slack_bolt import BoltRequest, BoltResponse

from sync.ports import Store

log = logging.getLogger("sellsync.bot.replay")

MARKER_TTL_SECONDS = 6 * 60  # longer than Slack's 5-minute signature window


def replay_guard(
    store: Store, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> Callable[[BoltRequest, BoltResponse, Callable[[], BoltResponse]], BoltResponse | None]:
    def middleware(
        req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        if req.mode == "socket_mode":
            return next()
        signature = (req.headers.get("x-slack-signature") or [""])[0]
        if not signature:
            return next()  # nothing to replay (and verification already ran)
        first = store.mark_once(
            f"slack-signature:{signature}", at=now(), ttl_seconds=MARKER_TTL_SECONDS
        )
        if not first:
            log.warning("refused a replayed Slack request")
            return BoltResponse(status=401, body='{"error":"replayed request"}')
        return next()

    return middleware
