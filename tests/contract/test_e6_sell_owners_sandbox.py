"""A Sell record owner's e-mail through the real client against the Sell stand-in: read once per
owner (cached), None for an owner Sell does not have."""

from __future__ import annotations

from sandbox import Sandbox
from sync.clients.sell import SellClient
from tests.contract.conftest import closing


def test_e6_owner_email_is_read_once_and_unknown_owners_are_none(sandbox: Sandbox) -> None:
    sell = closing(SellClient(sandbox.sell_url, sandbox.sell_token, per_s=None))
    owner = int(sandbox.sell.user["id"])
    assert sell.owners.email_of(owner) == sandbox.sell.user["email"]
    assert sell.owners.email_of(owner) == sandbox.sell.user["email"]
    assert sandbox.sell.count("GET", f"/v2/users/{owner}") == 1
    assert sell.owners.email_of(999_999) is None
