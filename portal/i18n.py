"""Languages: Chinese by default, English on request."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace

from babel import Locale
from flask import Flask
from flask.globals import _cv_app
from flask_babel import Domain, get_locale, get_timezone, gettext
from flask_babel import get_translations as looked_up_translations
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

from portal.extensions import babel


def init_babel(app: Flask, select_locale: Callable[[], str]) -> None:
    """Bind Flask-Babel with `select_locale` (the site's choice of language, given by the app factory so
    that this module, which every area's pages import, imports no area)."""
    from portal import names

    babel.init_app(app, locale_selector=lambda: parsed_locale(select_locale()))
    babel.domain_instance = _RequestDomain()  # what flask_babel.gettext, _l() and forms use
    app.jinja_env.install_gettext_callables(  # what templates' _() use, without finding the domain each time
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext)
    names.init_app(app)
    app.jinja_env.globals.update(
        current_locale=lambda: "zh_CN" if get_locale().language == "zh" else str(get_locale())
    )
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["human_size"] = human_size


@functools.lru_cache(maxsize=16)
def parsed_locale(identifier: str) -> Locale:
    """Return the Locale of an identifier, parsed once per process: Flask-Babel parses the selector's
    string again on every request, and a new Locale loads its data again when first formatting."""
    return Locale.parse(identifier)


def request_translations():
    """Return the translations of the current locale, found once per request and locale, and looked up
    in Flask-Babel once per app and locale.

    Flask-Babel finds the domain, the locale and its catalogue again for every string (about 16 on
    the plainest page); this keeps the catalogue on the request's Babel state beside the locale it
    belongs to, so force_locale (emails in the reader's language) and refresh() still switch it.
    """
    context = _cv_app.get(None)  # flask.g without its proxy's calls: this runs for every string shown
    if context is None:
        return looked_up_translations()
    state = vars(context.g).get("_flask_babel")
    bound = getattr(state, "portal_translations", None)
    if bound is not None and bound[0] is getattr(state, "babel_locale", None):
        return bound[1]
    locale = _request_locale(context, state)
    domain = babel.domain_instance
    translations = domain.by_locale.get(locale)
    if translations is None:
        translations = domain.by_locale[locale] = _RequestDomain.look_up(domain)
    context.g._flask_babel.portal_translations = (locale, translations)  # made by _request_locale
    return translations


def _request_locale(context, state) -> Locale:
    """The request's Locale as flask_babel.get_locale finds it (and keeps it on the same Babel state, so
    get_locale, refresh() and force_locale agree), without its proxies' and lookups' sixty calls: the
    selector's Locale is parsed once per process (`parsed_locale`)."""
    locale = getattr(state, "babel_locale", None)
    if locale is not None:
        return locale
    config = context.app.extensions["babel"]
    chosen = config.locale_selector() if config.locale_selector is not None else None
    locale = config.instance.default_locale if chosen is None else Locale.parse(chosen)
    if state is None:
        state = context.g.__dict__["_flask_babel"] = SimpleNamespace()  # g's dict: no __setattr__ call
    state.babel_locale = locale
    return locale


_LOCALE_NAMES: dict[Locale, str] = {}  # each Locale's str(): Babel works it out again at each call
MAX_LOCALE_NAMES = 100


def request_locale_name() -> str:
    """`str(flask_babel.get_locale())` of the current request, without Flask-Babel's context lookups
    and Babel's identifier built again (about 15 calls; issue 20)."""
    context = _cv_app.get()
    locale = _request_locale(context, vars(context.g).get("_flask_babel"))
    name = _LOCALE_NAMES.get(locale)
    if name is None:
        name = str(locale)
        if len(_LOCALE_NAMES) < MAX_LOCALE_NAMES:
            _LOCALE_NAMES[locale] = name
    return name


_FORMATTED: dict[tuple, str] = {}  # (translations, message, autoescape) -> what _("message") shows
MAX_FORMATTED = 10_000  # beyond it (messages made up at run time, or many apps) the store starts again


@pass_eval_context
def template_gettext(eval_ctx: EvalContext, message: str, **variables) -> str:
    """Templates' `_()` and `gettext()`: what Jinja's newstyle gettext returns (the translation, as
    Markup when autoescaping, always %-formatted with `variables`), in about a fifth of its calls.

    Jinja's alias resolves `gettext` and goes through two context calls, a translations lookup and a
    Markup format for every string: about 60 Python calls each, 16 strings on the plainest page, a
    quarter of its cost (issue 20). A message without variables always shows the same text in one
    catalogue, so it is kept per catalogue once formatted.
    """
    translations = request_translations()
    if variables:
        text = translations.ugettext(message)
        return (Markup(text) if eval_ctx.autoescape else text) % variables
    key = (translations, message, eval_ctx.autoescape)
    shown = _FORMATTED.get(key)
    if shown is None:
        text = translations.ugettext(message)
        shown = (Markup(text) if eval_ctx.autoescape else text) % {}
        if len(_FORMATTED) >= MAX_FORMATTED:  # full (many catalogues: apps made one after another)
            _FORMATTED.clear()  # start again rather than stop keeping new messages for good
        _FORMATTED[key] = shown
    return shown


class _RequestDomain(Domain):
    """Flask-Babel's default domain whose translations are found once per request."""

    look_up = Domain.get_translations

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Locale -> its catalogue, as Flask-Babel's cache holds it, without the str(locale) of its key
        self.by_locale: dict[Locale, object] = {}

    def get_translations(self):
        return request_translations()


def local_date(value: datetime) -> str:
    """Return the day of `value` where the portal is (2026-11-26), as |dateformat("yyyy-MM-dd")
    would, at a tenth of the cost: pages list many dates."""
    return value.astimezone(get_timezone()).strftime("%Y-%m-%d")


_SIZE_UNITS = (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024))


def human_size(size: int | None) -> str:
    """Return a file size for readers in the page's language: "367 字节" / "367 bytes", "1.5 KB",
    "12.3 MB" (units of 1,024, one decimal); a dash when unknown.

    Formatted as Babel's format_decimal ("#,##0.0" / "#,##0") formats it, with the locale's symbols and
    words looked up once per language: Babel parses its pattern again for each number, some 100 Python
    calls a size, one per resource of a dataset page (issue 20)."""
    if size is None or size < 0:
        return "—"
    words = _size_words(get_locale())
    if size == 1:
        return words.one_byte
    for unit, factor in _SIZE_UNITS:
        if size >= factor:
            return f"{f'{size / factor:,.1f}'.translate(words.symbols)} {unit}"
    return words.bytes % {"count": f"{size:,}".translate(words.symbols)}


@functools.lru_cache(maxsize=16)
def _size_words(locale: Locale) -> SimpleNamespace:
    """What human_size writes in `locale` (the caller's request is in it): its words, translated once,
    and the table turning Python's "," and "." into the locale's group and decimal symbols."""
    symbols = locale.number_symbols["latn"]  # the digits Babel writes by default
    return SimpleNamespace(
        one_byte=gettext("1 byte"),
        bytes=gettext("%(count)s bytes"),
        symbols=str.maketrans({",": symbols["group"], ".": symbols["decimal"]}),
    )
