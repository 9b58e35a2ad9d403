"""The HubSpot stand-in's webhooks: every change to a contact is POSTed, signed, to a target URL.

As HubSpot does for an app's webhook subscriptions:

* the events: ``contact.creation``, ``contact.propertyChange`` (one per subscribed property
  whose value changed, also for the values a creation sets), ``contact.deletion`` (archive),
  ``contact.restore``, ``contact.merge`` (``primaryObjectId``, ``mergedObjectIds``,
  ``newObjectId``, ``numberOfPropertiesMoved``) and ``contact.privacyDeletion`` (GDPR delete),
  whoever made the change: a write through the API (sellsync's own, which come back as echoes)
  as much as a change a test makes as a user would;
* which of them are sent, and for which properties, is read from the developer project's
  ``hubspot/src/app/webhooks/webhooks-hsmeta.json`` when it is there (else :data:`FALLBACK`);
* a JSON array of at most 100 events per request, each with its ``eventId``, ``subscriptionId``,
  ``portalId``, ``appId``, ``occurredAt`` (ms), ``attemptNumber`` and ``changeSource``;
* signed with the v3 signature (``X-HubSpot-Signature-v3``: base64 HMAC-SHA256 with the app's
  client secret over ``POST`` + target URL + body + ``X-HubSpot-Request-Timestamp``), and with
  the older ``X-HubSpot-Signature`` (v1: SHA-256 of secret + body) that HubSpot still sends;
* at most ``maxConcurrentRequests`` (10) requests in flight; an answer slower than 5 s, a
  connection failure or any status but 2xx is retried later with ``attemptNumber`` one higher,
  ten tries in all (HubSpot spreads them over a day; the sandbox over about two minutes, or the
  delays a test gives).

Nothing is sent until a target is configured (:meth:`WebhookDelivery.configure`, the
``webhook_url`` of :class:`sandbox.server.Sandbox`, ``POST /_sandbox/webhooks``); every request
made is kept in :attr:`WebhookDelivery.deliveries`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.responses import Response

from sandbox.core import ApiRequest, Router, empty_response, json_response
from sandbox.hubspot_records import StoredContact
from sandbox.hubspot_store import HubSpotStore, normalize_email
from sandbox.hubspot_wire import OBJECTS_PATH, bad_request

#: The developer project's webhook settings, when the repository has them.
HSMETA = Path(__file__).resolve().parents[1] / "hubspot/src/app/webhooks/webhooks-hsmeta.json"
#: What is subscribed without the project file: the kinds of contact event sellsync reads and
#: the properties it reads (besides the mapped fields).
FALLBACK_TYPES = (
    "contact.creation",
    "contact.propertyChange",
    "contact.deletion",
    "contact.restore",
    "contact.merge",
    "contact.privacyDeletion",
)
FALLBACK_PROPERTIES = (
    "email",
    "hubspotscore",
    "lifecyclestage",
    "hs_analytics_source",
    "firstname",
    "lastname",
    "phone",
    "company",
)
#: The sandbox app that owns the subscriptions, and its client secret by default.
APP_ID = 888
DEFAULT_CLIENT_SECRET = "sandbox-hubspot-client-secret"
MAX_BATCH = 100
#: HubSpot counts an answer slower than this as failed.
ANSWER_TIMEOUT_SECONDS = 5.0
#: Tries in all (the first and nine retries), and the waits before each retry.
MAX_ATTEMPTS = 10
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 20.0, 30.0, 40.0)
#: How long new events wait to be batched with the ones that follow.
LINGER_SECONDS = 0.05
CHANGE_SOURCE = "CRM"


@dataclass(frozen=True)
class Subscriptions:
    """Which events are sent: the event types, the properties whose changes are, the cap on
    requests in flight."""

    types: frozenset[str]
    properties: frozenset[str]
    max_concurrent: int = 10

    @classmethod
    def from_project(cls, path: Path = HSMETA) -> Subscriptions:
        """The project's webhooks file (``webhooks-hsmeta.json``), or the fallback without it."""
        try:
            config = json.loads(path.read_text(encoding="utf-8"))["config"]
        except (OSError, ValueError, KeyError, TypeError):
            return cls(frozenset(FALLBACK_TYPES), frozenset(FALLBACK_PROPERTIES))
        subscriptions = config.get("subscriptions") or {}
        entries = [
            entry
            for group in ("legacyCrmObjects", "crmObjects", "hubEvents")
            for entry in subscriptions.get(group) or []
            if isinstance(entry, dict) and entry.get("active", True)
        ]
        types = {str(e.get("subscriptionType", "")).replace("object.", "contact.") for e in entries}
        properties = {
            str(e["propertyName"])
            for e in entries
            if str(e.get("subscriptionType", "")).endswith("propertyChange")
            and e.get("propertyName")
        }
        settings = config.get("settings") or {}
        concurrent = settings.get("maxConcurrentRequests")
        return cls(
            frozenset(t for t in types if t.startswith("contact.")),
            frozenset(properties),
            int(concurrent) if isinstance(concurrent, int) and concurrent > 0 else 10,
        )


