"""Reading HubSpot's answers to batch writes: which result or failure belongs to which input.

HubSpot answers a batch create or update with per-item results and errors (207), matched here
to the :class:`~sync.ports.ContactWrite` keys (creates carry the key as ``objectWriteTraceId``;
updates are matched by contact id; what names neither is matched by e-mail, then by position).
When it refuses a whole batch, :func:`culprits` reads which inputs the refusal names. These are
pure functions of the reply bodies, apart from the client that sends the requests, so each rule
can be read and tested on plain dictionaries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from sync.clients.errors import Resolution, existing_id
from sync.domain import normalize_email
from sync.ports import ContactWrite, WriteResult

BATCH_SIZE = 100  # batch/read, batch/create, batch/update inputs
#: What a write neither answered nor refused reports (retried next run; never taken for gone).
NO_RESULT = "HubSpot returned no result for this contact"


def context_values(error: dict[str, Any], name: str) -> list[str]:
    context = error.get("context")
    if not isinstance(context, dict):
        return []
    raw = context.get(name)
    if raw is None:
        return []
    if isinstance(raw, list | tuple):
        return [str(v) for v in raw]
    return [str(raw)]


def errors_of(body: Any) -> list[dict[str, Any]]:
    """The per-item errors of a 207 body, or the single whole-request error body."""
    if not isinstance(body, dict):
        return []
    items = body.get("errors")
    if isinstance(items, list):
        return [e for e in items if isinstance(e, dict)]
    return []


T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> list[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def unique_id_chunks(writes: Sequence[ContactWrite]) -> list[list[ContactWrite]]:
    """Batches of <= 100 where no contact id appears twice (HubSpot refuses that)."""
    batches: list[list[ContactWrite]] = []
    ids_in: list[set[str]] = []
    for write in writes:
        for batch, ids in zip(batches, ids_in, strict=True):
            if len(batch) < BATCH_SIZE and str(write.id) not in ids:
                batch.append(write)
                ids.add(str(write.id))
                break
        else:
            batches.append([write])
            ids_in.append({str(write.id)})
    return batches


def write_failure(
    key: str, message: str, *, not_found: bool = False, creating: bool = False
) -> WriteResult:
    """A failed input: missing (update of a gone contact), a duplicate (create of an
    e-mail that exists: "Existing ID: N"), or an error with HubSpot's reason."""
    if not_found:
        return WriteResult(key=key, missing=True)
    duplicate = existing_id(message) if creating else None
    if duplicate:
        return WriteResult(key=key, duplicate_of=duplicate)
    return WriteResult(key=key, error=message or "rejected by HubSpot")


def item_message(error: dict[str, Any]) -> str:
    message = str(error.get("message") or "")
    details = [
        str(e.get("message"))
        for e in error.get("errors") or []
        if isinstance(e, dict) and e.get("message")
    ]
    if details and not message:
        return "; ".join(details)
    return message


def culprits(
    pending: Sequence[ContactWrite], resolution: Resolution, *, by_id: bool
) -> list[ContactWrite]:
    """The inputs a whole-batch error names: by trace id / record id in its context,
    else by a record id or e-mail address appearing as a word in its text."""
    body = resolution.body
    named: set[str] = set()
    for error in [body, *errors_of(body)] if isinstance(body, dict) else []:
        named.update(context_values(error, "objectWriteTraceId"))
        named.update(context_values(error, "id"))
        named.update(context_values(error, "ids"))
    hits = [w for w in pending if w.key in named or (by_id and str(w.id) in named)]
    if hits:
        return hits
    text = json.dumps(body) if body is not None else resolution.message
    matches: list[ContactWrite] = []
    for write in pending:
        if by_id and write.id and re.search(rf"(?<![\w.]){re.escape(str(write.id))}(?![\w])", text):
            matches.append(write)
            continue
        email = normalize_email(write.properties.get("email"))
        if email and re.search(rf"(?<![\w.@-]){re.escape(email)}(?![\w-])", text.lower()):
            matches.append(write)
    return matches


def created_results(
    pending: Sequence[ContactWrite], data: dict[str, Any]
) -> dict[str, WriteResult]:
    out: dict[str, WriteResult] = {}
    by_key = {w.key: w for w in pending}
    for error in errors_of(data):
        message = item_message(error)
        for key in context_values(error, "objectWriteTraceId"):
            if key in by_key and key not in out:
                out[key] = write_failure(key, message, creating=True)
    open_writes = [w for w in pending if w.key not in out]
    by_email: dict[str, list[ContactWrite]] = {}
    for write in open_writes:
        email = normalize_email(write.properties.get("email"))
        if email:
            by_email.setdefault(email, []).append(write)
    unmatched: list[dict[str, Any]] = []
    for record in data.get("results") or []:
        trace = record.get("objectWriteTraceId")
        if trace in by_key and trace not in out:
            out[trace] = WriteResult(key=trace, id=str(record.get("id")))
            continue
        email = normalize_email((record.get("properties") or {}).get("email"))
        candidates = [w for w in by_email.get(email or "", []) if w.key not in out]
        if email and candidates:
            out[candidates[0].key] = WriteResult(key=candidates[0].key, id=str(record.get("id")))
            continue
        unmatched.append(record)
    # Whatever is left can only be matched by position (no trace id, no e-mail).
    rest = [w for w in open_writes if w.key not in out]
    for write, record in zip(rest, unmatched, strict=False):
        out[write.key] = WriteResult(key=write.key, id=str(record.get("id")))
    for write in pending:
        if write.key not in out:
            out[write.key] = WriteResult(key=write.key, error=NO_RESULT)
    return out


def updated_results(
    pending: Sequence[ContactWrite], data: dict[str, Any]
) -> dict[str, WriteResult]:
    out: dict[str, WriteResult] = {}
    by_id = {str(w.id): w for w in pending}
    for error in errors_of(data):
        not_found = error.get("category") == "OBJECT_NOT_FOUND" or str(error.get("status")) == "404"
        message = item_message(error)
        ids = context_values(error, "ids") + context_values(error, "id")
        if not ids:
            ids = [i for i in by_id if re.search(rf"(?<![\w.]){re.escape(i)}(?!\w)", message)]
        for contact_id in ids:
            write = by_id.get(contact_id)
            if write is not None and write.key not in out:
                out[write.key] = write_failure(write.key, message, not_found=not_found)
    for record in data.get("results") or []:
        write = by_id.get(str(record.get("id")))
        if write is not None and write.key not in out:
            out[write.key] = WriteResult(key=write.key, id=str(record.get("id")))
    for write in pending:
        if write.key not in out:
            # Neither updated nor named in an error: report it (retried next run) rather
            # than guess that the contact is gone, which would stop its link (S6).
            out[write.key] = WriteResult(key=write.key, error=NO_RESULT)
    return out
