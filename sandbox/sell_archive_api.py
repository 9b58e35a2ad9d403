"""Sell's notes, deals, tags, tasks, calls and documents routes (what a move out of Sell reads).

Lists take the filters and ``sort_by`` fields Sell documents for each resource, page like every
Sell list (``page``, ``per_page`` ≤ 100) and refuse anything else with ``invalid_param``. Notes
can also be created (``POST /v2/notes``, the token's user is the creator); the rest is read-only
here and arranged by tests through :class:`~sandbox.sell_archive.SellArchive`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from sandbox.core import ApiRequest, Reject, Router
from sandbox.sell_archive import (
    CALL_RESOURCES,
    DOCUMENT_RESOURCES,
    NOTE_RESOURCES,
    TAG_RESOURCES,
    TASK_RESOURCES,
)
from sandbox.sell_fields import (
    READ_ONLY,
    USER_ID,
    Filter,
    SellErrors,
    bad_param,
    bool_filter,
    exact_filter,
    ids_filter,
    int_filter,
    request_error,
    resource_error,
)
from sandbox.sell_store import SellStore
from sandbox.sell_wire import Pages, not_found, one, payload

NOTE_FIELDS = ("content", "resource_type", "resource_id", "is_important", "tags", "type")


def choice_filter(name: str, choices: tuple[str, ...]) -> Filter:
    def compile_(wanted: str) -> Callable[[dict[str, Any]], bool]:
        if wanted not in choices:
            raise bad_param(name, f"one of {', '.join(choices)}")
        return lambda item: item.get(name) == wanted

    return compile_


def choices_filter(name: str, choices: tuple[str, ...]) -> Filter:
    """A comma-separated list of ``choices``; an item matches any of them."""

    def compile_(wanted: str) -> Callable[[dict[str, Any]], bool]:
        picked = {part.strip() for part in wanted.split(",") if part.strip()}
        if not picked or not picked <= set(choices):
            raise bad_param(name, f"a comma-separated list of {', '.join(choices)}")
        return lambda item: item.get(name) in picked

    return compile_


def ints_filter(name: str) -> Filter:
    """A comma-separated list of integers; an item matches any of them."""

    def compile_(wanted: str) -> Callable[[dict[str, Any]], bool]:
        try:
            picked = {int(part) for part in wanted.split(",") if part.strip()}
        except ValueError:
            raise bad_param(name, "comma-separated integers") from None
        return lambda item: item.get(name) in picked

    return compile_


def ignored(wanted: str) -> Callable[[dict[str, Any]], bool]:
    """A documented parameter that selects nothing (``includes``: "not supported at the moment")."""
    return lambda item: True


def text_filter(name: str) -> Filter:
    """Sell's ``q``: a case-insensitive full-text match on one attribute."""

    def compile_(wanted: str) -> Callable[[dict[str, Any]], bool]:
        folded = wanted.strip().casefold()
        return lambda item: folded in str(item.get(name) or "").casefold()

    return compile_