def sign_v3(secret: str, url: str, body: bytes, timestamp: str, method: str = "POST") -> str:
    """HubSpot's v3 signature of a request it sends."""
    message = method.encode() + url.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class Delivery:
    """One request sent: its events, their ``attemptNumber``, the answer (status, or the
    failure's name) and how long it took."""

    attempt: int
    event_ids: tuple[int, ...]
    status: int | None
    error: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class _Batch:
    events: list[dict[str, Any]]
    attempt: int = 0
    due: float = 0.0


@dataclass
class _Stats:
    in_flight: int = 0
    max_in_flight: int = 0
    dropped: int = 0  # events that ran out of tries
    deliveries: list[Delivery] = field(default_factory=list)


class WebhookDelivery:
    """HubSpot's webhook sender for one app: a queue of events, a sender thread, and up to
    ``max_concurrent`` requests in flight."""

    def __init__(
        self,
        portal_id: int,
        *,
        subscriptions: Subscriptions | None = None,
        app_id: int = APP_ID,
    ) -> None:
        self.portal_id = portal_id
        self.app_id = app_id
        self.subscriptions = subscriptions or Subscriptions.from_project()
        self.target_url: str | None = None
        self.secret = DEFAULT_CLIENT_SECRET
        self.timeout = ANSWER_TIMEOUT_SECONDS
        self.retry_delays: tuple[float, ...] = RETRY_DELAYS
        self.max_attempts = MAX_ATTEMPTS
        self.linger = LINGER_SECONDS
        self._cond = threading.Condition()
        self._pending: list[dict[str, Any]] = []
        self._retries: list[_Batch] = []
        self._next_event = 1
        self._stats = _Stats()
        self._thread: threading.Thread | None = None
        self._stop = False
        self._pool: ThreadPoolExecutor | None = None
        self._client: httpx.Client | None = None
        self._quiet = 0

    # ------------------------------------------------------------------ configuration

    @property
    def sending(self) -> bool:
        """Whether changes are sent now (a target is set, no seed is being laid down)."""
        return self.target_url is not None and not self._quiet

    @property
    def max_concurrent(self) -> int:
        return self.subscriptions.max_concurrent

    def configure(
        self,
        target_url: str | None,
        *,
        secret: str | None = None,
        retry_delays: Sequence[float] | None = None,
        timeout: float | None = None,
    ) -> None:
        """Send to ``target_url`` (None: send nothing, drop what waits), signed with ``secret``."""
        with self._cond:
            self.target_url = target_url or None
            if secret is not None:
                self.secret = secret
            if retry_delays is not None:
                self.retry_delays = tuple(retry_delays)
            if timeout is not None:
                self.timeout = timeout
            if self.target_url is None:
                self._pending.clear()
                self._retries.clear()
            self._cond.notify_all()
        if self.target_url is not None:
            self._start()

    def reset(self) -> None:
        """Forget queued events and the delivery log (the target and secret stay)."""
        with self._cond:
            self._pending.clear()
            self._retries.clear()
            self._stats = _Stats()

    def info(self) -> dict[str, Any]:
        with self._cond:
            stats = self._stats
            return {
                "target_url": self.target_url,
                "app_id": self.app_id,
                "types": sorted(self.subscriptions.types),
                "properties": sorted(self.subscriptions.properties),
                "max_concurrent": self.max_concurrent,
                "queued": len(self._pending) + sum(len(b.events) for b in self._retries),
                "in_flight": stats.in_flight,
                "max_in_flight": stats.max_in_flight,
                "sent": len(stats.deliveries),
                "failed": sum(1 for d in stats.deliveries if not d.ok),
                "dropped": stats.dropped,
            }

    @property
    def deliveries(self) -> list[Delivery]:
        with self._cond:
            return list(self._stats.deliveries)

    @property
    def max_in_flight(self) -> int:
        with self._cond:
            return self._stats.max_in_flight

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is queued, retried or in flight; False when ``timeout`` ran out."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._retries or self._stats.in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """Send nothing for the changes made inside (a seed being laid down)."""
        with self._cond:
            self._quiet += 1
        try:
            yield
        finally:
            with self._cond:
                self._quiet -= 1

    # ------------------------------------------------------------------ events

    def emit(self, subscription_type: str, object_id: str, **fields: Any) -> None:
        """Queue one event when its type (and property) is subscribed and a target is set."""
        if subscription_type not in self.subscriptions.types:
            return
        name = fields.get("propertyName")
        if name is not None and name not in self.subscriptions.properties:
            return
        with self._cond:
            if self.target_url is None or self._quiet:
                return
            event_id = self._next_event
            self._next_event += 1
            self._pending.append(
                {
                    "eventId": event_id,
                    "subscriptionId": _subscription_id(subscription_type, name),
                    "portalId": self.portal_id,
                    "appId": self.app_id,
                    "occurredAt": int(time.time() * 1000),
                    "subscriptionType": subscription_type,
                    "attemptNumber": 0,
                    "objectId": int(object_id),
                    "changeSource": CHANGE_SOURCE,
                    **{k: v for k, v in fields.items() if v is not None},
                }
            )
            self._cond.notify_all()

    # ------------------------------------------------------------------ sending

    def _start(self) -> None:
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop = False
            self._stats.in_flight = 0  # requests a stop() cancelled were never sent
            self._pool = ThreadPoolExecutor(self.max_concurrent, "sandbox-hubspot-webhook")
            self._client = httpx.Client(
                timeout=httpx.Timeout(self.timeout),
                limits=httpx.Limits(max_connections=self.max_concurrent),
            )
            self._thread = threading.Thread(
                target=self._run, name="sandbox-hubspot-webhooks", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop sending (what waits stays queued) and close the connections."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
            thread, pool, client = self._thread, self._pool, self._client
            self._thread = self._pool = self._client = None
        if thread is not None:
            thread.join(timeout=10)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if client is not None:
            client.close()

    def _run(self) -> None:
        while True:
            with self._cond:
                batch = self._next_batch()
                while batch is None and not self._stop:
                    self._cond.wait(self._wait_time())
                    batch = self._next_batch()
                if self._stop:
                    return
                assert batch is not None
                self._stats.in_flight += 1
                self._stats.max_in_flight = max(self._stats.max_in_flight, self._stats.in_flight)
                pool, client = self._pool, self._client
            assert pool is not None and client is not None
            try:
                pool.submit(self._send, batch, client)
            except RuntimeError:  # stop() shut the pool down meanwhile
                return

    def _wait_time(self) -> float:
        now = time.monotonic()
        times = [b.due - now for b in self._retries]
        if self._pending:
            times.append(self.linger)
        return max(0.005, min(times)) if times else 1.0

    def _next_batch(self) -> _Batch | None:
        """The next request to send, when a slot is free: a retry that is due, else up to 100
        new events (once they have lingered, or a batch is full). Caller holds the lock."""
        if self._stats.in_flight >= self.max_concurrent or self.target_url is None:
            return None
        now = time.monotonic()
        for batch in sorted(self._retries, key=lambda b: b.due):
            if batch.due <= now:
                self._retries.remove(batch)
                return batch
        if not self._pending:
            return None
        oldest = self._pending[0].get("_queued_at")
        if oldest is None:
            for event in self._pending:
                event.setdefault("_queued_at", now)
            oldest = now
        if len(self._pending) < MAX_BATCH and now - oldest < self.linger:
            return None
        events, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        for event in events:
            event.pop("_queued_at", None)
        return _Batch(events)

    def _send(self, batch: _Batch, client: httpx.Client) -> None:
        url = self.target_url
        events = [{**e, "attemptNumber": batch.attempt} for e in batch.events]
        body = json.dumps(events, separators=(",", ":")).encode()
        timestamp = str(int(time.time() * 1000))
        status: int | None = None
        failure: str | None = None
        started = time.monotonic()
        try:
            if url is None:
                failure = "no target"
            else:
                response = client.post(
                    url,
                    content=body,
                    timeout=self.timeout,
                    headers={
                        "Content-Type": "application/json",
                        "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/) (sandbox)",
                        "X-HubSpot-Signature-v3": sign_v3(self.secret, url, body, timestamp),
                        "X-HubSpot-Request-Timestamp": timestamp,
                        "X-HubSpot-Signature-Version": "v1",
                        "X-HubSpot-Signature": hashlib.sha256(
                            self.secret.encode() + body
                        ).hexdigest(),
                    },
                )
                status = response.status_code
        except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: closed by stop()
            failure = type(exc).__name__
        took = time.monotonic() - started
        delivery = Delivery(
            batch.attempt, tuple(e["eventId"] for e in events), status, failure, took
        )
        with self._cond:
            self._stats.deliveries.append(delivery)
            self._stats.in_flight -= 1
            if not delivery.ok and url is not None and url == self.target_url:
                if batch.attempt + 1 < self.max_attempts and self.retry_delays:
                    delay = self.retry_delays[min(batch.attempt, len(self.retry_delays) - 1)]
                    self._retries.append(
                        _Batch(batch.events, batch.attempt + 1, time.monotonic() + delay)
                    )
                else:
                    self._stats.dropped += len(batch.events)
            self._cond.notify_all()


def _subscription_id(subscription_type: str, property_name: str | None) -> int:
    """A stable id per subscription (type, and property for a property change)."""
    key = f"{subscription_type}:{property_name or ''}".encode()
    return 100_000 + int(hashlib.sha256(key).hexdigest()[:6], 16) % 900_000


class WebhookEvents(HubSpotStore):
    """The contact writes of :class:`~sandbox.hubspot_store.HubSpotStore`, each telling
    :attr:`webhooks` what changed; plus the restore (as from HubSpot's recycle bin) and the
    GDPR delete the webhooks report."""

    webhooks: WebhookDelivery

    def _changed(self, contact_id: str, before: dict[str, str], after: dict[str, str]) -> None:
        for name in sorted(self.webhooks.subscriptions.properties):
            if before.get(name) != after.get(name):
                self.webhooks.emit(
                    "contact.propertyChange",
                    contact_id,
                    propertyName=name,
                    propertyValue=after.get(name, ""),
                )

    def apply(
        self, contact: StoredContact, changes: dict[str, str | None], *, touch: bool = True
    ) -> None:
        live = contact.id in self.contacts_by_id and not contact.archived
        # a copy of the values only while webhooks are sent (the benchmarks' writes stay cheap)
        before = dict(contact.values) if live and self.webhooks.sending else None
        super().apply(contact, changes, touch=touch)
        if before is not None:
            self._changed(contact.id, before, contact.values)

    def create(self, changes: dict[str, str | None]) -> StoredContact:
        contact = super().create(changes)
        self._created(contact)
        return contact

    def add_contact(self, properties: dict[str, Any], **kwargs: Any) -> str:
        contact_id = super().add_contact(properties, **kwargs)
        contact = self.contacts_by_id[contact_id]
        if not contact.archived:
            self._created(contact)
        return contact_id

    def _created(self, contact: StoredContact) -> None:
        self.webhooks.emit("contact.creation", contact.id, changeFlag="NEW")
        self._changed(contact.id, {}, contact.values)

    def archive_contact(self, contact_id: str) -> None:
        with self.lock:
            contact = self.contacts_by_id.get(str(contact_id))
            live = contact is not None and not contact.archived
            super().archive_contact(contact_id)
            if live:
                self.webhooks.emit("contact.deletion", str(contact_id), changeFlag="DELETED")

    def merge_contacts(self, primary_id: str, absorbed_id: str) -> dict[str, Any]:
        with self.lock:
            primary = self._merge_party(primary_id)
            absorbed = self._merge_party(absorbed_id)
            before = dict(primary.values)
            survivor = super().merge_contacts(primary_id, absorbed_id)
            moved = sum(1 for k, v in survivor["properties"].items() if before.get(k) != v)
            self.webhooks.emit(
                "contact.merge",
                primary.id,
                changeFlag="MERGED",
                primaryObjectId=int(primary.id),
                mergedObjectIds=[int(primary.id), int(absorbed.id)],
                newObjectId=int(survivor["id"]),
                numberOfPropertiesMoved=moved,
            )
            return survivor

    def restore_contact(self, contact_id: str) -> None:
        """Bring an archived contact back, as from HubSpot's recycle bin (its keys must be free).
        Raises KeyError for a contact that is not archived, ValueError for a taken key."""
        with self.lock:
            contact = self.contacts_by_id.get(str(contact_id))
            if contact is None or not contact.archived:
                raise KeyError(str(contact_id))
            conflict = self.find_conflict(contact.values, contact.id)
            if conflict is not None:
                raise ValueError(conflict.message)
            contact.archived, contact.archived_ms = False, None
            self._roster_version += 1
            HubSpotStore.apply(self, contact, {})  # touched and re-indexed, no property event
            self.webhooks.emit("contact.restore", contact.id, changeFlag="RESTORED")

    def gdpr_delete(self, id_value: str, id_property: str | None = None) -> str | None:
        """Delete a contact for good (HubSpot's GDPR delete): gone from every read, archived
        ones included, and from every list. Returns its id; None when nothing matched (HubSpot
        blocklists the e-mail anyway)."""
        with self.lock:
            if id_property == "email":
                owner = self._email_owner.get(normalize_email(id_value))
                contact = self.contacts_by_id.get(owner) if owner else None
                if contact is None:
                    contact = next(
                        (
                            c
                            for c in self.contacts_by_id.values()
                            if normalize_email(c.values.get("email", ""))
                            == normalize_email(id_value)
                        ),
                        None,
                    )
            else:
                cid = str(id_value).strip()
                contact = self.contacts_by_id.get(self.survivor_of(cid) or cid)
            if contact is None:
                return None
            self._unindex(contact)
            del self.contacts_by_id[contact.id]
            self._roster_version += 1
            for hs_list in self.lists_by_id.values():
                if hs_list.members.pop(contact.id, None) is not None:
                    hs_list.version += 1
                    hs_list.updated_ms = self.now_ms()
            self.webhooks.emit("contact.privacyDeletion", contact.id, changeFlag="GDPR_DELETED")
            return contact.id

    # ------------------------------------------------------------------ routes and control

    def register_webhook_routes(self, r: Router) -> None:
        r.add("POST", OBJECTS_PATH + "/gdpr-delete", "contacts.gdpr_delete", self._h_gdpr_delete)

    def _h_gdpr_delete(self, req: ApiRequest) -> Response:
        body = req.json
        if not isinstance(body, dict) or not isinstance(body.get("objectId"), str | int):
            return bad_request("objectId is required")
        id_property = body.get("idProperty")
        if id_property not in (None, "", "email", "hs_object_id"):
            return bad_request(f"idProperty {id_property} is not supported")
        self.gdpr_delete(str(body["objectId"]), id_property or None)
        return empty_response(204)

    def webhook_control(self, req: ApiRequest) -> Response | None:
        """``/_sandbox/webhooks`` (GET: settings and counts; POST ``{target_url, secret}``) and
        ``POST /_sandbox/contacts/<id>/restore``."""
        if req.path == "/_sandbox/webhooks":
            if req.method == "POST":
                body = req.json if isinstance(req.json, dict) else {}
                self.webhooks.configure(body.get("target_url"), secret=body.get("secret"))
            return json_response(200, self.webhooks.info())
        found = re.fullmatch(r"/_sandbox/contacts/(\d+)/restore", req.path)
        if found and req.method == "POST":
            try:
                self.restore_contact(found.group(1))
            except KeyError:
                return json_response(404, {"ok": False, "error": "no archived contact"})
            except ValueError as exc:
                return json_response(409, {"ok": False, "error": str(exc)})
            return json_response(200, self.get_contact(found.group(1)))
        return None
