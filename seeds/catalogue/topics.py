"""What each kind of department publishes: the topics of topics.toml, one `Topic` per kind of dataset."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

TOPICS_TOML = Path(__file__).resolve().parent / "topics.toml"


@dataclass(frozen=True)
class Topic:
    slug: str
    title: str
    themes: tuple[str, ...]
    tags: tuple[str, ...]
    columns: tuple[str, ...] = ()
    rows: tuple[int, int] | str = (20, 80)
    frequency: str = "每月"
    about: str = ""
    county: bool | tuple[str, ...] = False  # county departments of the kind publish it too (all, or these)
    years: tuple[int, ...] = ()
    extra: tuple[str, ...] = ()  # formats of non-structured resources it tends to have: PDF, API, SHP, ZIP
    condition: str | None = None  # forced open condition

    def published_by(self, county_prefix: str | None) -> bool:
        """Tell whether a department of this kind in the given county (None: the city) publishes it."""
        if county_prefix is None:
            return True
        if isinstance(self.county, tuple):
            return county_prefix in self.county
        return self.county

    @property
    def fields(self) -> list[str]:
        return [c.partition("=")[0] for c in self.columns]


def _topic(entry: dict) -> Topic:
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}
    return Topic(**values)


def kinds(path: Path = TOPICS_TOML) -> dict[str, tuple[tuple[str, ...], tuple[Topic, ...]]]:
    """Return each department kind's source systems and topics."""
    with path.open("rb") as f:
        table = tomllib.load(f)
    return {
        kind: (tuple(entry["systems"]), tuple(_topic(t) for t in entry["topics"]))
        for kind, entry in table.items()
    }
