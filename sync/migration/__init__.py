"""Leaving Sell (``sellsync migrate``): plan what moves to HubSpot, move it, verify it.

* :mod:`sync.migration.rules`: the pure rules: a Sell lead, contact, organization or note as the
  HubSpot record it becomes (its ``zendesk_sell_id``, properties, owner, tags, custom fields),
  and the plan's counts;
* :mod:`sync.migration.plan`: reads both sides page by page and builds the plan (writes nothing);
* :mod:`sync.migration.run`: moves everything in batches of 100, upserting by
  ``zendesk_sell_id`` so a rerun never duplicates, and records what moved;
* :mod:`sync.migration.verify`: reads both sides back and names every difference;
* :mod:`sync.migration.standing`: where leaving Sell stands, from storage alone.
"""
