"""The one rule for keeping secrets out of logs and messages.

Secrets can reach text in many ways: an API echoing the token it refused, an exception's repr,
a URL with a password, a traceback. Every place that writes text a person or a log collector
will read (API error messages, the Slack error path, the CLI's one-line errors, the log
handler) passes it through :func:`scrub`, so that they all hide the same things:

* every configured secret (values shorter than :data:`MIN_SECRET` are ignored: they would
  blank ordinary words, and no real token is that short);
* anything shaped like a token even when it is not configured: Slack ``xox?-`` / ``xapp-``
  tokens, HubSpot ``pat-`` private-app tokens, and whatever follows ``Bearer``;
* the password of a URL (``scheme://user:password@host``).

Pure string work: this module imports nothing from the rest of the project.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"

#: Shorter configured values are not treated as secrets.
MIN_SECRET = 6

_TOKEN = re.compile(r"\b(xox[abposr]-[\w-]+|xapp-[\w-]+|pat-[\w-]+)", re.I)
_BEARER = re.compile(r"(Bearer\s+)\S+", re.I)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+(@)", re.I)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret and anything shaped like one replaced by ``***``."""
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _TOKEN.sub(MASK, text)
    text = _BEARER.sub(rf"\g<1>{MASK}", text)
    return _URL_PASSWORD.sub(rf"\g<1>{MASK}\g<2>", text)