class ArchiveRoutes:
    """The ``/v2/notes``, ``/v2/deals``, ``/v2/tags``, ``/v2/tasks``, ``/v2/calls`` and
    ``/v2/documents`` handlers, acting on ``store``."""

    def __init__(self, store: SellStore, pages: Pages) -> None:
        self.store = store
        self.pages = pages

    def register(self, r: Router) -> None:
        r.add("GET", "/v2/notes", "notes.list", self._h_notes)
        r.add("POST", "/v2/notes", "notes.create", self._h_note_create)
        r.add("GET", r"/v2/notes/(?P<rid>[^/]+)", "notes.get", self._getter("note"))
        r.add("GET", "/v2/deals", "deals.list", self._h_deals)
        r.add("GET", r"/v2/deals/(?P<rid>[^/]+)", "deals.get", self._getter("deal"))
        r.add("GET", "/v2/tags", "tags.list", self._h_tags)
        r.add("GET", r"/v2/tags/(?P<rid>[^/]+)", "tags.get", self._getter("tag"))
        r.add("GET", "/v2/tasks", "tasks.list", self._h_tasks)
        r.add("GET", "/v2/calls", "calls.list", self._h_calls)
        r.add("GET", "/v2/documents", "documents.list", self._h_documents)

    def _table(self, kind: str) -> dict[int, dict[str, Any]]:
        store = self.store
        if kind == "tag":
            store.sync_tags()
        tables = {"note": store.notes_by_id, "deal": store.deals_by_id, "tag": store.tags_by_id}
        return tables[kind]

    def _getter(self, kind: str) -> Callable[..., Response]:
        def handler(req: ApiRequest, rid: str) -> Response:
            found = self._table(kind).get(int(rid)) if rid.isdigit() else None
            if found is None:
                raise Reject(not_found(req))
            return one(found, kind)

        return handler

    # ------------------------------------------------------------------ notes

    def _h_notes(self, req: ApiRequest) -> Response:
        return self.pages.answer(
            req,
            list(self.store.notes_by_id.values()),
            "note",
            sortable=("resource_type", "created_at", "updated_at"),
            default_sort="updated_at:asc",
            filters={
                "ids": ids_filter,
                "creator_id": int_filter("creator_id"),
                "q": text_filter("content"),
                "includes": ignored,
                "resource_type": choice_filter("resource_type", NOTE_RESOURCES),
                "resource_id": int_filter("resource_id"),
            },
        )

    def _h_note_create(self, req: ApiRequest) -> Response:
        data = payload(req)
        if not isinstance(data, dict):
            raise SellErrors(
                400,
                [request_error("invalid_payload", 'The request payload must be {"data": {...}}')],
            )
        errors: list[dict[str, Any]] = []

        def problem(code: str, key: str, details: str) -> None:
            errors.append(resource_error("note", code, f"/data/{key}", details))

        for key in data:
            if key not in NOTE_FIELDS and key not in READ_ONLY:
                problem("unknown", key, f"{key} is not an attribute of a note")
        content = data.get("content")
        if content is not None and not isinstance(content, str):
            problem("invalid_type", "content", "content must be a string")
        elif not (content or "").strip():
            problem("blank", "content", "A note needs content")
        resource_type = data.get("resource_type")
        resource_id = data.get("resource_id")
        if resource_type is None:
            problem("missing", "resource_type", "A note needs a resource_type")
        elif resource_type not in NOTE_RESOURCES:
            problem(
                "incorrect_value",
                "resource_type",
                f"resource_type must be one of {', '.join(NOTE_RESOURCES)}",
            )
        if resource_id is None:
            problem("missing", "resource_id", "A note needs a resource_id")
        elif isinstance(resource_id, bool) or not isinstance(resource_id, int):
            problem("invalid_type", "resource_id", "resource_id must be an integer")
        elif resource_type in NOTE_RESOURCES and not self.store.resource_exists(
            resource_type, resource_id
        ):
            problem("incorrect_value", "resource_id", f"there is no {resource_type} {resource_id}")
        important = data.get("is_important", False)
        if not isinstance(important, bool):
            problem("invalid_type", "is_important", "is_important must be true or false")
        tags = data.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            problem("invalid_type", "tags", "tags must be an array of strings")
        if errors:
            raise SellErrors(422, errors)
        assert isinstance(resource_id, int)  # checked above
        note_id = self.store.add_note(
            str(resource_type),
            resource_id,
            str(content),
            creator_id=USER_ID,
            is_important=bool(important),
            tags=list(tags),
        )
        return one(self.store.notes_by_id[note_id], "note")

    # ------------------------------------------------------------------ deals, tags

    def _h_deals(self, req: ApiRequest) -> Response:
        return self.pages.answer(
            req,
            list(self.store.deals_by_id.values()),
            "deal",
            sortable=(
                "id",
                "name",
                "value",
                "owner_id",
                "estimated_close_date",
                "last_activity_at",
                "created_at",
                "updated_at",
            ),
            default_sort="id:asc",
            filters={
                "ids": ids_filter,
                "creator_id": int_filter("creator_id"),
                "owner_id": int_filter("owner_id"),
                "contact_id": int_filter("contact_id"),
                "organization_id": int_filter("organization_id"),
                "source_id": int_filter("source_id"),
                "stage_id": int_filter("stage_id"),
                "hot": bool_filter("hot"),
                "name": exact_filter("name"),
                "estimated_close_date": exact_filter("estimated_close_date"),
                "includes": ignored,
            },
        )

    def _h_tags(self, req: ApiRequest) -> Response:
        self.store.sync_tags()
        return self.pages.answer(
            req,
            list(self.store.tags_by_id.values()),
            "tag",
            sortable=("name", "updated_at", "created_at"),
            default_sort="updated_at:asc",
            filters={
                "ids": ids_filter,
                "creator_id": int_filter("creator_id"),
                "name": exact_filter("name"),
                "resource_type": choice_filter("resource_type", TAG_RESOURCES),
            },
        )

    # ------------------------------------------------------------------ tasks, calls, documents

    def _h_tasks(self, req: ApiRequest) -> Response:
        return self.pages.answer(
            req,
            list(self.store.tasks_by_id.values()),
            "task",
            sortable=(
                *("id", "resource_type", "completed_at", "due_date"),
                *("created_at", "updated_at"),
            ),
            default_sort="updated_at:asc",
            filters={
                "ids": ids_filter,
                "creator_id": int_filter("creator_id"),
                "owner_id": int_filter("owner_id"),
                "resource_type": choice_filter("resource_type", TASK_RESOURCES),
                "resource_id": int_filter("resource_id"),
                "completed": bool_filter("completed"),
                "overdue": bool_filter("overdue"),
                "q": text_filter("content"),
            },
        )

    def _h_calls(self, req: ApiRequest) -> Response:
        return self.pages.answer(
            req,
            list(self.store.calls_by_id.values()),
            "call",
            sortable=("id", "made_at", "updated_at"),
            default_sort="id:asc",
            filters={
                "ids": ids_filter,
                "resource_type": choice_filter("resource_type", CALL_RESOURCES),
                "resource_id": int_filter("resource_id"),
            },
        )

    def _h_documents(self, req: ApiRequest) -> Response:
        missing = [key for key in ("resource_type", "resource_id") if key not in req.query]
        if missing:
            raise SellErrors(
                400,
                [
                    request_error(
                        "invalid_param",
                        f"The request query parameter '{missing[0]}' is required.",
                    )
                ],
            )
        return self.pages.answer(
            req,
            list(self.store.documents_by_id.values()),
            "document",
            sortable=("id", "name", "created_at", "updated_at"),
            default_sort="id:asc",
            filters={
                "resource_type": choices_filter("resource_type", DOCUMENT_RESOURCES),
                "resource_id": ints_filter("resource_id"),
            },
        )
