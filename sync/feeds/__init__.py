"""Feeds: where a run's pages come from, each with the typed mark that says how far it got.

A feed only reads. The run plans and applies each page, then asks the feed's mark for the
mark to store (``close_slice``); a dry run never stores it. See :mod:`sync.feeds.marks`.
"""
