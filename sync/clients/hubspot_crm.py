"""HubSpot companies, notes, owners, associations (v4) and property definitions, and contacts
by ``zendesk_sell_id``: what leaving Sell writes (:class:`sync.migration.ports.MigrationHubSpot`).

Every request goes through the contacts client's session (:func:`crm_of`), so it shares its
pacing, retries, error table and counters. Paths carry the client's date version:

* objects: ``/crm/objects/{version}/{contacts|companies|notes}`` (``batch/read``,
  ``batch/upsert`` by ``idProperty``, ``batch/update``, list pages), 100 inputs a request;
* associations: ``/crm/associations/{version}/{from}/{to}/batch/associate/default`` and
  ``.../batch/read`` (the v4 API);
* owners: ``/crm/owners/{version}``; properties: ``/crm/properties/{version}/{objectType}``.

A batch HubSpot refuses as a whole because of one input is split until that input is found
(:func:`~sync.clients.isolate.isolate`): one bad record never blocks the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sync.clients.errors import HUBSPOT, Remedy, Resolution, existing_id
from sync.clients.http import Reply
from sync.clients.hubspot import HubSpotClient
from sync.clients.hubspot_lists import Send
from sync.clients.hubspot_wire import property_info
from sync.clients.hubspot_writer import Parallel
from sync.clients.hubspot_writes import BATCH_SIZE, chunks, context_values, errors_of, item_message
from sync.clients.isolate import BatchRefused, isolate
from sync.domain import PropertyInfo, normalize_email
from sync.errors import ApiError
from sync.migration.ports import FoundObject, ObjectWrite, ObjectWriteResult
from sync.migration.rules import SELL_ID_PROPERTY, ObjectType, PropertySpec

#: What a write neither answered nor refused reports (retried by the next run).
NO_RESULT = "HubSpot returned no result for this record"


def _found(record: Mapping[str, Any]) -> FoundObject:
    raw = record.get("properties") or {}
    return FoundObject(
        id=str(record.get("id")),
        properties={str(k): (None if v is None else str(v)) for k, v in raw.items()},
    )


def _failure(write: ObjectWrite, resolution: Resolution) -> ObjectWriteResult:
    message = resolution.message or f"refused by HubSpot (HTTP {resolution.status})"
    return ObjectWriteResult(write.key, error=message, duplicate_of=existing_id(message))


def _blamed(pending: list[ObjectWrite], resolution: Resolution) -> list[ObjectWrite]:
    """The inputs a whole-batch refusal names (by trace id, key or record id)."""
    body = resolution.body
    named: set[str] = set()
    for error in [body, *errors_of(body)] if isinstance(body, dict) else []:
        for name in ("objectWriteTraceId", "id", "ids"):
            named.update(context_values(error, name))
    return [w for w in pending if w.key in named or (w.id is not None and w.id in named)]


def _write_results(pending: Sequence[ObjectWrite], data: Any) -> dict[str, ObjectWriteResult]:
    """Match a batch write's results and per-item errors to the inputs' keys."""
    out: dict[str, ObjectWriteResult] = {}
    by_key = {w.key: w for w in pending}
    by_id = {w.id: w for w in pending if w.id is not None}
    body = data if isinstance(data, dict) else {}
    for error in errors_of(body):
        message = item_message(error) or "refused by HubSpot"
        names = (
            context_values(error, "objectWriteTraceId")
            + context_values(error, "ids")
            + context_values(error, "id")
        )
        for name in names:
            write = by_key.get(name) or by_id.get(name)
            if write is not None and write.key not in out:
                out[write.key] = ObjectWriteResult(
                    write.key, error=message, duplicate_of=existing_id(message)
                )
    for record in body.get("results") or []:
        if not isinstance(record, dict):
            continue
        props = record.get("properties") or {}
        for candidate in (
            record.get("objectWriteTraceId"),
            props.get(SELL_ID_PROPERTY),
            record.get("id"),
        ):
            if candidate is None:
                continue
            write = by_key.get(str(candidate)) or by_id.get(str(candidate))
            if write is not None and write.key not in out:
                out[write.key] = ObjectWriteResult(write.key, id=str(record.get("id")))
                break
    for write in pending:
        out.setdefault(write.key, ObjectWriteResult(write.key, error=NO_RESULT))
    return out


class HubSpotCrm:
    """The migration's HubSpot requests, sent through the contacts client's ``send``."""

    def __init__(
        self,
        send: Send,
        parallel: Parallel,
        api_version: str,
        token_scopes: Callable[[], frozenset[str] | None],
    ) -> None:
        self._send = send
        self._parallel = parallel
        self._version = api_version
        self._token_scopes = token_scopes

    def token_scopes(self) -> frozenset[str] | None:
        return self._token_scopes()

    def _objects(self, object_type: ObjectType, suffix: str = "") -> str:
        return f"/crm/objects/{self._version}/{object_type}{suffix}"

    # ------------------------------------------------------------------ properties and owners

    def object_properties(self, object_type: ObjectType) -> dict[str, PropertyInfo]:
        reply = self._send(
            "GET",
            f"/crm/properties/{self._version}/{object_type}",
            kind="crm_properties",
            params={"archived": "false"},
        )
        reply.raise_for_error()
        data = reply.json() or {}
        infos = (property_info(p) for p in data.get("results") or [] if isinstance(p, dict))
        return {info.name: info for info in infos}

    def create_property(self, spec: PropertySpec) -> None:
        reply = self._send(
            "POST",
            f"/crm/properties/{self._version}/{spec.object_type}",
            kind="property_create",
            json_body=spec.body(),
        )
        if reply.ok or reply.response.status_code == 409:  # made meanwhile: as good
            return
        raise ApiError(
            HUBSPOT,
            f"creating the {spec.object_type} property {spec.name!r}: "
            f"{reply.resolution.message if reply.resolution else 'refused'}",
            reply.response.status_code,
        )

    def set_options(self, object_type: ObjectType, name: str, options: Sequence[str]) -> None:
        body = {
            "options": [
                {"label": o, "value": o, "displayOrder": i, "hidden": False}
                for i, o in enumerate(options)
            ]
        }
        reply = self._send(
            "PATCH",
            f"/crm/properties/{self._version}/{object_type}/{name}",
            kind="property_update",
            json_body=body,
        )
        reply.raise_for_error()

    def owners(self) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        after: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": 100, "archived": "false"}
            if after:
                params["after"] = after
            reply = self._send("GET", f"/crm/owners/{self._version}", kind="owners", params=params)
            reply.raise_for_error()
            data = reply.json() or {}
            for owner in data.get("results") or []:
                if isinstance(owner, dict) and owner.get("id") not in (None, ""):
                    found.append((str(owner["id"]), str(owner.get("email") or "")))
            after = ((data.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return found

    # ------------------------------------------------------------------ reads

    def _batch_read(
        self,
        object_type: ObjectType,
        inputs: list[str],
        properties: Sequence[str],
        id_property: str | None,
    ) -> list[FoundObject]:
        body: dict[str, Any] = {
            "properties": list(dict.fromkeys(properties)),
            "propertiesWithHistory": [],
            "inputs": [{"id": value} for value in inputs],
        }
        if id_property:
            body["idProperty"] = id_property
        reply = self._send(
            "POST", self._objects(object_type, "/batch/read"), kind="crm_batch_read", json_body=body
        )
        if reply.action is Remedy.NOT_FOUND:  # none of them exists
            return []
        reply.raise_for_error()
        data = reply.json() or {}
        return [
            _found(r)
            for r in data.get("results") or []
            if isinstance(r, dict) and r.get("id") not in (None, "") and not r.get("archived")
        ]

    def _read_many(
        self,
        object_type: ObjectType,
        values: Sequence[str],
        properties: Sequence[str],
        id_property: str | None,
    ) -> list[FoundObject]:
        unique = list(dict.fromkeys(v for v in values if v))
        out: list[FoundObject] = []
        for part in self._parallel(
            lambda batch: self._batch_read(object_type, batch, properties, id_property),
            chunks(unique, BATCH_SIZE),
        ):
            out.extend(part)
        return out

    def read_by_key(
        self, object_type: ObjectType, keys: Sequence[str], properties: Sequence[str]
    ) -> dict[str, FoundObject]:
        wanted = set(keys)
        props = [*properties, SELL_ID_PROPERTY]
        return {
            key: found
            for found in self._read_many(object_type, keys, props, SELL_ID_PROPERTY)
            if (key := (found.properties.get(SELL_ID_PROPERTY) or "").strip()) in wanted
        }

    def read_by_id(
        self, object_type: ObjectType, ids: Sequence[str], properties: Sequence[str]
    ) -> dict[str, FoundObject]:
        return {f.id: f for f in self._read_many(object_type, ids, properties, None)}

    def read_by_email(
        self, emails: Sequence[str], properties: Sequence[str]
    ) -> dict[str, FoundObject]:
        wanted = [e for e in (normalize_email(x) for x in emails) if e]
        out: dict[str, FoundObject] = {}
        for found in self._read_many("contacts", wanted, [*properties, "email"], "email"):
            email = normalize_email(found.properties.get("email"))
            if email:
                out.setdefault(email, found)
        return out

    def object_pages(
        self, object_type: ObjectType, properties: Sequence[str]
    ) -> Iterator[list[FoundObject]]:
        after: str | None = None
        while True:
            params: dict[str, str | int] = {
                "limit": BATCH_SIZE,
                "properties": ",".join(properties),
                "archived": "false",
            }
            if after:
                params["after"] = after
            reply = self._send("GET", self._objects(object_type), kind="crm_list", params=params)
            reply.raise_for_error()
            data = reply.json() or {}
            page = [_found(r) for r in data.get("results") or [] if isinstance(r, dict)]
            if page:
                yield page
            after = ((data.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return

    # ------------------------------------------------------------------ writes

    def _isolated(
        self,
        writes: Sequence[ObjectWrite],
        send: Callable[[list[ObjectWrite]], Reply],
    ) -> list[ObjectWriteResult]:
        def attempt(
            pending: list[ObjectWrite],
        ) -> dict[str, ObjectWriteResult] | BatchRefused[Resolution]:
            reply = send(pending)
            if reply.ok:
                return _write_results(pending, reply.json())
            assert reply.resolution is not None
            if reply.resolution.action is not Remedy.SKIP_RECORD and len(pending) > 1:
                reply.raise_for_error()  # not about the values: the whole run's problem
            return BatchRefused(reply.resolution)

        def one_batch(batch: list[ObjectWrite]) -> dict[str, ObjectWriteResult]:
            return isolate(batch, attempt, key=lambda w: w.key, culprits=_blamed, failure=_failure)

        out: dict[str, ObjectWriteResult] = {}
        for part in self._parallel(one_batch, chunks(list(writes), BATCH_SIZE)):
            out.update(part)
        return [out[w.key] for w in writes]

    def upsert(
        self, object_type: ObjectType, writes: Sequence[ObjectWrite]
    ) -> list[ObjectWriteResult]:
        def send(pending: list[ObjectWrite]) -> Reply:
            inputs = [
                {
                    "id": w.key,
                    "idProperty": SELL_ID_PROPERTY,
                    "properties": dict(w.properties),
                    "objectWriteTraceId": w.key,
                }
                for w in pending
            ]
            return self._send(
                "POST", self._objects(object_type, "/batch/upsert"), kind="crm_batch_upsert",
                json_body={"inputs": inputs},
            )  # fmt: skip

        return self._isolated(writes, send)

    def update(
        self, object_type: ObjectType, writes: Sequence[ObjectWrite]
    ) -> list[ObjectWriteResult]:
        for write in writes:
            if not write.id:
                raise ValueError(f"update of {write.key} without a HubSpot id")

        def send(pending: list[ObjectWrite]) -> Reply:
            inputs = [{"id": str(w.id), "properties": dict(w.properties)} for w in pending]
            return self._send(
                "POST", self._objects(object_type, "/batch/update"), kind="crm_batch_update",
                json_body={"inputs": inputs},
            )  # fmt: skip

        return self._isolated(writes, send)

    # ------------------------------------------------------------------ associations

    def _associations_path(self, from_type: ObjectType, to_type: ObjectType, op: str) -> str:
        return f"/crm/associations/{self._version}/{from_type}/{to_type}/batch/{op}"

    def associate(
        self, from_type: ObjectType, to_type: ObjectType, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str | None]:
        path = self._associations_path(from_type, to_type, "associate/default")

        def attempt(
            pending: list[tuple[str, str]],
        ) -> dict[str, str | None] | BatchRefused[Resolution]:
            inputs = [{"from": {"id": a}, "to": {"id": b}} for a, b in pending]
            reply = self._send("POST", path, kind="associate", json_body={"inputs": inputs})
            if reply.ok:
                data = reply.json() or {}
                sources: set[str] = set()  # a missing record on the "from" side
                targets: set[str] = set()  # … on the "to" side (a 207 names either)
                either: set[str] = set()
                for error in errors_of(data):
                    sources.update(context_values(error, "fromObjectId"))
                    targets.update(context_values(error, "toObjectId"))
                    either.update(context_values(error, "ids"))
                return {
                    f"{a}>{b}": (
                        "refused by HubSpot"
                        if a in sources or b in targets or a in either or b in either
                        else None
                    )
                    for a, b in pending
                }
            assert reply.resolution is not None
            if reply.resolution.action not in (Remedy.SKIP_RECORD, Remedy.NOT_FOUND):
                reply.raise_for_error()
            return BatchRefused(reply.resolution)

        out: dict[tuple[str, str], str | None] = {}
        for batch in chunks(list(dict.fromkeys(pairs)), BATCH_SIZE):
            results = isolate(
                batch,
                attempt,
                key=lambda p: f"{p[0]}>{p[1]}",
                culprits=lambda pending, reason: [],
                failure=lambda p, reason: reason.message or "refused by HubSpot",
            )
            for a, b in batch:
                out[(a, b)] = results[f"{a}>{b}"]
        return out

    def associations(
        self, from_type: ObjectType, to_type: ObjectType, ids: Sequence[str]
    ) -> dict[str, set[str]]:
        path = self._associations_path(from_type, to_type, "read")
        out: dict[str, set[str]] = {}
        for batch in chunks(list(dict.fromkeys(ids)), BATCH_SIZE):
            reply = self._send(
                "POST", path, kind="association_read",
                json_body={"inputs": [{"id": i} for i in batch]},
            )  # fmt: skip
            if reply.action is Remedy.NOT_FOUND:
                continue
            reply.raise_for_error()
            data = reply.json() or {}
            for result in data.get("results") or []:
                if not isinstance(result, dict):
                    continue
                source = str((result.get("from") or {}).get("id"))
                targets = {
                    str(t.get("toObjectId"))
                    for t in result.get("to") or []
                    if isinstance(t, dict) and t.get("toObjectId") is not None
                }
                out.setdefault(source, set()).update(targets)
        return out


def crm_of(client: HubSpotClient) -> HubSpotCrm:
    """The migration's requests on ``client``'s session (its pacing, retries and counters)."""
    return HubSpotCrm(
        client._send,  # the client's paced, retried request, as its lists and writer use it
        client._parallel,
        client.api_version,
        client.token_scopes,
    )
