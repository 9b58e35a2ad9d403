"""The preflight's pieces that need no server: which setting an error met during a run points
at (HubSpot's token info and scope probes: ``test_hubspot_credentials.py``)."""

from __future__ import annotations

import pytest

from sync.errors import ApiError, AuthError, RateLimited, ServiceUnavailable
from sync.preflight import setup_variable


@pytest.mark.parametrize(
    ("error", "variable"),
    [
        (AuthError("HubSpot", "bad token", 401), "HUBSPOT_ACCESS_TOKEN"),
        (AuthError("Sell", "unauthorized", 401), "SELL_ACCESS_TOKEN"),
        (ApiError("HubSpot", "HubSpot list 9 not found", 404), "HUBSPOT_LIST_ID"),
        (AuthError("HubSpot", "missing scope", 403), None),  # a scope to grant, not a variable
        (ApiError("HubSpot", "contact 9 not found", 404), None),
        (RateLimited("HubSpot", 10.0), None),
        (ServiceUnavailable("Sell", "server error", 503), None),
        (ValueError("a bug"), None),
        (None, None),
    ],
)
def test_setup_variable_names_the_setting_only_for_setup_errors(
    error: BaseException | None, variable: str | None
) -> None:
    assert setup_variable(error) == variable
