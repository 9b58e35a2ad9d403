"""The lifecycle rules, one module each, named after what happens to a linked pair:

* :mod:`sync.rules.conversions` — L1, Sell converts a linked lead into a contact;
* :mod:`sync.rules.contact_merges` — L2, HubSpot merges a linked contact into another.

The run, ``--dry-run`` and ``status ITEM`` all decide these through the functions here. They are
pure: what they need was read first (:mod:`sync.pipeline.facts`).
"""
