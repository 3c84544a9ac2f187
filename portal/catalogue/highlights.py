"""Highlight what a search matched in a result's title and notes."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from portal.catalogue import terms


@dataclass(frozen=True)
class Highlight:
    title: Markup  # escaped, with <mark> around matched terms
    snippet: Markup  # about 120 characters of the plain-text notes, likewise


def highlight_of(item: Any, units: Sequence[terms.Unit]) -> Highlight:
    """Return the highlighted title and snippet of a result (anything with `title` and `notes`)."""
    return _highlight(item.title, item.notes or "", tuple(units))


@functools.lru_cache(maxsize=512)  # the same results are shown again and again
def _highlight(title: str, notes: str, units: tuple[terms.Unit, ...]) -> Highlight:
    return Highlight(terms.highlight(title, list(units)), terms.snippet(terms.plain_text(notes), list(units)))
