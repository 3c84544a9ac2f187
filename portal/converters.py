"""The URL converters every route uses: `<int:…>` takes ASCII digits only, and only a 32-bit integer.

Werkzeug's own `int` converter matches `\\d+`, which in Python's regular expressions is any Unicode digit:
`/requests/１２` (full-width) or `/requests/١٢` (Arabic-Indic) reached the view as 12, so one object had
many addresses, and a cache, a log or a rate limit keyed by the path saw them as different. Beyond 2**31 - 1
an id fits no database integer column (PostgreSQL refused it with a 500). Both are a 404 here, before any
view runs. `create_app` registers it in place of Werkzeug's.
"""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

LARGEST_ID = 2**31 - 1  # the largest value of a database integer column


class AsciiInt(IntegerConverter):
    """`<int:…>` matching ASCII digits only, at most LARGEST_ID unless the rule says otherwise."""

    regex = r"[0-9]+"

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", LARGEST_ID)
        super().__init__(map, *args, **kwargs)
