"""The one settings class, read from the environment (and an optional ``.env``).

Only the composition root (``bot/wiring.py``, ``bot/cli.py``) reads it. Each command asks for the
variables it uses with :meth:`AppSettings.require`; a missing or placeholder value raises
:class:`sync.errors.ConfigError` naming the variable (the CLI turns it into exit 2).
"""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sync.api import ConfigError

_PLACEHOLDER = re.compile(r"^(changeme|xxx+|your[-_].*|<.*>|todo|replace[-_ ]?me)$", re.I)
# Tokens are often pasted as the service's prefix plus a placeholder ("xoxb-your-token",
# "xapp-xxx", "pat-na1-changeme"): the prefix alone does not make the value real.
_TOKEN_PREFIX = re.compile(r"^(xox[a-z]|xapp(-\d+)?|pat(-[a-z]{2,3}\d+)?)-", re.I)

SECRET_FIELDS = (
    "hubspot_access_token",
    "sell_access_token",
    "slack_bot_token",
    "slack_signing_secret",
    "slack_app_token",
    "hubspot_client_secret",
)


def is_placeholder(value: str | None) -> bool:
    if value is None or value.strip() == "":
        return True
    text = value.strip()
    return bool(_PLACEHOLDER.match(text) or _PLACEHOLDER.match(_TOKEN_PREFIX.sub("", text, 1)))


def _http_url(value: str) -> str:
    """An http(s) URL with a host, or ValueError saying what is wrong (named by the caller)."""
    text = value.strip()
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise ValueError(f"{text!r} is not an http:// or https:// URL")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    if not host or host.startswith(":"):
        raise ValueError(f"{text!r} has no host")
    port = host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else None
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"{text!r} has an invalid port")
    return text


class AppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = "sqlite:///sellsync.db"

    hubspot_access_token: SecretStr | None = None
    hubspot_base_url: str = "https://api.hubapi.com"
    hubspot_list_id: str | None = None
    hubspot_score_property: str = "hubspotscore"
    hubspot_portal_id: str | None = None
    hubspot_requests_per_10s: int = 190
    hubspot_search_per_s: float = 5.0
    #: The HubSpot app's client secret: signs the webhooks sent to POST /hubspot/webhooks (set
    #: it to accept them). PUBLIC_URL: where HubSpot reaches this server (scheme, host and any
    #: path prefix, as in the app's target URL), when a proxy in front changes them.
    hubspot_client_secret: SecretStr | None = None
    public_url: str | None = None

    sell_access_token: SecretStr | None = None
    sell_base_url: str = "https://api.getbase.com"
    sell_import_as: Literal["lead", "contact"] = "lead"
    sell_requests_per_s: float = 10.0

    sync_threshold: int = Field(default=0, ge=0)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_summary_channel: str | None = None
    slack_approval_channel: str | None = None
    slack_manager_ids: str = ""
    slack_manager_group: str | None = None
    #: Where each record sellsync creates in Sell is announced (unset: no channel post; its Sell
    #: owner is told by DM either way when Slack knows their e-mail).
    slack_new_leads_channel: str | None = None
    #: Where a request's response_url may point besides https://hooks.slack.com (and the host of
    #: a SLACK_API_URL that is not Slack's, e.g. the sandbox): origins, comma-separated.
    slack_response_url_hosts: str = ""

    sync_interval_minutes: int = Field(default=15, ge=1)
    #: The short poll between scheduled runs (list joins; Sell's changes without the Firehose;
    #: HubSpot's changes without webhooks), in seconds; 0: no poll.
    sync_poll_seconds: int = Field(default=60, ge=0)
    #: How often Sell's Firehose is read when the account has it (0: never; polls read Sell).
    sell_firehose_seconds: int = Field(default=5, ge=0)
    sync_bulk_limit: int = Field(default=100, ge=0)  # creations a run makes unasked (bulk guard)
    sync_lock_ttl_seconds: int = Field(default=120, ge=1)  # the run lease, renewed every TTL/3
    summary_cron: str = "0 9 * * mon-fri"
    summary_tz: str = "UTC"
    port: int = Field(default=3000, ge=1, le=65535)
    bind_address: str = "0.0.0.0"  # where serve listens (127.0.0.1: this host only)
    metrics_token: SecretStr | None = None  # when set, /metrics and /healthz's details need it

    log_level: str | None = None  # DEBUG, INFO, WARNING, ERROR; unset: per command
    log_format: Literal["text", "json"] = "text"

    @field_validator("sell_import_as", mode="before")
    @classmethod
    def _lower(cls, v: object) -> object:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, v: object) -> object:
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        name = str(v).strip().upper()
        if name not in logging.getLevelNamesMapping():
            raise ValueError("use DEBUG, INFO, WARNING or ERROR")
        return name

    @field_validator("log_format", mode="before")
    @classmethod
    def _format(cls, v: object) -> object:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("bind_address", mode="before")
    @classmethod
    def _bind_address(cls, v: object) -> object:
        """An IP address (0.0.0.0: every interface, as a container needs; 127.0.0.1: this host
        only; :: for IPv6)."""
        if v is None or (isinstance(v, str) and not v.strip()):
            return "0.0.0.0"
        text = str(v).strip().strip("[]")
        try:
            ipaddress.ip_address(text)
        except ValueError:
            raise ValueError("use an IP address such as 0.0.0.0 or 127.0.0.1") from None
        return text

    @field_validator("hubspot_base_url", "sell_base_url", "slack_api_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _http_url(v)

    @field_validator("hubspot_client_secret", mode="before")
    @classmethod
    def _client_secret(cls, v: object) -> object:
        """Blank is unset: no webhooks (``HUBSPOT_CLIENT_SECRET=`` as .env.example has it)."""
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        return v.strip() if isinstance(v, str) else v

    @field_validator("public_url", mode="before")
    @classmethod
    def _public_url(cls, v: object) -> object:
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        text = _http_url(str(v))
        if "?" in text or "#" in text:
            raise ValueError(f"{text!r} has a query or a fragment: give scheme, host and path")
        return text.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, v: str) -> str:
        """Parsed now, so a bad port or a typo is a setting error, not a crash later on."""
        from sqlalchemy.engine import make_url

        try:
            url = make_url(v.strip())
            url.port  # noqa: B018 - SQLAlchemy parses the port lazily and raises here
        except ValueError as exc:
            raise ValueError(f"cannot be parsed as a database URL ({exc})") from None
        except Exception:
            raise ValueError("cannot be parsed as a database URL") from None
        return v

    # ------------------------------------------------------------------ helpers
    def require(self, *names: str) -> None:
        """Raise ConfigError for the first variable among ``names`` that is missing/placeholder."""
        for name in names:
            value = getattr(self, name)
            raw = value.get_secret_value() if isinstance(value, SecretStr) else value
            if raw is None or (isinstance(raw, str) and is_placeholder(raw)):
                problem = (
                    "is not set" if raw is None or not str(raw).strip() else "is a placeholder"
                )
                raise ConfigError(name.upper(), problem)

    def secret(self, name: str) -> str:
        value = getattr(self, name)
        assert isinstance(value, SecretStr), name
        return value.get_secret_value()

    @property
    def manager_ids(self) -> frozenset[str]:
        return frozenset(x.strip() for x in self.slack_manager_ids.split(",") if x.strip())

    @property
    def approval_channel(self) -> str | None:
        return self.slack_approval_channel or self.slack_summary_channel

    def secrets(self) -> list[str]:
        """Every secret value in force, for scrubbing logs and messages."""
        out = []
        for name in (*SECRET_FIELDS, "metrics_token"):
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                out.append(value.get_secret_value())
        return out


SYNC_VARIABLES = ("hubspot_access_token", "hubspot_list_id", "sell_access_token")
SLACK_VARIABLES = ("slack_bot_token",)


def load_settings() -> AppSettings:
    try:
        return AppSettings()
    except Exception as exc:  # pydantic ValidationError: name the first bad variable
        errors = getattr(exc, "errors", None)
        if callable(errors):
            first = errors()[0]
            loc = str(first.get("loc", ["?"])[0]).upper()
            message = str(first.get("msg", "bad value")).removeprefix("Value error, ")
            raise ConfigError(loc, f"is invalid: {message}") from None
        raise
