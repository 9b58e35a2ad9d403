"""Settings change requests (approvals). "At most one pending request per setting" is a
partial unique index (a newer request supersedes the older); deciding one is a conditional
``UPDATE ... WHERE status = 'pending'``, so one decision wins whoever clicks.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from storage import tables as t
from storage.repositories.base import RACE_RETRIES, Repository, rowcount
from sync.domain import SettingName
from sync.errors import RecordNotFound
from sync.ports import ChangeRequest

PENDING = "pending"
SUPERSEDED = "superseded"
DECISIONS = frozenset({"approved", "rejected", "expired"})


class ChangeRequestRepository(Repository):
    """:class:`sync.ports.ChangeRequestStore` on the ``change_requests`` table."""

    def create_request(
        self,
        *,
        setting: SettingName,
        new_value: str,
        old_value: str,
        requested_by: str,
        reason: str,
        at: datetime,
    ) -> tuple[ChangeRequest, list[ChangeRequest]]:
        """The new pending request and the older pending ones for that setting it superseded.

        A superseded request gets status "superseded" and ``decided_at`` = ``at`` (no decider).
        """
        for attempt in range(RACE_RETRIES):
            try:
                with self._write() as session:
                    superseded = (
                        session.execute(
                            sa.update(t.change_requests)
                            .where(
                                t.change_requests.c.setting == str(setting),
                                t.change_requests.c.status == PENDING,
                            )
                            .values(status=SUPERSEDED, decided_at=at)
                            .returning(*t.change_requests.c)
                        )
                        .mappings()
                        .all()
                    )
                    created = (
                        session.execute(
                            sa.insert(t.change_requests)
                            .values(
                                setting=str(setting),
                                new_value=new_value,
                                old_value=old_value,
                                requested_by=requested_by,
                                reason=reason,
                                status=PENDING,
                                created_at=at,
                            )
                            .returning(*t.change_requests.c)
                        )
                        .mappings()
                        .one()
                    )
                    older = sorted((_request(row) for row in superseded), key=lambda r: r.id)
                    return _request(created), older
            except IntegrityError:
                # A concurrent request for the same setting committed first: supersede it too.
                if attempt == RACE_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def get_request(self, request_id: int) -> ChangeRequest | None:
        with self._read() as session:
            row = (
                session.execute(
                    sa.select(t.change_requests).where(t.change_requests.c.id == request_id)
                )
                .mappings()
                .first()
            )
        return None if row is None else _request(row)

    def pending_requests(self) -> list[ChangeRequest]:
        """Pending requests, oldest first."""
        query = (
            sa.select(t.change_requests)
            .where(t.change_requests.c.status == PENDING)
            .order_by(t.change_requests.c.created_at, t.change_requests.c.id)
        )
        with self._read() as session:
            return [_request(row) for row in session.execute(query).mappings()]

    def decide_request(
        self, request_id: int, *, status: str, by: str, at: datetime
    ) -> tuple[ChangeRequest, bool]:
        """Move a pending request to approved/rejected/expired; (request, False) if not pending.

        Raises RecordNotFound for an unknown id, ValueError for another status.
        """
        if status not in DECISIONS:
            raise ValueError(
                f"a request is decided as approved, rejected or expired, not {status!r}"
            )
        with self._write() as session:
            result = session.execute(
                sa.update(t.change_requests)
                .where(t.change_requests.c.id == request_id, t.change_requests.c.status == PENDING)
                .values(status=status, decided_by=by, decided_at=at)
            )
            changed = rowcount(result) == 1
            row = (
                session.execute(
                    sa.select(t.change_requests).where(t.change_requests.c.id == request_id)
                )
                .mappings()
                .first()
            )
        if row is None:
            raise RecordNotFound(f"request {request_id}")
        return _request(row), changed

    def set_request_message(self, request_id: int, *, channel: str, ts: str) -> None:
        """Remember the Slack message showing the request. Raises RecordNotFound."""
        with self._write() as session:
            result = session.execute(
                sa.update(t.change_requests)
                .where(t.change_requests.c.id == request_id)
                .values(channel=channel, message_ts=ts)
            )
            if rowcount(result) == 0:
                raise RecordNotFound(f"request {request_id}")


def _request(row: RowMapping) -> ChangeRequest:
    return ChangeRequest(
        id=row["id"],
        setting=SettingName(row["setting"]),  # stored as its value, as before the enum
        new_value=row["new_value"],
        old_value=row["old_value"],
        requested_by=row["requested_by"],
        reason=row["reason"],
        status=row["status"],
        created_at=row["created_at"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        channel=row["channel"],
        message_ts=row["message_ts"],
    )
