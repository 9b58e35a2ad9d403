"""``sellsync demo``: the whole app against the sandbox servers, shown as its readers see it.

Demo code, not the product: ``walkthrough`` starts the sandbox and prints the tour, ``slack``
drives the real Slack app over HTTP as Slack would. It ships apart from ``bot/`` so the bot holds
only what serves a real workspace; the tests and benchmarks reuse its drivers.
"""
