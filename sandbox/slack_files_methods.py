"""Slack's external file upload, the three steps of slack_sdk's ``files_upload_v2``.

1. ``files.getUploadURLExternal`` (``filename``, ``length`` in bytes, optional ``alt_txt``)
   answers an ``upload_url`` on this server and a ``file_id``;
2. a POST of the file's bytes (raw) to that URL answers HTTP 200, once per URL, when as many
   bytes arrive as ``length`` said (anything else: HTTP 400, and a URL never issued: 404);
3. ``files.completeUploadExternal`` (``files``: a JSON list of ``{"id", "title"}``, optional
   ``channel_id`` or ``channels``, ``initial_comment``, ``thread_ts``) shares the files in the
   channel, or in the thread of ``thread_ts``, and answers ``files``.

Both methods need ``files:write``, and refuse bad arguments with Slack's ``ok: false`` errors:
``invalid_arguments``, ``missing_argument`` (a ``length`` of 0), ``alt_txt_too_large``,
``file_not_found`` (an id never issued, not uploaded yet, or already completed),
``channel_not_found`` and ``not_in_channel`` (a private channel the bot is not in). The uploaded
bytes are kept (:meth:`FileMethods.uploaded`) so tests can look at what was sent, and each
completion is recorded in the service's ``messages`` as a ``files.completeUploadExternal`` call.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import PlainTextResponse, Response

from sandbox.core import ApiRequest, json_response
from sandbox.slack_store import SlackStore
from sandbox.slack_wire import BOT, MAX_TEXT, Args, SlackError, json_arg

FILE_METHODS = frozenset({"files.getUploadURLExternal", "files.completeUploadExternal"})
UPLOAD_PATH = re.compile(r"/upload/v1/(?P<key>[A-Za-z0-9_-]+)")
MAX_ALT_TXT = 1000
MAX_FILE_BYTES = 1024 * 1024 * 1024  # Slack's 1 GB


@dataclass
class Upload:
    """One file from ``files.getUploadURLExternal`` on."""

    id: str
    filename: str
    length: int
    alt_txt: str | None
    key: str  # the secret part of its upload URL
    data: bytes | None = None  # the bytes POSTed to the URL
    title: str | None = None
    channel: str | None = None  # where it was shared (completed)
    thread_ts: str | None = None
    initial_comment: str | None = None
    ts: str | None = None  # the message that shared it

    @property
    def completed(self) -> bool:
        return self.ts is not None or self.title is not None

    def info(self) -> dict[str, Any]:
        """The file object Slack answers (and the sandbox shows), without the bytes."""
        filetype = self.filename.rsplit(".", 1)[-1].lower() if "." in self.filename else ""
        return {
            "id": self.id,
            "name": self.filename,
            "title": self.title or self.filename,
            "filetype": filetype,
            "mimetype": {"png": "image/png", "jpg": "image/jpeg", "txt": "text/plain"}.get(
                filetype, "application/octet-stream"
            ),
            "size": len(self.data or b""),
            "alt_txt": self.alt_txt,
            "user": BOT["user_id"],
            "sha256": hashlib.sha256(self.data or b"").hexdigest(),
            "channels": [self.channel] if self.channel else [],
            **_image_size(self.data or b""),
        }


def _image_size(data: bytes) -> dict[str, int]:
    """``original_w`` / ``original_h`` of a PNG, as Slack gives them for images."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return {}
    return {
        "original_w": int.from_bytes(data[16:20], "big"),
        "original_h": int.from_bytes(data[20:24], "big"),
    }


