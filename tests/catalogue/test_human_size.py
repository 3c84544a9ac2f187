"""A file size reads as Babel formats it in the page's language, for a fifth of Babel's Python calls:
the locale's symbols and words are looked up once per language (portal/i18n.py human_size, issue 20)."""

from __future__ import annotations

import random

import pytest
from flask_babel import force_locale, format_decimal, gettext

from portal.i18n import human_size

UNITS = (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024))


def babel_size(size: int | None) -> str:
    """human_size as it was written with Babel's format_decimal per number (the reference)."""
    if size is None or size < 0:
        return "—"
    if size == 1:
        return gettext("1 byte")
    for unit, factor in UNITS:
        if size >= factor:
            return f"{format_decimal(size / factor, format='#,##0.0')} {unit}"
    return gettext("%(count)s bytes", count=format_decimal(size, format="#,##0"))


SIZES = [None, -1, 0, 1, 2, 999, 1023, 1024, 1177, 1280, 1075, 10**6, 123_456_789, 2**45 + 3]
SIZES += random.Random(20).sample(range(2**44), 500)  # ties and roundings at every unit


# German and French write other group and decimal symbols than the portal's two languages
@pytest.mark.parametrize("locale", ["zh_CN", "en", "de", "fr", "ar"])
def test_a_size_reads_as_babel_formats_it(app, locale):
    with app.test_request_context(), force_locale(locale):
        assert [human_size(size) for size in SIZES] == [babel_size(size) for size in SIZES]


def test_a_size_costs_few_python_calls(app):
    """Babel's format_decimal cost some 100 calls a size; 21 now."""
    from calls import python_calls

    with app.test_request_context():
        app.preprocess_request()
        human_size(5)  # the language's words and symbols, looked up once
        assert python_calls(human_size, 123_456) < 40
        assert python_calls(human_size, 300) < 40
