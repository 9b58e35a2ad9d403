"""Replayed Slack requests are refused; Slack's own retries are acknowledged once (SPEC §7).

A captured request replayed while its signature is still valid passes verification, so each
request is accepted once: a marker in the database (the lock table, so every web process sees
it) records it. The marker must live as long as *any* reading of this server's clock could still
accept the signature, which is until 5 minutes past the request's own timestamp *or* 5 minutes
past now, whichever is later, plus a margin: a marker timed from the local clock alone expires
too early when this clock lags Slack's (3 minutes behind, a replay at +380 s still verified).

Events API deliveries are marked by their ``event_id`` rather than the signature. Slack retries
an event it thinks was not acknowledged (``X-Slack-Retry-Num``, each retry freshly signed, the
last about 5 minutes later); a retry of an event already taken is acknowledged (200) and not run
again, while a retry whose original never arrived, or was refused, finds no marker and is
processed. A request whose dispatch failed before its listener ran (a 5xx) gives its marker back.

That is one small write per request, and the only one on the request path.
"""

from __future__ import annotations

import hashlib
import logging
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt import BoltResponse

from bot.edge import SIGNATURE_WINDOW_SECONDS, Refusal, Verified, wall_clock
from sync.api import Markers

log = logging.getLogger("sellsync.bot.replay")

#: Added to the signature window, for the time between verification and the marker's write.
MARGIN_SECONDS = 60
#: How long an event stays marked: Slack's retries come within about 5 minutes.
EVENT_MARKER_SECONDS = 60 * 60
#: Longer event ids (Slack's are about a dozen characters) are hashed into the marker's name.
_MAX_ID = 128


@dataclass(frozen=True)
class Marker:
    """The lock row that records one accepted request."""

    name: str
    owner: str


def marker_ttl(timestamp: int, now: float, *, event: bool = False) -> int:
    """Seconds from ``now`` that a marker for a request signed at ``timestamp`` must live."""
    valid_until = max(now, float(timestamp)) + SIGNATURE_WINDOW_SECONDS + MARGIN_SECONDS
    ttl = math.ceil(valid_until - now)
    return max(ttl, EVENT_MARKER_SECONDS) if event else ttl


def _event_id(body: dict[str, Any]) -> str | None:
    event_id = body.get("event_id")
    if body.get("type") != "event_callback" or not isinstance(event_id, str) or not event_id:
        return None
    if len(event_id) > _MAX_ID:
        return hashlib.sha256(event_id.encode("utf-8", "replace")).hexdigest()
    return event_id


class ReplayGuard:
    """Takes one marker per verified request; refuses replays, acks duplicate event deliveries."""

    def __init__(self, markers: Markers, *, now: Callable[[], float] = wall_clock) -> None:
        self.markers = markers
        self.now = now

    def admit(
        self, verified: Verified, body: dict[str, Any], *, retry: bool
    ) -> Marker | BoltResponse:
        """The marker taken for this request, or the answer when it was seen before."""
        event_id = _event_id(body)
        name = f"slack-event:{event_id}" if event_id else f"slack-signature:{verified.signature}"
        now = self.now()
        marker = Marker(name, uuid.uuid4().hex)
        first = self.markers.take(
            name,
            owner=marker.owner,
            at=datetime.fromtimestamp(now, UTC),
            ttl_seconds=marker_ttl(verified.timestamp, now, event=event_id is not None),
        )
        if first:
            return marker
        if event_id is not None and retry:
            log.info("acknowledged Slack's retry of event %s without running it again", event_id)
            return BoltResponse(status=200, body="")
        log.warning("refused a replayed Slack request")
        return Refusal(401, "replayed request").bolt()

    def release(self, marker: Marker) -> None:
        """Give the marker back (the request was not processed), so a retry can be."""
        self.markers.give_back(marker.name, owner=marker.owner)
