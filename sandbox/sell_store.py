"""The Zendesk Sell stand-in's data: the user, leads, contacts, custom field definitions and
lead sources (lead conversions: :mod:`sandbox.sell_conversions`).

:class:`SellStore` holds the account and the helpers tests use to arrange it (``add_record``,
``add_custom_field``, ``add_lead_source`` ...), plus the validation and PUT-semantics merge the
route modules (``sandbox.sell_*_api``) build on. Timestamps have one-second precision like Sell's.
Nothing here knows about HTTP: validation failures are :class:`~sandbox.sell_fields.SellErrors`
carrying the status and error items, which the HTTP layer renders.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterable
from typing import Any

from sandbox.sell_archive import SellArchive
from sandbox.sell_conversions import LeadConversions
from sandbox.sell_fields import (
    ADDRESS_KEYS,
    CUSTOM_FIELD_TYPES,
    EMAIL_RE,
    FIELDS,
    KINDS,
    READ_ONLY,
    STATUS_VALUES,
    USER_ID,
    SellErrors,
    custom_problem,
    empty_address,
    iso_seconds,
    record_template,
    request_error,
    resource_error,
    stored_custom,
)
from sandbox.sell_firehose import FirehoseLog

FIRST_IDS = {"lead": 3_000_001, "contact": 5_000_001}


class SyncState:
    """Sell's Sync API (:mod:`sandbox.sell_sync_api`): every device's acks (object → revision)
    and each session's device and remaining items."""

    def __init__(self) -> None:
        self.acked: dict[str, dict[tuple[str, int], str]] = {}
        self.sessions: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        self.started = 0


