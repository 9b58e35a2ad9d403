"""Sell users by id (``GET /v2/users/{id}``): a record owner's e-mail, for telling them in Slack
that sellsync created a record for them. Read-only, cached per id for the process (owners are
few; a changed e-mail is picked up at the next start)."""

from __future__ import annotations

import threading

from sync.clients.errors import Remedy
from sync.clients.http import ApiSession
from sync.clients.pacing import Pacer
from sync.clients.sell_wire import item_data
from sync.domain import normalize_email


class SellOwners:
    """``email_of(owner_id)``: the user's e-mail, or None when Sell has no such user."""

    def __init__(self, session: ApiSession, pacer: Pacer) -> None:
        self._session = session
        self.pacer = pacer
        self._emails: dict[int, str | None] = {}
        self._lock = threading.Lock()

    def email_of(self, owner_id: int) -> str | None:
        with self._lock:
            if owner_id in self._emails:
                return self._emails[owner_id]
        reply = self._session.send(
            "GET", f"/v2/users/{int(owner_id)}", kind="get", pacer=self.pacer
        )
        if reply.action is Remedy.NOT_FOUND:
            email = None
        else:
            reply.raise_for_error()
            data = item_data(reply.json()) or {}
            email = normalize_email(data.get("email"))
        with self._lock:
            self._emails[owner_id] = email
        return email
