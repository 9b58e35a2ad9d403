"""Stand-in HubSpot, Zendesk Sell and Slack Web API servers for the demo, tests and benchmarks.

Start here: :class:`sandbox.server.Sandbox` (a context manager) and
:func:`sandbox.server.run_forever` (``sellsync sandbox``). ``python -m sandbox`` runs them too.
"""

from sandbox.limits import SandboxLimits
from sandbox.server import (
    DEFAULT_HUBSPOT_TOKEN,
    DEFAULT_SELL_TOKEN,
    DEFAULT_SLACK_TOKEN,
    Sandbox,
    run_forever,
)

__all__ = [
    "DEFAULT_HUBSPOT_TOKEN",
    "DEFAULT_SELL_TOKEN",
    "DEFAULT_SLACK_TOKEN",
    "Sandbox",
    "SandboxLimits",
    "run_forever",
]
