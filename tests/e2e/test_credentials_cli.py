"""``sellsync check`` as a subprocess with each kind of HubSpot credential the sandbox hands
out: a service key passes (its token info does not describe it), a project app's token is named
with its app, a key without a scope exits 2 naming it, and no token is ever printed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.hubspot_auth import PROJECT_APP_TOKEN, SERVICE_KEY
from sandbox.server import Sandbox
from tests.e2e.conftest import sellsync, settings_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed="demo") as sb:
        yield sb


def check(sandbox: Sandbox, tmp_path: Path, **changes: str) -> tuple[int, str]:
    env = settings_env(sandbox, f"sqlite:///{tmp_path}/check.db", **changes)
    proc = sellsync(env, "check", cwd=tmp_path)
    output = proc.stdout + proc.stderr
    for token in (changes.get("HUBSPOT_ACCESS_TOKEN"), sandbox.sell_token):
        assert token is None or token not in output
    return proc.returncode, output


def test_credentials_service_key_check_exits_0_with_the_kind_not_told(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.reset("demo")
    sandbox.hubspot.credentials[SERVICE_KEY].token_info_status = 401
    code, output = check(sandbox, tmp_path, HUBSPOT_ACCESS_TOKEN=SERVICE_KEY)
    assert code == 0, output
    assert "✓ HubSpot token: kind not told by HubSpot" in output
    assert "✓ HubSpot webhooks off: changes arrive by polling" in output


def test_credentials_project_app_token_check_names_its_app(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.reset("demo")
    code, output = check(sandbox, tmp_path, HUBSPOT_ACCESS_TOKEN=PROJECT_APP_TOKEN)
    assert code == 0, output
    assert "✓ HubSpot token: an app's static token (app 888" in output


def test_credentials_service_key_without_a_scope_exits_2_naming_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.reset("demo")
    sandbox.hubspot.add_credential(
        "key-without-list-writes", "service_key", ["crm.lists.read", "crm.objects.contacts.read",
                                                   "crm.objects.contacts.write"]
    )  # fmt: skip
    code, output = check(sandbox, tmp_path, HUBSPOT_ACCESS_TOKEN="key-without-list-writes")
    assert code == 2, output
    assert "missing the scopes crm.lists.write: add them to the service key" in output