class SellStore(LeadConversions, SellArchive):
    """A Sell account's records and definitions. Subclasses provide ``lock``."""

    lock: threading.RLock

    def _reset_store(self) -> None:
        now = int(time.time())
        self.user: dict[str, Any] = {
            "id": USER_ID,
            "name": "Sandra Box",
            "email": "sandra.box@sandbox.example",
            "status": "active",
            "invited": False,
            "confirmed": True,
            "phone_number": "+1 555 0100",
            "role": "admin",
            "roles": [{"id": 1, "name": "Admin"}],
            "team_name": "Sales",
            "group": None,
            "reports_to": None,
            "timezone": "UTC",
            "created_at": "2020-01-06T09:00:00Z",
            "updated_at": iso_seconds(now),
            "deleted_at": None,
            "zendesk_user_id": "361824000001",
            "identity_type": "person",
            "system_tags": [],
            "detached": False,
            "sell_login_disabled": False,
        }
        self.records_by_id: dict[str, dict[int, dict[str, Any]]] = {"lead": {}, "contact": {}}
        self.next_id = dict(FIRST_IDS)
        self.custom_field_defs: dict[str, list[dict[str, Any]]] = {
            "lead": [],
            "contact": [],
            "deal": [],
            "prospect_and_customer": [],
        }
        self._next_field_id = 70_001
        self.lead_sources_by_id: dict[int, dict[str, Any]] = {}
        self._next_source_id = 8_001
        self.conversions_by_id: dict[int, dict[str, Any]] = {}
        self._next_conversion_id = 600_001
        self._next_deal_id = 7_000_001
        self._last_s = 0
        self.version = 0  # bumped by every change, so cached list pages go stale
        self.sync_api = False  # the premium Sync API add-on: off, like most accounts
        self.sync = SyncState()
        self.firehose = FirehoseLog()  # the premium Firehose streams: off, like most accounts
        self._reset_archive()  # users, notes, deals, tags, tasks, calls, documents

    # ================================================================== data helpers (tests)

    def now_iso(self, at: int | None = None) -> str:
        """Wall-clock seconds, never going backwards."""
        with self.lock:
            if at is None:
                self._last_s = max(int(time.time()), self._last_s)
                at = self._last_s
            return iso_seconds(at)

    def add_record(
        self,
        kind: str,
        data: dict[str, Any],
        *,
        created_at: str | None = None,
        updated_at: str | None = None,
    ) -> int:
        """Store a lead or contact without validation; returns its id."""
        self._check_kind(kind)
        with self.lock:
            record = record_template(kind)
            record_id = int(data.get("id") or self.next_id[kind])
            self.next_id[kind] = max(self.next_id[kind], record_id) + 1
            record["id"] = record_id
            record["created_at"] = created_at or self.now_iso()
            record["updated_at"] = updated_at or record["created_at"]
            self.merge(
                kind, record, {k: v for k, v in data.items() if k not in READ_ONLY}, lenient=True
            )
            self.records_by_id[kind][record_id] = record
            self.version += 1
            self.record_event(kind, "created", record)
            return record_id

    def update_record(self, kind: str, record_id: int, data: dict[str, Any]) -> None:
        """Change a record without validation (``updated_at`` moves on)."""
        self._check_kind(kind)
        with self.lock:
            record = self.records_by_id[kind][int(record_id)]
            before = copy.deepcopy(record)
            self.merge(kind, record, data, lenient=True)
            self.version += 1
            record["updated_at"] = self.now_iso()
            self.record_event(kind, "updated", record, before=before)

    def get_record(self, kind: str, record_id: int) -> dict[str, Any] | None:
        self._check_kind(kind)
        with self.lock:
            record = self.records_by_id[kind].get(int(record_id))
            return copy.deepcopy(record) if record else None

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Every record of ``kind``, by id."""
        self._check_kind(kind)
        with self.lock:
            return [copy.deepcopy(r) for _, r in sorted(self.records_by_id[kind].items())]

    def delete_record(self, kind: str, record_id: int) -> None:
        self._check_kind(kind)
        with self.lock:
            gone = self.records_by_id[kind].pop(int(record_id), None)
            self.version += 1
            if gone is not None:
                self.record_event(kind, "deleted", gone)

    def record_event(
        self,
        kind: str,
        event_type: str,
        record: dict[str, Any],
        *,
        before: dict[str, Any] | None = None,
        cause: str = "interaction",
    ) -> None:
        """Every write of a lead or contact, whoever makes it, is a Firehose event
        (:mod:`sandbox.sell_firehose`)."""
        self.firehose.emit(
            kind,
            event_type,
            record,
            fields=self.custom_field_defs.get(kind),
            before=before,
            cause=cause,
        )

    def add_custom_field(
        self,
        kind: str,
        name: str,
        type: str,
        choices: Iterable[str] = (),
        *,
        for_company: bool = True,
        for_contact: bool = True,
    ) -> int:
        """Define a custom field (Sell's API cannot; its admins do it in the UI)."""
        if kind not in self.custom_field_defs:
            raise ValueError(f"kind must be one of {sorted(self.custom_field_defs)}")
        if type not in CUSTOM_FIELD_TYPES:
            raise ValueError(f"type must be one of {sorted(CUSTOM_FIELD_TYPES)}")
        with self.lock:
            if any(f["name"] == name for f in self.custom_field_defs[kind]):
                raise ValueError(f"{kind} custom field {name!r} exists")
            field_id = self._next_field_id
            self._next_field_id += 1
            now = self.now_iso()
            definition: dict[str, Any] = {
                "id": field_id,
                "name": name,
                "type": type,
                "created_at": now,
                "updated_at": now,
            }
            if type in ("list", "multi_select_list"):
                options = list(choices)
                if not options:
                    raise ValueError("list fields need choices")
                definition["choices"] = [
                    {"id": field_id * 100 + i, "name": choice}
                    for i, choice in enumerate(options, 1)
                ]
            if kind == "contact":
                definition["for_company"] = for_company
                definition["for_contact"] = for_contact
            self.custom_field_defs[kind].append(definition)
            self.version += 1
            return field_id

    def custom_fields(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.custom_field_defs[kind])

    @property
    def lead_sources(self) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(s) for _, s in sorted(self.lead_sources_by_id.items())]

    def add_lead_source(self, name: str) -> int:
        with self.lock:
            if self.source_named(name) is not None:
                raise ValueError(f"lead source {name!r} exists")
            source_id = self._next_source_id
            self._next_source_id += 1
            self.version += 1
            now = self.now_iso()
            self.lead_sources_by_id[source_id] = {
                "id": source_id,
                "name": name,
                "resource_type": "lead",
                "creator_id": USER_ID,
                "created_at": now,
                "updated_at": now,
            }
            return source_id

    # ============================================================ validation and writes (routes)

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be 'lead' or 'contact', not {kind!r}")

    def source_named(self, name: str) -> dict[str, Any] | None:
        wanted = name.strip().casefold()
        return next(
            (s for s in self.lead_sources_by_id.values() if s["name"].casefold() == wanted), None
        )

    def _field_def(self, kind: str, name: str) -> dict[str, Any] | None:
        return next((f for f in self.custom_field_defs[kind] if f["name"] == name), None)

    def merge(
        self, kind: str, record: dict[str, Any], data: dict[str, Any], *, lenient: bool
    ) -> None:
        """Apply ``data`` (already validated unless lenient): PUT semantics."""
        for key, value in data.items():
            value_kind = FIELDS[kind].get(key)
            if value_kind == "address" and isinstance(value, dict):
                current = record.get(key) or empty_address()
                record[key] = {
                    **current,
                    **{k: value[k] for k in value if k in ADDRESS_KEYS or lenient},
                }
            elif value_kind == "custom" and isinstance(value, dict):
                merged = dict(record.get("custom_fields") or {})
                for name, field_value in value.items():
                    if field_value is None:
                        merged.pop(name, None)
                    else:
                        definition = self._field_def(kind, name)
                        merged[name] = stored_custom(definition, field_value)
                record["custom_fields"] = merged
            elif value_kind == "tags":
                record["tags"] = list(value or [])
            else:
                record[key] = value
        if kind == "contact" and not record.get("is_organization"):
            full = " ".join(p for p in (record.get("first_name"), record.get("last_name")) if p)
            record["name"] = full or None

    def validate(self, kind: str, data: Any, existing: dict[str, Any] | None) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise SellErrors(
                400,
                [request_error("invalid_payload", 'The request payload must be {"data": {...}}')],
            )
        errors: list[dict[str, Any]] = []
        clean: dict[str, Any] = {}
        for key, value in data.items():
            if key in READ_ONLY:
                continue
            pointer = f"/data/{key}"
            value_kind = FIELDS[kind].get(key)
            if value_kind is None:
                errors.append(
                    resource_error(
                        kind, "unknown", pointer, f"{key} is not an attribute of a {kind}"
                    )
                )
                continue
            problem = self._type_problem(kind, key, value_kind, value, existing)
            if problem:
                errors.append(resource_error(kind, problem[0], pointer, problem[1]))
                continue
            clean[key] = value
        merged = copy.deepcopy(existing) if existing else record_template(kind)
        self.merge(kind, merged, clean, lenient=False)
        errors.extend(self._record_problems(kind, merged, clean))
        if errors:
            raise SellErrors(422, errors)
        return clean

    def _type_problem(
        self, kind: str, key: str, value_kind: str, value: Any, existing: dict[str, Any] | None
    ) -> tuple[str, str] | None:
        if value is None:
            if value_kind in ("tags", "custom", "bool"):
                return "invalid_type", f"{key} cannot be null"
            return None
        if value_kind == "str":
            if not isinstance(value, str):
                return "invalid_type", f"{key} must be a string"
            if key in STATUS_VALUES and value not in STATUS_VALUES[key]:
                return "incorrect_value", f"{key} must be one of {', '.join(STATUS_VALUES[key])}"
            if key == "email" and value.strip() and not EMAIL_RE.match(value.strip()):
                return "incorrect_value", f"{value!r} is not a valid email address"
            return None
        if value_kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                return "invalid_type", f"{key} must be an integer"
            if key == "owner_id" and value not in self.users_by_id:
                return "incorrect_value", f"there is no user with id {value}"
            if key == "source_id" and value not in self.lead_sources_by_id:
                return "incorrect_value", f"there is no lead source with id {value}"
            return None
        if value_kind == "bool":
            if not isinstance(value, bool):
                return "invalid_type", f"{key} must be true or false"
            if (
                key == "is_organization"
                and existing is not None
                and value != bool(existing.get(key))
            ):
                return (
                    "incorrect_value",
                    "is_organization can only be set when the contact is created",
                )
            return None
        if value_kind == "address":
            if not isinstance(value, dict):
                return "invalid_type", f"{key} must be an object"
            unknown = [k for k in value if k not in ADDRESS_KEYS]
            if unknown:
                return "unknown", f"{key} has no attribute {unknown[0]}"
            if any(v is not None and not isinstance(v, str) for v in value.values()):
                return "invalid_type", f"{key} values must be strings"
            return None
        if value_kind == "tags":
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                return "invalid_type", "tags must be an array of strings"
            return None
        if not isinstance(value, dict):
            return "invalid_type", "custom_fields must be an object keyed by the field's name"
        return None

    def _record_problems(
        self, kind: str, record: dict[str, Any], clean: dict[str, Any]
    ) -> list[dict[str, Any]]:
        errors: list[dict[str, Any]] = []
        if kind == "lead":
            if (
                not (record.get("last_name") or "").strip()
                and not (record.get("organization_name") or "").strip()
            ):
                errors.append(
                    resource_error(
                        "lead",
                        "blank",
                        "/data/last_name",
                        "A lead needs a last_name or an organization_name",
                    )
                )
        elif record.get("is_organization"):
            if not (record.get("name") or "").strip():
                errors.append(
                    resource_error("contact", "blank", "/data/name", "An organization needs a name")
                )
        elif not (record.get("last_name") or "").strip():
            errors.append(
                resource_error("contact", "blank", "/data/last_name", "A person needs a last_name")
            )
        for name, value in (clean.get("custom_fields") or {}).items():
            pointer = f"/data/custom_fields/{name}"
            definition = self._field_def(kind, name)
            if definition is None:
                errors.append(
                    resource_error(
                        kind, "unknown", pointer, f"there is no {kind} custom field named {name!r}"
                    )
                )
                continue
            if value is None:
                continue
            problem = custom_problem(definition, value)
            if problem:
                errors.append(resource_error(kind, problem[0], pointer, problem[1]))
        return errors
