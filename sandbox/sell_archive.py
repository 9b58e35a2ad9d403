"""What a move out of Sell reads besides leads and contacts: users, notes, deals, tags, tasks,
calls and documents, in the Sell stand-in's data.

A mix-in of :class:`~sandbox.sell_store.SellStore`, whose account it works on; the routes are in
:mod:`sandbox.sell_archive_api`. Resources carry the attributes Sell's Core API documents for
them. Tags are the account's tag definitions per resource type: every tag a lead, contact or
deal carries has one (Sell creates it on first use), kept in step by :meth:`SellArchive.sync_tags`
before tags are listed, so a tag keeps its id once seen.
"""

from __future__ import annotations

import copy
import threading
from typing import TYPE_CHECKING, Any

from sandbox.sell_fields import USER_ID

#: The resources a note, task, call or document hangs on, and a tag is defined for.
NOTE_RESOURCES = ("lead", "contact", "deal")
TASK_RESOURCES = ("lead", "contact", "deal")
CALL_RESOURCES = ("lead", "contact")
DOCUMENT_RESOURCES = ("lead", "contact", "sales_account", "deal")
TAG_RESOURCES = ("lead", "contact", "deal")

FIRST_NOTE_ID = 4_000_001
FIRST_TASK_ID = 4_500_001
FIRST_CALL_ID = 4_800_001
FIRST_DOCUMENT_ID = 4_900_001
FIRST_TAG_ID = 60_001


def user_template(user_id: int, name: str, email: str) -> dict[str, Any]:
    """A Sell user as ``/v2/users`` answers it (``role`` user, active, confirmed)."""
    return {
        "id": user_id,
        "name": name,
        "email": email,
        "status": "active",
        "invited": False,
        "confirmed": True,
        "phone_number": None,
        "role": "user",
        "roles": [{"id": 2, "name": "User"}],
        "team_name": "Sales",
        "group": None,
        "reports_to": USER_ID,
        "timezone": "UTC",
        "created_at": None,
        "updated_at": None,
        "deleted_at": None,
        "zendesk_user_id": str(361_824_000_000 + user_id - USER_ID + 1),
        "identity_type": "person",
        "system_tags": [],
        "detached": False,
        "sell_login_disabled": False,
    }


