"""Pure Block Kit builders: values from :mod:`sync.service` in, ``slack_sdk.models`` out.

Nothing here calls Slack or the service. Every builder returns a :class:`~bot.blocks.common.Message`
(at most 50 blocks) or a ``View`` (at most 100 blocks) whose texts are already cut to Slack's
limits, so ``to_dict()`` never fails on user data.
"""
