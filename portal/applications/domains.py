"""The domains an application serves: the city's ten priority themes (seeds/themes.json), or other."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from portal import names

THEMES = Path(__file__).resolve().parent.parent.parent / "seeds" / "themes.json"
OTHER = "other"


@dataclass(frozen=True)
class Domain:
    name: str
    title: str
    title_en: str


@functools.cache
def domains() -> tuple[Domain, ...]:
    """Return the ten priority themes in the plan's order, then "other"."""
    themes = json.loads(THEMES.read_text(encoding="utf-8"))
    return (*(Domain(t["name"], t["title"], t["title_en"]) for t in themes), Domain(OTHER, "其他", "Other"))


def is_domain(name: str) -> bool:
    return any(d.name == name for d in domains())


def label(name: str, *, english: bool = False) -> str:
    """Return the domain's title in Chinese (or English); an unknown name is returned as it is."""
    domain = next((d for d in domains() if d.name == name), None)
    if domain is None:
        return name
    return names.theme_name(domain.title, english=english)
