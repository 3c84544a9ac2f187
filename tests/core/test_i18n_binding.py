"""Translations are found once per request and locale (issue 20 item 3), and still follow the locale."""

from __future__ import annotations

import pytest
from babel import Locale
from flask_babel import force_locale, gettext, refresh

from portal import i18n


@pytest.fixture
def lookups(monkeypatch):
    """Each time Flask-Babel's own lookup (domain, locale, catalogue) runs during the test."""
    seen: list[str] = []
    original = i18n._RequestDomain.look_up

    def counting(domain):
        translations = original(domain)
        seen.append(type(translations).__name__)
        return translations

    monkeypatch.setattr(i18n._RequestDomain, "look_up", counting)
    return seen


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_a_page_looks_its_translations_up_once(client, lookups, language):
    client.set_cookie("lang", language)
    page = client.get("/datasets/").get_data(as_text=True)
    assert ("数据目录" in page) is (language == "zh_CN")  # about 16 strings were translated
    assert len(lookups) == 1


def test_force_locale_and_refresh_still_switch_the_translations(app, lookups):
    with app.test_request_context("/"):
        assert gettext("Data catalogue") == "数据目录"
        with force_locale("en"):  # an email in its reader's language
            assert gettext("Data catalogue") == "Data catalogue"
        assert gettext("Data catalogue") == "数据目录"
        refresh()
        assert gettext("Data catalogue") == "数据目录"
    # each language's catalogue is looked up once for the app: zh, then en (it was 4 when every change of
    # locale looked it up again)
    assert lookups == ["Translations", "Translations"]


def test_translations_without_a_request_are_the_default_language(app):
    with app.app_context():  # the CLI, jobs
        assert gettext("Data catalogue") == "数据目录"


def test_a_page_parses_no_locale_identifier_once_the_process_has(client, monkeypatch):
    parsed: list[str] = []
    original = Locale.parse.__func__

    def counting(cls, identifier, *args, **kwargs):
        if isinstance(identifier, str):
            parsed.append(identifier)
        return original(cls, identifier, *args, **kwargs)

    client.set_cookie("lang", "en")
    client.get("/")  # the first view of each language parses it
    monkeypatch.setattr(Locale, "parse", classmethod(counting))
    assert client.get("/").status_code == 200
    assert "en" not in parsed and "zh_CN" not in parsed
