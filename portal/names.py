"""Names of the city's regions, themes and update frequencies as a reader sees them, per language.

One table each, read by every page: the regions from `seeds/regions.json` (keyed by code and by
Chinese name), the themes from `seeds/themes.json` (keyed by CKAN group name and by Chinese title),
the update frequencies DESIGN.md lists. A name the tables do not know is shown as it is.
"""

from __future__ import annotations

import functools
import json

from flask import Flask
from flask_babel import get_locale

from portal.seeding import SEEDS

# CKAN's `update_frequency` values (DESIGN.md, timeliness) and their English names.
FREQUENCIES_EN = {
    "实时": "Real-time",
    "每日": "Daily",
    "每周": "Weekly",
    "每月": "Monthly",
    "每季度": "Quarterly",
    "每半年": "Half-yearly",
    "每年": "Yearly",
}
OTHER_THEME = {"other": "Other", "其他": "Other"}


@functools.cache
def _regions_en() -> dict[str, str]:
    data = json.loads((SEEDS / "regions.json").read_text(encoding="utf-8"))
    table = {}
    for item in data["regions"]:
        table[item["code"]] = table[item["name"]] = item["name_en"]
    return table


@functools.cache
def _themes_en() -> dict[str, str]:
    data = json.loads((SEEDS / "themes.json").read_text(encoding="utf-8"))
    table = dict(OTHER_THEME)
    for item in data:
        table[item["name"]] = table[item["title"]] = item["title_en"]
    return table


def region_name(name: str, *, english: bool) -> str:
    """Return a region's name (its Chinese name or its code) in English or as given."""
    return _regions_en().get(name, name) if english else name


def english_region_name(code: str, fallback: str) -> str:
    """Return the English name the table gives the region of `code`, else `fallback`."""
    return _regions_en().get(code, fallback)


def theme_name(name: str, *, english: bool) -> str:
    """Return a theme's title (its Chinese title or its CKAN group name) in English or as given."""
    return _themes_en().get(name, name) if english else name


def frequency_name(value: str, *, english: bool) -> str:
    """Return an update frequency (每月 …) in English or as given."""
    return FREQUENCIES_EN.get(value, value) if english else value


def is_english() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "en"


def local_region_name(name: str) -> str:
    """Return a region's name in the request's language."""
    return region_name(name, english=is_english())


def init_app(app: Flask) -> None:
    """Give templates `|region_name`, `|theme_name` and `|frequency_name` in the page's language."""
    app.jinja_env.filters["region_name"] = lambda v: local_region_name(v) if v else v
    app.jinja_env.filters["theme_name"] = lambda v: theme_name(v, english=is_english()) if v else v
    app.jinja_env.filters["frequency_name"] = lambda v: frequency_name(v, english=is_english()) if v else v