class SellArchive:
    """Users, notes, deals, tags, tasks, calls and documents; the helpers tests arrange them with."""

    lock: threading.RLock
    user: dict[str, Any]
    records_by_id: dict[str, dict[int, dict[str, Any]]]
    version: int
    _next_deal_id: int

    if TYPE_CHECKING:

        def now_iso(self, at: int | None = None) -> str: ...

    def _reset_archive(self) -> None:
        self.users_by_id: dict[int, dict[str, Any]] = {self.user["id"]: self.user}
        self.notes_by_id: dict[int, dict[str, Any]] = {}
        self.deals_by_id: dict[int, dict[str, Any]] = {}
        self.tags_by_id: dict[int, dict[str, Any]] = {}
        self.tasks_by_id: dict[int, dict[str, Any]] = {}
        self.calls_by_id: dict[int, dict[str, Any]] = {}
        self.documents_by_id: dict[int, dict[str, Any]] = {}
        self._next_archive_id = {
            "note": FIRST_NOTE_ID,
            "task": FIRST_TASK_ID,
            "call": FIRST_CALL_ID,
            "document": FIRST_DOCUMENT_ID,
            "tag": FIRST_TAG_ID,
        }

    # ------------------------------------------------------------------ lookups

    def resource_exists(self, resource_type: str, resource_id: int) -> bool:
        with self.lock:
            if resource_type == "deal":
                return resource_id in self.deals_by_id
            if resource_type in ("lead", "contact"):
                return resource_id in self.records_by_id[resource_type]
            return False

    def _take_id(self, kind: str) -> int:
        value = self._next_archive_id[kind]
        self._next_archive_id[kind] += 1
        return value

    def _stamp(self, created_at: str | None, updated_at: str | None) -> tuple[str, str]:
        created = created_at or self.now_iso()
        return created, updated_at or created

    # ------------------------------------------------------------------ users

    def add_user(
        self,
        name: str,
        email: str,
        *,
        user_id: int | None = None,
        created_at: str | None = None,
        **fields: Any,
    ) -> int:
        """Add a user to the account (Sell's users API is read-only); returns its id."""
        with self.lock:
            new_id = user_id or max(self.users_by_id) + 1
            if new_id in self.users_by_id:
                raise ValueError(f"user {new_id} exists")
            user = user_template(new_id, name, email)
            user["created_at"], user["updated_at"] = self._stamp(created_at, None)
            unknown = set(fields) - set(user)
            if unknown:
                raise ValueError(f"users have no attribute {sorted(unknown)[0]!r}")
            user.update(fields)
            self.users_by_id[new_id] = user
            self.version += 1
            return new_id

    @property
    def users(self) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(u) for _, u in sorted(self.users_by_id.items())]

    # ------------------------------------------------------------------ notes

    def add_note(
        self,
        resource_type: str,
        resource_id: int,
        content: str,
        *,
        creator_id: int = USER_ID,
        is_important: bool = False,
        tags: list[str] | None = None,
        created_at: str | None = None,
        updated_at: str | None = None,
    ) -> int:
        """Attach a note to a lead, contact or deal (no check that it exists); returns its id."""
        if resource_type not in NOTE_RESOURCES:
            raise ValueError(f"resource_type must be one of {', '.join(NOTE_RESOURCES)}")
        with self.lock:
            note_id = self._take_id("note")
            created, updated = self._stamp(created_at, updated_at)
            self.notes_by_id[note_id] = {
                "id": note_id,
                "creator_id": creator_id,
                "resource_type": resource_type,
                "resource_id": int(resource_id),
                "content": content,
                "is_important": is_important,
                "tags": list(tags or []),
                "type": "regular",
                "created_at": created,
                "updated_at": updated,
            }
            self.version += 1
            return note_id

    def notes(
        self, resource_type: str | None = None, resource_id: int | None = None
    ) -> list[dict[str, Any]]:
        """The notes (of one resource if given), by id."""
        with self.lock:
            return [
                copy.deepcopy(n)
                for _, n in sorted(self.notes_by_id.items())
                if (resource_type is None or n["resource_type"] == resource_type)
                and (resource_id is None or n["resource_id"] == int(resource_id))
            ]

    # ------------------------------------------------------------------ deals

    def add_deal(
        self,
        name: str,
        contact_id: int | None,
        *,
        value: int | str = 0,
        currency: str = "USD",
        owner_id: int = USER_ID,
        stage_id: int = 1,
        hot: bool = False,
        estimated_close_date: str | None = None,
        tags: list[str] | None = None,
        created_at: str | None = None,
        updated_at: str | None = None,
    ) -> int:
        """Add a deal for a contact; ``organization_id`` follows the contact as Sell sets it."""
        with self.lock:
            deal_id = self._next_deal_id
            self._next_deal_id += 1
            created, updated = self._stamp(created_at, updated_at)
            organization_id = None
            contact = self.records_by_id["contact"].get(contact_id or 0)
            if contact is not None:
                organization_id = (
                    contact["id"] if contact.get("is_organization") else contact.get("contact_id")
                )
            self.deals_by_id[deal_id] = {
                "id": deal_id,
                "creator_id": USER_ID,
                "owner_id": owner_id,
                "name": name,
                "value": value,
                "currency": currency,
                "hot": hot,
                "stage_id": stage_id,
                "last_stage_change_at": updated,
                "last_stage_change_by_id": owner_id,
                "last_activity_at": updated,
                "source_id": None,
                "loss_reason_id": None,
                "unqualified_reason_id": None,
                "dropbox_email": f"deal{deal_id}@sandbox.dropbox.example",
                "contact_id": contact_id,
                "organization_id": organization_id,
                "estimated_close_date": estimated_close_date,
                "customized_win_likelihood": None,
                "tags": list(tags or []),
                "custom_fields": {},
                "created_at": created,
                "updated_at": updated,
            }
            self.version += 1
            return deal_id

    @property
    def deals(self) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(d) for _, d in sorted(self.deals_by_id.items())]

    # ------------------------------------------------------------------ tags

    def sync_tags(self) -> None:
        """Define every tag a lead, contact or deal carries that has no definition yet."""
        with self.lock:
            known = {(t["resource_type"], t["name"]) for t in self.tags_by_id.values()}
            carried: set[tuple[str, str]] = set()
            for kind in ("lead", "contact"):
                for record in self.records_by_id[kind].values():
                    carried.update((kind, name) for name in record.get("tags") or [])
            for deal in self.deals_by_id.values():
                carried.update(("deal", name) for name in deal.get("tags") or [])
            missing = sorted(carried - known)
            if not missing:
                return
            now = self.now_iso()
            for resource_type, name in missing:
                tag_id = self._take_id("tag")
                self.tags_by_id[tag_id] = {
                    "id": tag_id,
                    "creator_id": USER_ID,
                    "name": name,
                    "resource_type": resource_type,
                    "created_at": now,
                    "updated_at": now,
                }
            self.version += 1

    @property
    def tags(self) -> list[dict[str, Any]]:
        """Every tag definition, by id (after :meth:`sync_tags`)."""
        self.sync_tags()
        with self.lock:
            return [copy.deepcopy(t) for _, t in sorted(self.tags_by_id.items())]

    # ------------------------------------------------------------------ tasks, calls, documents

    def add_task(
        self,
        resource_type: str,
        resource_id: int,
        content: str,
        *,
        owner_id: int = USER_ID,
        due_date: str | None = None,
        completed: bool = False,
        created_at: str | None = None,
    ) -> int:
        if resource_type not in TASK_RESOURCES:
            raise ValueError(f"resource_type must be one of {', '.join(TASK_RESOURCES)}")
        with self.lock:
            task_id = self._take_id("task")
            created, updated = self._stamp(created_at, None)
            self.tasks_by_id[task_id] = {
                "id": task_id,
                "creator_id": USER_ID,
                "owner_id": owner_id,
                "resource_type": resource_type,
                "resource_id": int(resource_id),
                "completed": completed,
                "completed_at": updated if completed else None,
                "due_date": due_date,
                "overdue": False,
                "remind_at": None,
                "content": content,
                "created_at": created,
                "updated_at": updated,
            }
            self.version += 1
            return task_id

    def add_call(
        self,
        resource_type: str,
        resource_id: int,
        summary: str,
        *,
        user_id: int = USER_ID,
        duration: int = 0,
        incoming: bool = False,
        missed: bool = False,
        phone_number: str | None = None,
        made_at: str | None = None,
    ) -> int:
        if resource_type not in CALL_RESOURCES:
            raise ValueError(f"resource_type must be one of {', '.join(CALL_RESOURCES)}")
        with self.lock:
            call_id = self._take_id("call")
            made, updated = self._stamp(made_at, None)
            self.calls_by_id[call_id] = {
                "id": call_id,
                "user_id": user_id,
                "summary": summary,
                "recording_url": None,
                "outcome_id": None,
                "duration": duration,
                "phone_number": phone_number,
                "incoming": incoming,
                "missed": missed,
                "resource_type": resource_type,
                "resource_id": int(resource_id),
                "associated_deal_ids": [],
                "external_id": None,
                "made_at": made,
                "updated_at": updated,
            }
            self.version += 1
            return call_id

    def add_document(
        self,
        resource_type: str,
        resource_id: int,
        name: str,
        *,
        content_type: str = "application/pdf",
        size: int = 0,
        created_at: str | None = None,
    ) -> int:
        if resource_type not in DOCUMENT_RESOURCES:
            raise ValueError(f"resource_type must be one of {', '.join(DOCUMENT_RESOURCES)}")
        with self.lock:
            document_id = self._take_id("document")
            created, updated = self._stamp(created_at, None)
            self.documents_by_id[document_id] = {
                "id": document_id,
                "creator_id": USER_ID,
                "resource_type": resource_type,
                "resource_id": int(resource_id),
                "name": name,
                "content_type": content_type,
                "size": size,
                "download_url": f"https://sandbox.sell.example/documents/{document_id}/{name}",
                "created_at": created,
                "updated_at": updated,
            }
            self.version += 1
            return document_id
