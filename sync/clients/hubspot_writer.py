"""HubSpot batch creates and updates: batches of 100 sent in parallel, a refused batch split
until the inputs at fault are found (S14: one bad contact never blocks the others).

Reading the answers (which result or failure is whose, which inputs a refusal names) is pure and
lives in :mod:`~sync.clients.hubspot_writes`; this module sends the requests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from sync.clients.errors import Remedy, Resolution, existing_id
from sync.clients.http import Reply
from sync.clients.hubspot_lists import Send
from sync.clients.hubspot_wire import ADDITIONAL_EMAILS, NOT_FOUND_CATEGORY, contact_addresses
from sync.clients.hubspot_writes import (
    BATCH_SIZE,
    chunks,
    created_results,
    culprits,
    unique_id_chunks,
    updated_results,
    write_failure,
)
from sync.clients.isolate import BatchRefused, isolate
from sync.domain import HubSpotContact, normalize_email
from sync.ports import ContactWrite, WriteResult

T = TypeVar("T")
R = TypeVar("R")


class Parallel(Protocol):
    """The client's ``fn`` over ``items`` on its worker threads (``HubSpotClient._parallel``)."""

    def __call__(self, fn: Callable[[T], R], items: Sequence[T], /) -> list[R]: ...


#: A batch read of contacts by id: (ids, properties) → the contacts found.
ReadByIds = Callable[[list[str], list[str]], list[HubSpotContact]]


class HubSpotWriter:
    def __init__(
        self, send: Send, parallel: Parallel, read_by_ids: ReadByIds, api_version: str
    ) -> None:
        self._send = send
        self._parallel = parallel
        self._read_by_ids = read_by_ids
        self._path = f"/crm/objects/{api_version}/contacts"

    def create_contacts(self, writes: Sequence[ContactWrite]) -> list[WriteResult]:
        out: dict[str, WriteResult] = {}
        for part in self._parallel(self._create_batch, chunks(list(writes), BATCH_SIZE)):
            out.update(part)
        return [out[w.key] for w in writes]

    def update_contacts(self, writes: Sequence[ContactWrite]) -> list[WriteResult]:
        for write in writes:
            if not write.id:
                raise ValueError(f"update of {write.key} without a HubSpot id")
        out: dict[str, WriteResult] = {}
        for part in self._parallel(self._update_batch, unique_id_chunks(writes)):
            out.update(part)
        return [out[w.key] for w in writes]

    def _input_for_existing(
        self, pending: Sequence[ContactWrite], existing: str
    ) -> list[ContactWrite]:
        """The inputs whose e-mail is the existing contact's (whole-batch 409)."""
        contacts = self._read_by_ids([existing], ["email", ADDITIONAL_EMAILS])
        addresses: set[str] = set()
        for contact in contacts:
            addresses |= contact_addresses(contact)
        return [w for w in pending if normalize_email(w.properties.get("email")) in addresses]

    def _create_batch(self, batch: list[ContactWrite]) -> dict[str, WriteResult]:
        def send(pending: list[ContactWrite]) -> Reply:
            inputs = [
                {"properties": dict(w.properties), "associations": [], "objectWriteTraceId": w.key}
                for w in pending
            ]
            return self._send(
                "POST", self._path + "/batch/create", kind="batch_create",
                json_body={"inputs": inputs},
            )  # fmt: skip

        def blamed(pending: list[ContactWrite], resolution: Resolution) -> list[ContactWrite]:
            named = culprits(pending, resolution, by_id=False)
            duplicate = existing_id(resolution.message)
            if not named and duplicate:
                named = self._input_for_existing(pending, duplicate)
            return named

        def failure(key: str, resolution: Resolution) -> WriteResult:
            return write_failure(key, resolution.message, creating=True)

        return self._isolating(batch, send, created_results, blamed, failure)

    def _update_batch(self, batch: list[ContactWrite]) -> dict[str, WriteResult]:
        def send(pending: list[ContactWrite]) -> Reply:
            inputs = [{"id": str(w.id), "properties": dict(w.properties)} for w in pending]
            return self._send(
                "POST", self._path + "/batch/update", kind="batch_update",
                json_body={"inputs": inputs},
            )  # fmt: skip

        def blamed(pending: list[ContactWrite], resolution: Resolution) -> list[ContactWrite]:
            return culprits(pending, resolution, by_id=True)

        def failure(key: str, resolution: Resolution) -> WriteResult:
            not_found = resolution.action is Remedy.NOT_FOUND or (
                isinstance(resolution.body, dict)
                and resolution.body.get("category") == NOT_FOUND_CATEGORY
            )
            return write_failure(key, resolution.message, not_found=not_found)

        return self._isolating(batch, send, updated_results, blamed, failure)

    def _isolating(
        self,
        batch: list[ContactWrite],
        send: Callable[[list[ContactWrite]], Reply],
        results: Callable[[Sequence[ContactWrite], dict[str, Any]], dict[str, WriteResult]],
        culprits: Callable[[list[ContactWrite], Resolution], list[ContactWrite]],
        failure: Callable[[str, Resolution], WriteResult],
    ) -> dict[str, WriteResult]:
        """:func:`~sync.clients.isolate.isolate` over HubSpot replies: a refused batch is one
        whose reply is not OK, and its reason is the reply's :class:`Resolution`."""

        def attempt(
            pending: list[ContactWrite],
        ) -> dict[str, WriteResult] | BatchRefused[Resolution]:
            reply = send(pending)
            if reply.ok:
                return results(pending, reply.json() or {})
            assert reply.resolution is not None
            return BatchRefused(reply.resolution)

        return isolate(
            batch,
            attempt,
            key=lambda write: write.key,
            culprits=culprits,
            failure=lambda write, resolution: failure(write.key, resolution),
        )
