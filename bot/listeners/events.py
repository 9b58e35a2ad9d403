"""The App Home tab, published whenever a user opens it (and after a decision made there)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.blocks.conflicts import HELD_LINKS_SHOWN, PAGE_SIZE
from bot.blocks.home import home_view
from bot.listeners.common import Deps


def publish_home(deps: Deps, client: WebClient, user: str) -> None:
    service = deps.service
    view = home_view(
        service.status(),
        service.pending_requests(),
        service.conflicts(offset=0, limit=PAGE_SIZE),
        service.held_links(limit=HELD_LINKS_SHOWN),
        health=service.health(),
        viewer=user,
        viewer_is_manager=deps.is_manager(user),
        urls=deps.urls,
    )
    client.views_publish(user_id=user, view=view)


def register(app: App, deps: Deps) -> None:
    @app.event("app_home_opened")
    def on_app_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        publish_home(deps, client, str(event["user"]))
