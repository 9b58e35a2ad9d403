"""What HubSpot tells about a credential, and which scopes it lacks (``sellsync check``).

``HUBSPOT_ACCESS_TOKEN`` may be a service key, a project app's static token or a legacy private
app's token. Only the private-app token info describes a token, so :class:`TokenCheck` reads it
where it answers and otherwise finds missing scopes by calling the endpoints the product calls
(:func:`~sync.clients.hubspot_scopes.probe_requests`). It sends through the client's own paced,
retried and counted ``send``, as :class:`~sync.clients.hubspot_lists.HubSpotLists` does.
"""

from __future__ import annotations

from collections.abc import Callable

from sync.clients.http import Reply
from sync.clients.hubspot_scopes import TOKEN_INFO_PATH, HubSpotCredential, probe_requests
from sync.errors import ApiError, AuthError, RateLimited

Send = Callable[..., Reply]


class TokenCheck:
    def __init__(self, send: Send, api_version: str, token: str) -> None:
        self._send = send
        self.api_version = api_version
        self._token = token

    def credential(self) -> HubSpotCredential:
        """What HubSpot tells about the token (``sellsync check``).

        HubSpot's private-app token info describes an app's static token: its app, portal and
        scopes. For any other credential (a service key) HubSpot documents no answer, so any
        failure here, even a 401 or a 500, only means "not told": whether the token works, and
        whether HubSpot answers at all, is decided by the calls the product makes
        (:meth:`probe_scopes`), never by this endpoint. Only a 429 raises, so that the check
        does not go on to spend more of the limit."""
        try:
            reply = self._send(
                "POST", TOKEN_INFO_PATH, kind="token_info", json_body={"tokenKey": self._token}
            )
        except RateLimited:
            raise
        except ApiError as exc:
            return HubSpotCredential("not_told", status=exc.status)
        if not reply.ok:  # a 404, 409 or 422 comes back as a reply
            return HubSpotCredential("not_told", status=reply.response.status_code)
        body = reply.json()
        scopes = body.get("scopes") if isinstance(body, dict) else None
        if not isinstance(scopes, list):
            return HubSpotCredential("not_told", status=reply.response.status_code)
        return HubSpotCredential(
            "app",
            scopes=frozenset(str(s) for s in scopes),
            app_id=str(body.get("appId") or ""),
            hub_id=str(body.get("hubId") or ""),
        )

    def probe_scopes(self, list_id: str | None = None) -> frozenset[str]:
        """The required scopes the token lacks, found by calling the endpoints themselves
        (:func:`~sync.clients.hubspot_scopes.probe_requests`: reads, and writes with empty
        inputs, so nothing changes). A 403 means the probe's scopes are missing, less those
        another probe proved held; any other 4xx means HubSpot got past its scope check. A
        refused token (401) raises :class:`AuthError`; a HubSpot that does not answer raises."""
        needed: set[str] = set()
        held: set[str] = set()
        for probe in probe_requests(self.api_version, list_id):
            try:
                self._send(probe.method, probe.path, kind=probe.kind, json_body=probe.body)
            except AuthError as exc:
                if exc.status != 403:
                    raise
                needed.update(probe.scopes)
                continue
            except RateLimited:
                raise
            except ApiError as exc:
                if exc.status is None or not 400 <= exc.status < 500:
                    raise
            held.update(probe.scopes)
        return frozenset(needed - held)
