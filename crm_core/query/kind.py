"""Which language a query text is in: the one rule every caller uses."""

from __future__ import annotations

import re

_FIND = re.compile(r"\s*FIND\b", re.IGNORECASE)


def is_sosl(text: str) -> bool:
    """Whether `text` is a SOSL search: its first word is ``FIND`` (any case); else it is SOQL.

    The word must end after FIND, as Salesforce reads the keyword: ``FIND {x}`` and ``find{x}``
    are SOSL, ``FINDER …`` is (malformed) SOQL. The engine, an agent's ``<execute>``, the raw
    query tools and the studio's console all decide with this function.
    """
    return _FIND.match(text) is not None
