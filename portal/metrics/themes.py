"""Datasets per theme: the work plan's ten priority domains first (in its order), then other themes.

A synced CKAN group is a priority domain when its name or its title is one of `seeds/themes.json`.
A priority domain without any dataset still shows, with 0: a gap the office wants to see.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from sqlalchemy import select

from portal.catalogue.models import Theme
from portal.extensions import db
from portal.seeding import SEEDS


@dataclass(frozen=True)
class ThemeRow:
    name: str
    title: str
    title_en: str
    is_priority: bool
    counts: dict[int, int] | None  # region id → published datasets; None without a snapshot

    @property
    def city(self) -> int | None:
        return None if self.counts is None else sum(self.counts.values())


@dataclass(frozen=True)
class ThemeTable:
    rows: tuple[ThemeRow, ...]

    @property
    def priority(self) -> tuple[ThemeRow, ...]:
        return tuple(r for r in self.rows if r.is_priority)

    @property
    def others(self) -> tuple[ThemeRow, ...]:
        return tuple(r for r in self.rows if not r.is_priority)


@functools.cache
def priority_domains() -> tuple[tuple[str, str, str], ...]:
    """Return (name, title, English title) of the ten priority domains, in the plan's order."""
    data = json.loads((SEEDS / "themes.json").read_text(encoding="utf-8"))
    return tuple((t["name"], t["title"], t["title_en"]) for t in data)


def build(themes: list[tuple[int, str, str]], counts: dict[tuple[int, int], int] | None) -> ThemeTable:
    """Lay out the table from (theme id, name, title) rows and (region id, theme id) → datasets."""

    def counts_of(theme_ids: list[int]) -> dict[int, int] | None:
        if counts is None:
            return None
        found: dict[int, int] = {}
        for (region_id, theme_id), n in counts.items():
            if theme_id in theme_ids:
                found[region_id] = found.get(region_id, 0) + n
        return found

    rows, matched = [], set()
    for name, title, title_en in priority_domains():
        ids = [i for i, n, t in themes if n == name or t == title]
        matched.update(ids)
        rows.append(ThemeRow(name, title, title_en, True, counts_of(ids)))
    for theme_id, name, title in themes:
        if theme_id not in matched:
            rows.append(ThemeRow(name, title, title, False, counts_of([theme_id])))
    return ThemeTable(tuple(rows))


def table(counts: dict[tuple[int, int], int] | None) -> ThemeTable:
    """Read the synced themes and lay out `counts`, (region id, theme id) → datasets, per theme."""
    query = select(Theme.id, Theme.name, Theme.title).order_by(Theme.title)
    return build([(i, n, t) for i, n, t in db.session.execute(query)], counts)