class FileMethods:
    """``files.getUploadURLExternal``, the upload URL and ``files.completeUploadExternal``."""

    def __init__(self, store: SlackStore) -> None:
        self.store = store
        self.reset()

    def reset(self) -> None:
        self._uploads: dict[str, Upload] = {}
        self._ids = itertools.count(1)

    def methods(self) -> dict[str, Callable[[Args], Args]]:
        return {
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete,
        }

    # ---------------------------------------------------------------- for tests

    def uploaded(self, *, completed: bool = True) -> list[tuple[dict[str, Any], bytes]]:
        """The files uploaded (and shared, unless ``completed`` is False), oldest first, each
        as its file object and its bytes."""
        with self.store.lock:
            return [
                (
                    u.info() | {"thread_ts": u.thread_ts, "initial_comment": u.initial_comment},
                    u.data,
                )
                for u in self._uploads.values()
                if u.data is not None and (u.completed or not completed)
            ]

    # ---------------------------------------------------------------- step 1

    def _get_upload_url(self, args: Args) -> Args:
        self.store.need_scope("files:write")
        filename = str(args.get("filename") or "").strip()
        raw_length = args.get("length")
        if not filename or raw_length in (None, ""):
            raise SlackError("invalid_arguments")
        try:
            length = int(str(raw_length))
        except ValueError:
            raise SlackError("invalid_arguments") from None
        if length <= 0:
            raise SlackError("missing_argument")
        if length > MAX_FILE_BYTES:
            raise SlackError("file_upload_size_restricted")
        alt = args.get("alt_txt")
        if alt is not None and len(str(alt)) > MAX_ALT_TXT:
            raise SlackError("alt_txt_too_large")
        with self.store.lock:
            file_id = f"F{next(self._ids):010d}"
            key = secrets.token_urlsafe(12)
            self._uploads[file_id] = Upload(
                file_id, filename, length, None if alt in (None, "") else str(alt), key
            )
        base = str(getattr(self.store, "base_url", ""))
        return {"upload_url": f"{base}/upload/v1/{key}", "file_id": file_id}

    # ---------------------------------------------------------------- step 2

    def receive(self, req: ApiRequest, key: str) -> Response:
        """The POST of a file's bytes to its upload URL."""
        if req.method != "POST":
            return PlainTextResponse("method not allowed", 405)
        with self.store.lock:
            upload = next(
                (u for u in self._uploads.values() if secrets.compare_digest(u.key, key)), None
            )
            if upload is None or upload.data is not None:
                return PlainTextResponse("not found", 404)
            if len(req.body) != upload.length:
                return PlainTextResponse(
                    f"length mismatch: {len(req.body)} bytes sent, {upload.length} announced",
                    400,
                )
            upload.data = bytes(req.body)
        return PlainTextResponse(f"OK - {len(req.body)}", 200)

    # ---------------------------------------------------------------- step 3

    def _complete(self, args: Args) -> Args:
        self.store.need_scope("files:write")
        files = json_arg(args.get("files"), "invalid_arguments")
        if not isinstance(files, list) or not files:
            raise SlackError("invalid_arguments")
        if not all(isinstance(f, dict) and f.get("id") for f in files):
            raise SlackError("invalid_arguments")
        channels = [c for c in str(args.get("channels") or "").split(",") if c.strip()]
        if args.get("channel_id"):
            channels = [str(args["channel_id"]), *channels]
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        if thread_ts is not None and len(channels) != 1:
            raise SlackError("invalid_arguments")  # a thread needs exactly one channel
        comment = args.get("initial_comment")
        if comment is not None and len(str(comment)) > MAX_TEXT:
            raise SlackError("msg_too_long")
        with self.store.lock:
            uploads = []
            for f in files:
                upload = self._uploads.get(str(f["id"]))
                if upload is None or upload.data is None or upload.completed:
                    raise SlackError("file_not_found")
                uploads.append((upload, f))
            channel = self._channel(channels[0]) if channels else None
            ts = None
            if channel is not None:
                ts = self.store.next_ts()
                message: dict[str, Any] = {
                    "type": "message",
                    "subtype": "file_share",
                    "user": BOT["user_id"],
                    "bot_id": BOT["bot_id"],
                    "ts": ts,
                    "text": str(comment or ""),
                    "files": [u.id for u, _ in uploads],
                }
                if thread_ts is not None:
                    message["thread_ts"] = thread_ts
                self.store.history.setdefault(channel, []).append(message)
            for upload, f in uploads:
                upload.title = str(f.get("title") or upload.filename)
                upload.channel = channel
                upload.thread_ts = thread_ts
                upload.initial_comment = None if comment is None else str(comment)
                upload.ts = ts or ""
            infos = [u.info() for u, _ in uploads]
            self.store.messages.append(
                {
                    "method": "files.completeUploadExternal",
                    "ok": True,
                    "args": copy.deepcopy({k: v for k, v in args.items() if k != "token"}),
                    "channel": channel,
                    "ts": ts,
                    "thread_ts": thread_ts,
                    "text": None if comment is None else str(comment),
                    "files": copy.deepcopy(infos),
                    "blocks": None,
                    "view": None,
                    "user": None,
                    "at": time.time(),
                }
            )
        return {"files": [{"id": i["id"], "title": i["title"]} for i in infos]}

    def _channel(self, channel: str) -> str:
        if channel[:1] in ("U", "W"):
            return f"D{channel}"
        if not re.fullmatch(r"[CGD][A-Z0-9]+", channel):
            raise SlackError("channel_not_found")
        known = self.store.channels.get(channel)
        if known is not None and known.get("is_private") and not known.get("is_member"):
            raise SlackError("not_in_channel")
        return channel

    def control(self, req: ApiRequest) -> Response | None:
        """``GET /_sandbox/files``: the files shared, without their bytes;
        ``GET /_sandbox/files/<id>``: one file's bytes."""
        if req.method != "GET":
            return None
        if req.path == "/_sandbox/files":
            return json_response(200, {"files": [info for info, _ in self.uploaded()]})
        found = re.fullmatch(r"/_sandbox/files/(?P<id>F[0-9]+)", req.path)
        if found:
            with self.store.lock:
                upload = self._uploads.get(found.group("id"))
                data = upload.data if upload is not None else None
            if data is None:
                return PlainTextResponse("not found", 404)
            return Response(data, 200, media_type="application/octet-stream")
        return None
