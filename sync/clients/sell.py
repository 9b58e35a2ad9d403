"""Zendesk Sell client (httpx) implementing :class:`sync.ports.SellPort`.

Wire records are converted to :class:`~sync.domain.SellRecord` values with flat *Sell keys*:

* standard fields (``first_name`` ... ``organization_name`` for leads, ``name`` for contacts),
  ``status`` (leads), ``customer_status`` / ``prospect_status`` (contacts), ``owner_id``;
* ``address.line1`` ... ``address.country`` from the nested ``address`` object;
* ``lead_source`` (leads): the lead source's *name*, mapped from / to ``source_id`` (sources
  are listed once and cached; a missing one is created on write: :mod:`sync.clients.sell_catalog`);
* ``custom_fields.<Display name>`` from / to the name-keyed ``custom_fields`` object.

On write, any other plain key is sent as a top-level field, so Sell itself judges it. A partial
address is merged into the record's current address before it is sent (one extra read), so
updating the city never clears the street.

Changes are polled with ``sort_by=updated_at:desc`` until a page reaches ``since`` minus
``overlap_seconds``, in overlapping windows that a deletion mid-scan cannot slip a record past
(:mod:`sync.clients.sell_pages`). Requests are paced at ``per_s`` (Sell allows 36,000 an hour per token) and
retried per :class:`~sync.clients.retry.RetryPolicy`; Sell's throttling shows up as a 429 with
an empty body or as a 404 naming ``/429.json`` and is retried as a rate limit.

Lead conversions and Sell's Sync API (``sync_start``, ``sync_pages``, ``sync_ack``) are read by
:mod:`sync.clients.sell_lifecycle`; the pure wire readers are in :mod:`sync.clients.sell_wire`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from sync.clients import remembered
from sync.clients.absence import confirm_absent
from sync.clients.errors import SELL, Remedy, classify_sell, sell_errors
from sync.clients.http import DEFAULT_TIMEOUT, USER_AGENT, ApiSession, Reply
from sync.clients.pacing import Clock, Pacer, RollingWindowPacer, Unpaced
from sync.clients.retry import Random, RetryPolicy, Sleep
from sync.clients.sell_archive import SellArchive
from sync.clients.sell_catalog import SellCatalog
from sync.clients.sell_firehose import SellFirehose
from sync.clients.sell_lifecycle import (
    SellSyncApi,
    conversions_after,
    conversions_of,
    device_uuid_for,
)
from sync.clients.sell_pages import OffsetWalk
from sync.clients.sell_users import SellOwners
from sync.clients.sell_wire import (
    PAGE_SIZE,
    has_next_page,
    item_data,
    parse_sell_time,
    record_id,
)
from sync.domain import (
    CUSTOM_PREFIX,
    LeadConversion,
    RecordKind,
    SellCustomField,
    SellRecord,
    normalize_email,
)
from sync.errors import AmbiguousWrite, ApiError, ListKeptShifting, RecordRejected
from sync.ports import RememberedReads, SellPort, SellSyncPage, SellSyncStart
from sync.sell_values import ADDRESS_KEYS, ADDRESS_PREFIX, PERSON_FIELDS, flat_values

COMMON_FIELDS = (*PERSON_FIELDS, "owner_id")
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "lead": ("organization_name", "status"),
    "contact": ("name", "customer_status", "prospect_status"),
}
LEAD_SOURCE = "lead_source"

logger = logging.getLogger(__name__)
# How far Sell's clock may differ from ours when recognising a record we just created.
CREATE_CLOCK_SKEW = timedelta(minutes=5)

Now = Callable[[], datetime]


def _plural(kind: RecordKind) -> str:
    return f"{kind}s"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _page_items(body: Any, what: str) -> list[dict[str, Any]]:
    """The ``data`` of a list answer's items; items that hold none (``null``, ``{"data":
    null}``) are left out, as absent. An answer without a list of items raises."""
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ApiError(SELL, f"{what}: the answer holds no list of items")
    return [d for d in (item_data(i) for i in items) if d is not None]


class SellClient(SellPort):
    """Sell leads, contacts, custom fields and lead sources over the v2 Core API.

    * ``http``: an ``httpx.Client`` to use; by default one built (and closed) here.
    * ``per_s``: requests per second (Sell: 36,000 an hour per token); ``None`` turns pacing
      off. Several threads may share one client and its pacing.
    * ``overlap_seconds``: how far before ``since`` :meth:`changed_pages` keeps reading, for
      Sell's one-second timestamps and records written while we page.
    * ``retry``, ``sleep``, ``clock``, ``rand``, ``now``: backoff policy and injectable
      time/randomness (``now`` is the wall clock used to recognise our own creates).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        http: httpx.Client | None = None,
        per_s: float | None = 10.0,
        user_agent: str = USER_AGENT,
        overlap_seconds: float = 60,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
        rand: Random = random.random,
        now: Now = lambda: datetime.now(UTC),
        pacing_safety: float = 0.05,
        device_uuid: str | None = None,
    ) -> None:
        self.overlap = timedelta(seconds=overlap_seconds)
        self._session = ApiSession(
            service=SELL,
            base_url=base_url,
            token=token,
            classifier=classify_sell,
            http=http,
            user_agent=user_agent,
            retry=retry,
            sleep=sleep,
            rand=rand,
            timeout=timeout,
        )
        if per_s:
            calls = max(1, round(per_s))
            self.pacer: Pacer = RollingWindowPacer(
                calls, calls / per_s, clock=clock, sleep=sleep, safety=pacing_safety, name="sell"
            )
        else:
            self.pacer = Unpaced()
        self._sync = SellSyncApi(
            self._session, self.pacer, device_uuid or device_uuid_for(base_url, token), clock
        )
        self._sleep = sleep
        self._rand = rand
        self._now = now
        self._catalog = SellCatalog(self._session, self.pacer)
        self._memory: RememberedReads | None = None
        self._walks: dict[RecordKind, tuple[datetime, datetime]] = {}
        #: Sell's Firehose streams (premium), paced with the Core API: one token, one limit.
        self.firehose = SellFirehose(self._session, self.pacer)
        #: Record owners' e-mails (who to tell of a record created for them).
        self.owners = SellOwners(self._session, self.pacer)

    def remember_in(self, memory: RememberedReads) -> None:
        """Keep custom-field definitions and the Sync API's refusal in ``memory`` (the
        database), so a new process does not ask again (:mod:`.remembered`)."""
        self._catalog.memory = memory
        self._sync.memory = memory
        self._memory = memory

    # ------------------------------------------------------------------ plumbing

    @property
    def stats(self) -> dict[str, int]:
        """Requests sent per endpoint kind, plus ``requests`` (all), ``retries``,
        ``rate_limited`` (throttled replies seen) and ``paced_ms``."""
        return self._session.stats

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> SellClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(
        self,
        method: str,
        path: str,
        *,
        kind: str,
        params: dict[str, str | int] | None = None,
        json_body: Any = None,
        retry_ambiguous: bool = True,
    ) -> Reply:
        reply = self._session.send(
            method,
            path,
            kind=kind,
            pacer=self.pacer,
            params=params,
            json=json_body,
            retry_ambiguous=retry_ambiguous,
        )
        refused = kind in ("create", "update") and not reply.ok
        if refused and remembered.refuses_custom_field(reply.response.text):
            self._catalog.forget_custom_fields()
        return reply

    def _get(self, path: str, *, kind: str, params: dict[str, str | int] | None = None) -> Any:
        reply = self._send("GET", path, kind=kind, params=params)
        reply.raise_for_error()
        return reply.json() or {}

    # ------------------------------------------------------------------ conversion

    def _record(self, kind: RecordKind, data: Mapping[str, Any]) -> SellRecord:
        values = flat_values(data, (*COMMON_FIELDS, *KIND_FIELDS[kind]))
        if kind == "lead":
            values[LEAD_SOURCE] = self._catalog.source_name(data.get("source_id"))
        updated = parse_sell_time(data.get("updated_at")) or datetime.fromtimestamp(0, UTC)
        tags = data.get("tags") or []
        return SellRecord(
            kind=kind,
            id=int(data["id"]),
            values=values,
            updated_at=updated,
            is_organization=bool(data.get("is_organization")),
            tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
        )

    def _to_wire(
        self,
        kind: RecordKind,
        values: Mapping[str, Any],
        item: str,
        current_address: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {}
        address: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        for key, value in values.items():
            if key.startswith(ADDRESS_PREFIX):
                address[key.removeprefix(ADDRESS_PREFIX)] = value
            elif key.startswith(CUSTOM_PREFIX):
                custom[key.removeprefix(CUSTOM_PREFIX)] = value
            elif key == LEAD_SOURCE:
                if kind != "lead":
                    raise RecordRejected(item, "Sell contacts have no lead source")
                data["source_id"] = self._catalog.source_id(value)
            else:
                data[key] = value
        if address:
            data["address"] = {**(current_address or {}), **address}
        if custom:
            data["custom_fields"] = custom
        return data

    # ------------------------------------------------------------------ reads

    def changed_pages(self, kind: RecordKind, since: datetime | None) -> Iterator[list[SellRecord]]:
        """Records updated since ``since`` (less the overlap), newest first, page by page.

        With a memory, a walk the run applied (:meth:`walk_applied`) is remembered: the newest
        record it read and Sell's time when it started; the next walk from that record, if the
        overlap had passed by then, re-reads nothing older than it
        (:func:`.remembered.settled_bound`).

        The offsets are walked by :class:`~sync.clients.sell_pages.OffsetWalk`, whose windows
        overlap and are checked at the seam, so a record deleted while we page cannot hide one.
        """
        since = None if since is None else _aware(since)
        bound = None if since is None else since - self.overlap
        if since is not None and self._memory is not None:
            bound = remembered.settled_bound(self._memory, kind, since, self.overlap) or bound
        walk = OffsetWalk(bound=bound)
        newest, answered_at = since, None
        while not walk.done:
            window = walk.request()
            reply = self._send(
                "GET",
                f"/v2/{_plural(kind)}",
                kind="list",
                params={
                    "sort_by": "updated_at:desc",
                    "per_page": window.per_page,
                    "page": window.page,
                },
            )
            reply.raise_for_error()
            body = reply.json() or {}
            answered_at = answered_at or remembered.http_date(reply.response.headers.get("date"))
            items = [d for d in (item_data(i) for i in body.get("items") or []) if d is not None]
            records = [self._record(kind, data) for data in items]
            try:
                fresh = walk.observe(window, records, more=bool(items) and has_next_page(body))
            except ListKeptShifting as exc:
                raise ApiError(SELL, f"{_plural(kind)}: {exc}") from exc
            for r in records:
                if newest is None or r.updated_at > newest:
                    newest = r.updated_at
            if fresh:
                yield fresh
        if newest is not None and answered_at is not None:
            self._walks[kind] = (newest, answered_at)

    def walk_applied(self, kind: RecordKind) -> None:
        """The run applied every record of the last change walk of ``kind``: with a memory,
        remember where it stopped (a dry run's walk, never applied, is not remembered)."""
        walk = self._walks.pop(kind, None)
        if walk is not None and self._memory is not None:
            remembered.remember_walk(self._memory, kind, *walk)

    def get_records(self, kind: RecordKind, ids: Sequence[int]) -> dict[int, SellRecord]:
        """The records among ``ids`` that exist. An id left out of an ``ids=`` read is read
        alone (:mod:`sync.clients.absence`): only Sell's own 404 ``not_found`` leaves it out of
        the answer, so an id missing from it was proven deleted (S5)."""
        unique = list(dict.fromkeys(int(i) for i in ids))
        found: dict[int, SellRecord] = {}
        for start in range(0, len(unique), PAGE_SIZE):
            chunk = unique[start : start + PAGE_SIZE]
            body = self._get(
                f"/v2/{_plural(kind)}",
                kind="get_records",
                params={"ids": ",".join(str(i) for i in chunk), "per_page": PAGE_SIZE},
            )
            wanted = set(chunk)
            for data in _page_items(body, f"the {_plural(kind)} read by id"):
                rid = record_id(data)
                if rid is not None and rid in wanted:
                    found[rid] = self._record(kind, data)
            absent = [i for i in chunk if i not in found]
            if absent:
                found.update(
                    confirm_absent(
                        absent,
                        lambda rid: self._read_one(kind, rid),
                        service=SELL,
                        asked=len(chunk),
                        noun=_plural(kind),
                    )
                )
        return found

    def _read_one(self, kind: RecordKind, rid: int) -> SellRecord | None:
        """``GET /v2/{kind}s/{id}``: the record, or None when Sell says it does not exist (404
        ``not_found``). Any other answer raises: a 404 that names no such code (a proxy, a
        wrong path) proves nothing."""
        item = f"{kind}:{rid}"
        reply = self._send("GET", f"/v2/{_plural(kind)}/{int(rid)}", kind="get_one")
        if reply.ok:
            data = item_data(reply.json())
            if data is None or record_id(data) != rid:
                raise ApiError(SELL, f"{item}: the answer to reading it holds no such {kind}")
            return self._record(kind, data)
        resolution = reply.resolution
        assert resolution is not None
        if resolution.action is Remedy.NOT_FOUND and "not_found" in {
            str(e.get("code") or "") for e in sell_errors(resolution.body)
        }:
            return None
        raise ApiError(
            SELL,
            f"{item}: left out of a read by id, and reading it alone answered "
            f"HTTP {resolution.status}: {resolution.message or 'no reason given'}",
        )

    def custom_fields(self, kind: RecordKind) -> list[SellCustomField]:
        return self._catalog.custom_fields(kind)

    def archive(self) -> SellArchive:
        """Readers of everything the account holds, at this client's pace (for migration and
        export): :mod:`sync.clients.sell_archive`."""
        return SellArchive(self._session, self.pacer)

    # ------------------------------------------------------------------ lead conversions

    def conversions_after(self, after_id: int) -> list[LeadConversion]:
        return conversions_after(self._get, after_id)

    def conversions_of(self, lead_ids: Sequence[int]) -> dict[int, LeadConversion]:
        return conversions_of(self._get, lead_ids)

    def check_credentials(self) -> str:
        body = self._get("/v2/users/self", kind="users_self")
        data = item_data(body) or {}
        return str(data.get("name") or data.get("email") or "")

    # ------------------------------------------------------------------ Sync API

    @property
    def device_uuid(self) -> str:
        """The ``X-Basecrm-Device-UUID`` every Sync API request carries."""
        return self._sync.device_uuid

    def sync_start(self) -> SellSyncStart:
        return self._sync.start()

    def sync_pages(self, session: str) -> Iterator[SellSyncPage]:
        return self._sync.pages(session)

    def sync_ack(self, ack_keys: Sequence[str]) -> None:
        self._sync.ack(ack_keys)

    # ------------------------------------------------------------------ writes

    def create_record(self, kind: RecordKind, values: Mapping[str, Any]) -> SellRecord:
        email = normalize_email(values.get("email"))
        item = f"new {kind}" + (f" <{email}>" if email else "")
        body = {"data": self._to_wire(kind, values, item)}
        started = self._now()
        attempt = 0
        while True:
            attempt += 1
            try:
                reply = self._send(
                    "POST",
                    f"/v2/{_plural(kind)}",
                    kind="create",
                    json_body=body,
                    retry_ambiguous=False,
                )
            except AmbiguousWrite:
                # The create may have been applied: look for it before sending it again.
                found = self._find_created(kind, values, started) if email else None
                if found is not None:
                    return found
                if attempt >= self._session.retry.max_attempts:
                    raise
                self._session.count("retries")
                self._sleep(self._session.retry.backoff(attempt, self._rand))
                continue
            if reply.ok:
                return self._record(kind, item_data(reply.json()) or {})
            assert reply.resolution is not None
            if reply.action is Remedy.SKIP_RECORD:
                raise reply.error(item)
            raise reply.error()

    def _find_created(
        self, kind: RecordKind, values: Mapping[str, Any], started: datetime
    ) -> SellRecord | None:
        """The newest record with the e-mail of ``values`` created since ``started`` (less the
        clock skew allowance): the create that seemed to fail but was applied."""
        email = normalize_email(values.get("email"))
        body = self._get(
            f"/v2/{_plural(kind)}",
            kind="find_created",
            params={
                "email": str(values.get("email")).strip(),
                "per_page": PAGE_SIZE,
                "sort_by": "created_at:desc",
            },
        )
        for item in body.get("items") or []:
            data = item_data(item)
            if data is None or normalize_email(data.get("email")) != email:
                continue
            created = parse_sell_time(data.get("created_at"))
            if created is not None and created >= _aware(started) - CREATE_CLOCK_SKEW:
                return self._record(kind, data)
        return None

    def update_record(self, kind: RecordKind, id: int, values: Mapping[str, Any]) -> SellRecord:
        item = f"{kind}:{id}"
        path = f"/v2/{_plural(kind)}/{int(id)}"
        given = {k.removeprefix(ADDRESS_PREFIX) for k in values if k.startswith(ADDRESS_PREFIX)}
        current_address: Mapping[str, Any] | None = None
        if given and not given.issuperset(ADDRESS_KEYS):
            # Sell replaces the address object as a whole: start from the current one.
            reply = self._send("GET", path, kind="get")
            reply.raise_for_error(item)
            current = item_data(reply.json()) or {}
            address = current.get("address")
            current_address = address if isinstance(address, dict) else None
        body = {"data": self._to_wire(kind, values, item, current_address)}
        reply = self._send("PUT", path, kind="update", json_body=body)
        if reply.ok:
            return self._record(kind, item_data(reply.json()) or {})
        raise reply.error(item)
