"""HubSpot CRM client (httpx) implementing :class:`sync.ports.HubSpotPort`.

The client is built from two small values: a :class:`HubSpotSession` (which portal, how to
reach it, the injectable time and randomness) and :class:`HubSpotLimits` (pacing, parallelism,
retries, search window). Every path is built from one date version (``API_VERSION``). Requests
are paced per bucket (general: ``per_10s`` per rolling 10 s; search: ``search_per_s`` per
second), retried per :class:`~sync.clients.retry.RetryPolicy`, and counted in
:attr:`HubSpotClient.stats`.

This module reads contacts and properties; lists are :mod:`~sync.clients.hubspot_lists` and
batch creates and updates :mod:`~sync.clients.hubspot_writer`. The rest lives apart, free of
HTTP: :mod:`~sync.clients.hubspot_wire` parses timestamps, not-found ids and properties,
:func:`~sync.clients.isolate.isolate` finds the input that made HubSpot refuse a whole batch
(S14: one bad contact never blocks the others), :mod:`~sync.clients.hubspot_writes` matches
batch-write answers to their :class:`~sync.ports.ContactWrite` keys, and
:class:`~sync.clients.hubspot_search.SearchCursor` pages a change search past the 10,000-result
window.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from sync.clients import remembered
from sync.clients.absence import confirm_absent
from sync.clients.errors import HUBSPOT, Remedy, classify_hubspot
from sync.clients.http import DEFAULT_TIMEOUT, USER_AGENT, ApiSession, Reply
from sync.clients.hubspot_credentials import TokenCheck
from sync.clients.hubspot_lists import HubSpotLists
from sync.clients.hubspot_scopes import HubSpotCredential
from sync.clients.hubspot_search import SEARCH_CAP, SEARCH_PAGE, SearchCursor
from sync.clients.hubspot_wire import (
    ADDITIONAL_EMAILS,
    NOT_FOUND_CATEGORY,
    contact_addresses,
    not_found_ids,
    parse_timestamp_ms,
    property_info,
)
from sync.clients.hubspot_writer import HubSpotWriter
from sync.clients.hubspot_writes import BATCH_SIZE, chunks
from sync.clients.pacing import Clock, Pacer, RollingWindowPacer, Unpaced
from sync.clients.retry import Random, RetryPolicy, Sleep
from sync.domain import (
    MERGED_IDS_PROPERTY,
    HubSpotContact,
    HubSpotList,
    PropertyInfo,
    normalize_email,
)
from sync.errors import ApiError
from sync.ports import (
    ChangePage,
    ContactWrite,
    HubSpotPort,
    JoinPage,
    RememberedReads,
    WriteResult,
)

API_VERSION = "2026-03"

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class HubSpotSession:
    """Which HubSpot portal to talk to and how.

    * ``http``: an ``httpx.Client`` to use (tests inject a ``MockTransport``); by default one
      from :func:`~sync.clients.http.build_http_client`, closed by :meth:`HubSpotClient.close`.
    * ``portal_id`` builds contact URLs when a record carries none (S10).
    * ``score_property`` is read with every contact (with ``email`` and
      ``lastmodifieddate``), since qualification always needs it (S1).
    * ``sleep``, ``clock``, ``rand``: injectable time and randomness (backoff and pacing).
    """

    base_url: str
    token: str = field(repr=False)
    http: httpx.Client | None = None
    api_version: str = API_VERSION
    portal_id: str | int | None = None
    score_property: str = "hubspotscore"
    user_agent: str = USER_AGENT
    timeout: httpx.Timeout | float = field(default_factory=lambda: DEFAULT_TIMEOUT)
    sleep: Sleep = time.sleep
    clock: Clock = time.monotonic
    rand: Random = random.random


@dataclass(frozen=True)
class HubSpotLimits:
    """How hard to use the portal.

    * ``per_10s`` requests per rolling ``window_s`` (HubSpot: 100 or 190 per 10 s) for every
      endpoint but search, which gets ``search_per_s`` per second. ``None`` turns pacing off;
      ``pacing_safety`` is the margin the pacer keeps.
    * ``max_workers`` batch requests run in parallel (reads and writes of many batches).
    * ``retry``: the backoff policy (by default :class:`~sync.clients.retry.RetryPolicy()`).
    * ``search_page_size`` / ``search_result_cap``: HubSpot's 200 / 10,000 (tests shrink them).
    """

    per_10s: int | None = 190
    window_s: float = 10.0
    search_per_s: int | None = 5
    pacing_safety: float = 0.05
    max_workers: int = 4
    retry: RetryPolicy | None = None
    search_page_size: int = SEARCH_PAGE
    search_result_cap: int = SEARCH_CAP

    @classmethod
    def unpaced(cls, **changes: Any) -> HubSpotLimits:
        """No pacing in either bucket (tests and the sandbox)."""
        return cls(**{"per_10s": None, "search_per_s": None, **changes})

    def pacer(
        self, limit: int | None, window_s: float, name: str, session: HubSpotSession
    ) -> Pacer:
        """A rolling-window pacer of ``limit`` requests per ``window_s`` (none: unpaced)."""
        if not limit:
            return Unpaced()
        return RollingWindowPacer(
            limit,
            window_s,
            clock=session.clock,
            sleep=session.sleep,
            safety=self.pacing_safety,
            name=name,
        )


class HubSpotClient(HubSpotPort):
    """HubSpot contacts, lists and properties over the date-versioned CRM API, for the portal
    of ``session`` within ``limits``."""

    def __init__(self, session: HubSpotSession, limits: HubSpotLimits | None = None) -> None:
        limits = limits if limits is not None else HubSpotLimits()
        self.session = session
        self.limits = limits
        self.api_version = session.api_version
        self.portal_id = str(session.portal_id) if session.portal_id not in (None, "") else None
        self.max_workers = max(1, limits.max_workers)
        self.score_property = session.score_property
        self._session = ApiSession(
            service=HUBSPOT,
            base_url=session.base_url,
            token=session.token,
            classifier=classify_hubspot,
            http=session.http,
            user_agent=session.user_agent,
            retry=limits.retry,
            sleep=session.sleep,
            rand=session.rand,
            timeout=session.timeout,
        )
        self.general_pacer = limits.pacer(limits.per_10s, limits.window_s, "hubspot", session)
        self.search_pacer = limits.pacer(limits.search_per_s, 1.0, "hubspot-search", session)
        self.lists = HubSpotLists(self._send, self.api_version)
        #: token info takes the token in its body (``credential``)
        self.token_check = TokenCheck(self._send, self.api_version, session.token)
        self.writer = HubSpotWriter(
            self._send,
            self._parallel,
            lambda ids, properties: self._batch_read(ids, properties, None),
            self.api_version,
        )
        self._properties: dict[str, PropertyInfo] | None = None
        self._properties_lock = threading.Lock()
        self._memory: RememberedReads | None = None

    def remember_in(self, memory: RememberedReads) -> None:
        """Keep the contact properties in ``memory`` (the database) for a day rather than for
        this client's life: a new process does not read them again (:mod:`.remembered`)."""
        self._memory = memory

    # ------------------------------------------------------------------ plumbing

    @property
    def stats(self) -> dict[str, int]:
        """Requests sent per endpoint kind, plus ``requests`` (all), ``retries``,
        ``rate_limited`` (429s seen) and ``paced_ms`` (time spent waiting for the pacer)."""
        return self._session.stats

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> HubSpotClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _objects(self, suffix: str = "") -> str:
        return f"/crm/objects/{self.api_version}/contacts{suffix}"

    def _send(
        self,
        method: str,
        path: str,
        *,
        kind: str,
        json_body: Any = None,
        params: dict[str, str | int] | None = None,
        search: bool = False,
    ) -> Reply:
        pacer = self.search_pacer if search else self.general_pacer
        return self._session.send(
            method, path, kind=kind, pacer=pacer, params=params, json=json_body
        )

    def _parallel(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``fn`` over ``items`` on up to ``max_workers`` threads (pacing is shared)."""
        if len(items) <= 1 or self.max_workers == 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(
            max_workers=min(self.max_workers, len(items)), thread_name_prefix="hubspot"
        ) as pool:
            futures = [pool.submit(fn, item) for item in items]
            try:
                return [future.result() for future in futures]
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    def _read_properties(self, properties: Sequence[str], *extra: str) -> list[str]:
        wanted = list(dict.fromkeys([*properties, *extra]))
        return [p for p in wanted if p]

    def _contact(self, record: dict[str, Any]) -> HubSpotContact:
        props_raw = record.get("properties") or {}
        properties = {str(k): (None if v is None else str(v)) for k, v in props_raw.items()}
        contact_id = str(record.get("id"))
        updated = parse_timestamp_ms(properties.get("lastmodifieddate"))
        if updated is None:
            updated = parse_timestamp_ms(record.get("updatedAt")) or 0
        url = record.get("url")
        return HubSpotContact(
            id=contact_id,
            properties=properties,
            updated_at_ms=updated,
            url=str(url) if url else self.contact_url(contact_id),
        )

    # ------------------------------------------------------------------ lists

    def get_list(self, list_id: str) -> HubSpotList:
        return self.lists.get(list_id)

    def list_member_pages(self, list_id: str) -> Iterator[Sequence[str]]:
        return self.lists.member_pages(list_id)

    def list_join_pages(self, list_id: str, after: str | None = None) -> Iterator[JoinPage]:
        return self.lists.join_pages(list_id, after)

    def lists_of(self, contact_id: str) -> set[str]:
        return self.lists.lists_of(contact_id)

    def add_list_members(self, list_id: str, ids: Sequence[str]) -> None:
        self.lists.add_members(list_id, ids)

    # ------------------------------------------------------------------ reads

    def _batch_read(
        self, inputs: list[str], properties: list[str], id_property: str | None
    ) -> list[HubSpotContact]:
        return self._batch_read_named(inputs, properties, id_property)[0]

    def _batch_read_named(
        self, inputs: list[str], properties: list[str], id_property: str | None
    ) -> tuple[list[HubSpotContact], set[str]]:
        """(contacts found, inputs HubSpot named as not found or answered archived)."""
        body: dict[str, Any] = {
            "properties": properties,
            "propertiesWithHistory": [],  # required by the spec, even when no history is wanted
            "inputs": [{"id": value} for value in inputs],
        }
        if id_property:
            body["idProperty"] = id_property
        reply = self._send("POST", self._objects("/batch/read"), kind="batch_read", json_body=body)
        if reply.action is Remedy.NOT_FOUND:
            assert reply.resolution is not None
            named = not_found_ids(reply.resolution.body)
            if not named:  # a 404 naming nothing (a proxy, a wrong path) proves nothing
                raise ApiError(HUBSPOT, f"batch read: 404 {reply.resolution.message}")
            return [], named
        reply.raise_for_error()
        data = reply.json()
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            raise ApiError(HUBSPOT, "batch read: the answer holds no list of results")
        contacts: list[HubSpotContact] = []
        gone = not_found_ids(data)
        for record in results:
            if not isinstance(record, dict) or record.get("id") in (None, ""):
                continue
            if record.get("archived"):
                gone.add(str(record.get("id")))
            else:
                contacts.append(self._contact(record))
        return contacts, gone

    def _contact_properties(self, properties: Sequence[str]) -> list[str]:
        """What every contact read asks for on top of ``properties``."""
        return self._read_properties(
            properties, "email", "lastmodifieddate", self.score_property, MERGED_IDS_PROPERTY
        )

    def read_contacts(
        self, ids: Sequence[str], properties: Sequence[str]
    ) -> tuple[dict[str, HubSpotContact], set[str]]:
        """Also reads ``email``, ``lastmodifieddate``, the score property and the merged ids.

        HubSpot answers a merged-away id with the contact that absorbed it; such a requested id
        maps to that survivor (whose ``id`` differs from the key) through its ``merged_ids``.

        Only ids HubSpot names as not found (``OBJECT_NOT_FOUND``) or answers archived are
        missing (S6). An id the answer simply leaves out is read alone
        (:mod:`sync.clients.absence`): a 404 ``OBJECT_NOT_FOUND`` proves it gone, the contact
        coming back is used, anything else stops the run.
        """
        unique = list(dict.fromkeys(str(i) for i in ids if str(i).strip()))
        wanted = set(unique)
        props = self._contact_properties(properties)
        found: dict[str, HubSpotContact] = {}
        named: set[str] = set()
        for contacts, gone in self._parallel(
            lambda batch: self._batch_read_named(batch, props, None), chunks(unique, BATCH_SIZE)
        ):
            named |= gone & wanted
            for contact in contacts:
                for key in ({contact.id} | contact.merged_ids) & wanted:
                    found[key] = contact
        vanished = [i for i in unique if i not in found and i not in named]
        if vanished:
            found.update(
                confirm_absent(
                    vanished,
                    lambda contact_id: self._read_one(contact_id, props),
                    service=HUBSPOT,
                    asked=len(unique),
                    noun="contacts",
                )
            )
        missing = {i for i in unique if i not in found}
        return found, missing

    def _read_one(self, contact_id: str, properties: list[str]) -> HubSpotContact | None:
        """``GET .../contacts/{id}``: the contact (a merged-away id's survivor), or None when
        HubSpot says it does not exist or is archived (404 ``OBJECT_NOT_FOUND``). Any other
        answer raises."""
        reply = self._send(
            "GET",
            self._objects(f"/{contact_id}"),
            kind="get_one",
            params={"properties": ",".join(properties)},
        )
        if reply.ok:
            data = reply.json()
            if isinstance(data, dict) and data.get("id") not in (None, ""):
                if data.get("archived"):
                    return None
                contact = self._contact(data)
                if contact_id in {contact.id} | contact.merged_ids:
                    return contact
            raise ApiError(
                HUBSPOT, f"contact {contact_id}: the answer to reading it holds no such contact"
            )
        resolution = reply.resolution
        assert resolution is not None
        body = resolution.body
        if (
            resolution.action is Remedy.NOT_FOUND
            and isinstance(body, dict)
            and body.get("category") == NOT_FOUND_CATEGORY
        ):
            return None
        raise ApiError(
            HUBSPOT,
            f"contact {contact_id}: left out of a batch read, and reading it alone answered "
            f"HTTP {resolution.status}: {resolution.message or 'no reason given'}",
        )

    def read_contacts_by_email(
        self, emails: Sequence[str], properties: Sequence[str]
    ) -> dict[str, HubSpotContact]:
        """HubSpot finds a contact by any of its addresses (a merged-away contact's address is
        an additional one of its survivor's), so ``hs_additional_emails`` is read to match."""
        wanted = list(dict.fromkeys(e for e in (normalize_email(x) for x in emails) if e))
        props = self._contact_properties([*properties, ADDITIONAL_EMAILS])
        wanted_set = set(wanted)
        found: dict[str, HubSpotContact] = {}
        for contacts in self._parallel(
            lambda batch: self._batch_read(batch, props, "email"), chunks(wanted, BATCH_SIZE)
        ):
            for contact in contacts:
                for address in contact_addresses(contact) & wanted_set:
                    found.setdefault(address, contact)
        return found

    def changed_pages(self, since_ms: int, properties: Sequence[str]) -> Iterator[ChangePage]:
        """Search ``lastmodifieddate >= since_ms`` ascending, 200 a page (each contact with its
        ``hs_merged_object_ids``, so a survivor of a merge shows the ids it absorbed).

        One query pages through at most ``search_result_cap`` results, so before reaching it
        the query restarts from the newest ``lastmodifieddate`` seen; contacts already yielded
        in the same version (id, lastmodifieddate) are dropped. If a whole query's worth of
        contacts share one ``lastmodifieddate``, those are paged by ``hs_object_id`` instead.
        """
        props = self._read_properties(properties, "lastmodifieddate", MERGED_IDS_PROPERTY)
        cursor = SearchCursor.since(
            since_ms,
            page_size=self.limits.search_page_size,
            result_cap=self.limits.search_result_cap,
        )
        while not cursor.done:
            reply = self._send(
                "POST", self._objects("/search"), kind="search",
                json_body=cursor.request(props), search=True,
            )  # fmt: skip
            reply.raise_for_error()
            data = reply.json() or {}
            contacts = [self._contact(r) for r in data.get("results") or []]
            next_after = ((data.get("paging") or {}).get("next") or {}).get("after")
            fresh = cursor.observe(contacts, next_after=next_after, total=data.get("total"))
            if fresh:
                yield ChangePage(fresh, max(c.updated_at_ms for c in fresh))

    # ------------------------------------------------------------------ writes

    def create_contacts(self, writes: Sequence[ContactWrite]) -> list[WriteResult]:
        return self._after_writes(self.writer.create_contacts(writes))

    def update_contacts(self, writes: Sequence[ContactWrite]) -> list[WriteResult]:
        return self._after_writes(self.writer.update_contacts(writes))

    def _after_writes(self, results: list[WriteResult]) -> list[WriteResult]:
        """A write refused for a property HubSpot does not know: the properties are read again
        before they are used next."""
        if any(remembered.refuses_unknown_property(r.error) for r in results):
            with self._properties_lock:
                self._properties = None
                if self._memory is not None:
                    self._memory.forget(remembered.HUBSPOT_PROPERTIES)
        return results

    # ------------------------------------------------------------------ properties

    def properties(self) -> dict[str, PropertyInfo]:
        with self._properties_lock:
            if self._memory is not None:
                return remembered.recalled(
                    self._memory,
                    remembered.HUBSPOT_PROPERTIES,
                    remembered.decode_properties,
                    self._read_properties_now,
                    remembered.encode_properties,
                    remembered.DEFINITIONS_TTL,
                )
            if self._properties is None:
                self._properties = self._read_properties_now()
            return dict(self._properties)

    def _read_properties_now(self) -> dict[str, PropertyInfo]:
        data = (
            self._session.send_ok(
                "GET",
                f"/crm/properties/{self.api_version}/contacts",
                kind="properties",
                pacer=self.general_pacer,
                params={"archived": "false"},
            )
            or {}
        )
        return {info.name: info for info in (property_info(p) for p in data.get("results") or [])}

    # ------------------------------------------------------------------ preflight

    def credential(self) -> HubSpotCredential:
        """What HubSpot tells about the token (``sellsync check``): see
        :meth:`~sync.clients.hubspot_credentials.TokenCheck.credential`."""
        return self.token_check.credential()

    def token_scopes(self) -> frozenset[str] | None:
        """The scopes the token info tells, or None when it does not describe the token."""
        return self.token_check.credential().scopes

    def probe_scopes(self, list_id: str | None = None) -> frozenset[str]:
        """The required scopes the token lacks: see
        :meth:`~sync.clients.hubspot_credentials.TokenCheck.probe_scopes`."""
        return self.token_check.probe_scopes(list_id)

    def contact_url(self, contact_id: str) -> str | None:
        if self.portal_id is None:
            return None
        return f"https://app.hubspot.com/contacts/{self.portal_id}/record/0-1/{contact_id}"
