"""``pending_requests`` (read on every ``/sellsync status``) expires old requests as it reads."""

from __future__ import annotations

from datetime import timedelta

from sync.service import Actor
from tests.conftest import World

REP = Actor("U_REP")


def test_pending_requests_are_listed_until_seven_days_then_expired_on_read(world: World) -> None:
    request = world.service.request_change("threshold", "70", actor=REP).request
    world.clock.tick(timedelta(days=7).total_seconds() - 1)
    assert [r.id for r in world.service.pending_requests()] == [request.id]
    world.clock.tick(1)
    assert world.service.pending_requests() == []
    stored = world.store.get_request(request.id)
    assert stored is not None and stored.status == "expired"
    assert world.service.status().pending_requests == 0
