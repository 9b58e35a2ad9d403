"""The one settings class, read from the environment (and an optional ``.env``).

Only the composition root (``bot/wiring.py``, ``bot/cli.py``) reads it. Each command asks for the
variables it uses with :meth:`AppSettings.require`; a missing or placeholder value raises
:class:`sync.errors.ConfigError` naming the variable (the CLI turns it into exit 2).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sync.errors import ConfigError

_PLACEHOLDER = re.compile(r"^(changeme|xxx+|your[-_].*|<.*>|todo|replace[-_ ]?me)$", re.I)

SECRET_FIELDS = (
    "hubspot_access_token",
    "sell_access_token",
    "slack_bot_token",
    "slack_signing_secret",
    "slack_app_token",
)


def is_placeholder(value: str | None) -> bool:
    return value is None or value.strip() == "" or bool(_PLACEHOLDER.match(value.strip()))


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

    sell_access_token: SecretStr | None = None
    sell_base_url: str = "https://api.getbase.com"
    sell_import_as: Literal["lead", "contact"] = "lead"
    sell_requests_per_s: float = 10.0

    sync_threshold: int = 0

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_summary_channel: str | None = None
    slack_approval_channel: str | None = None
    slack_manager_ids: str = ""
    slack_manager_group: str | None = None

    sync_interval_minutes: int = Field(default=15, ge=1)
    sync_lock_ttl_seconds: int = Field(default=120, ge=1)  # the run lease, renewed every TTL/3
    summary_cron: str = "0 9 * * mon-fri"
    summary_tz: str = "UTC"
    port: int = 3000

    @field_validator("sell_import_as", mode="before")
    @classmethod
    def _lower(cls, v: object) -> object:
        return v.strip().lower() if isinstance(v, str) else v

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
        for name in SECRET_FIELDS:
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
            raise ConfigError(loc, f"is invalid: {first.get('msg', 'bad value')}") from None
        raise
