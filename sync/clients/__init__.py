"""httpx clients for the two CRMs: :class:`HubSpotClient` (``HubSpotPort``) and
:class:`SellClient` (``SellPort``), with error classification, retry and pacing.

Both are thread-safe: one instance may serve several worker threads, which then share its
pacing (so together they stay under the service's rate limit) and its ``stats`` counters.
"""

from sync.clients.hubspot import API_VERSION, HubSpotClient
from sync.clients.retry import RetryPolicy
from sync.clients.sell import SellClient

__all__ = ["API_VERSION", "HubSpotClient", "RetryPolicy", "SellClient"]
