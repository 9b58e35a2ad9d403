"""Links from a message to the records it talks about, in Sell and in HubSpot.

A reader who sees "lead:12 ↔ HubSpot 901" wants to open the record, not search for it. Every link
in a message is built by :func:`link`, which escapes its label (the label can come from a CRM) and
refuses a URL that would break out of Slack's ``<url|label>`` syntax, falling back to the label
shown as code. A Sell record's address is fixed by its id (:attr:`SellRef.web_url`); a HubSpot
contact's needs the portal id, so the builders take a :class:`RecordUrls` from the listener (which
gets it from the service) and show plain ids when none is known.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.blocks.common import code, escape
from sync.api import SellRef

# no whitespace, no ``<``, ``>`` or ``|`` (they would end the link early), http(s) only
_SAFE_URL = re.compile(r"^https?://[^\s<>|]+$")
# how the engine and the CLI name a HubSpot contact in a run's errors: "HubSpot 901", "hubspot:901"
_HUBSPOT_ITEM = re.compile(r"^hubspot(?::|\s+)(\d+)$", re.I)


def link(url: str | None, label: object) -> str:
    """``<url|label>`` with the label escaped; the label as code when there is no usable URL."""
    if not url or not _SAFE_URL.match(url) or str(label).strip() == "":
        return code(label)
    return f"<{url}|{escape(' '.join(str(label).split()))}>"


def _no_url(contact_id: str) -> str | None:
    del contact_id
    return None


@dataclass(frozen=True)
class RecordUrls:
    """Where a record opens: Sell's web app for Sell records, ``hubspot`` for HubSpot contacts."""

    hubspot: Callable[[str], str | None] = _no_url

    def sell_link(self, ref: SellRef | str | None) -> str:
        """``lead:12`` linked to its page in Sell; text that is no record reference as code."""
        if ref is None:
            return code(None)
        if isinstance(ref, str):
            try:
                ref = SellRef.parse(ref.strip())
            except ValueError:
                return code(ref)
        return link(ref.web_url, str(ref))

    def hubspot_link(self, contact_id: str | None) -> str:
        """A HubSpot contact id linked to its page in HubSpot when the portal is known."""
        if not contact_id:
            return code(None)
        return link(self.hubspot(contact_id), contact_id)

    def item_link(self, item: str) -> str:
        """A run or push item (``lead:12``, ``hubspot:901``, an email…) linked when it names a
        record; anything else as code."""
        hubspot = _HUBSPOT_ITEM.match(item.strip())
        if hubspot:
            return "HubSpot " + self.hubspot_link(hubspot.group(1))
        return self.sell_link(item)


#: No HubSpot portal known: Sell records are still linked, HubSpot contacts show their ids.
NO_HUBSPOT_URLS = RecordUrls()
