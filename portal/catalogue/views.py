"""The public data catalogue."""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple
from urllib.parse import quote, quote_plus

from flask import Blueprint, get_template_attribute, render_template, request, url_for
from flask_babel import get_locale, gettext, ngettext
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.routing import BuildError

from portal import inputs
from portal.activity import events
from portal.catalogue import changes, highlights, loading, rules, search, search_cache, terms, whole_pages

bp = Blueprint("catalogue", __name__, url_prefix="/datasets")

# URL parameter of each facet (rules.FACETS); every part of a search lives in the URL, so it can be shared.
FACET_PARAMS = {facet.name: facet.param for facet in rules.FACETS}


@bp.get("/")
def index():
    """Search the catalogue: every part of the search comes from the URL."""
    key = whole_pages.key("listing")
    kept, generation = _kept_listing(key) if key is not None else (None, None)
    if kept is not None:
        if kept.searched:
            events.record("search")
        return kept.body
    query = search.normalise(_search_query(request.args))
    result = search.search_datasets(query, load=loading.load_versions, highlight=False)
    if key is not None:  # the page's stamp, read before what it shows: never newer than the page
        ids = [version.id for version in result.items]
        with changes.raw_cursor() as cursor:
            versions = loading.raw_versions(cursor, ids) if ids else ()
        result = dataclasses.replace(result, items=loading.load_versions(ids))
    if query.q:
        events.record("search")  # written behind the request: no commit
    popular = search.popular_themes() if result.total == 0 else []
    links, names = _Links(query), _names(str(get_locale()))
    html = render_template(
        "catalogue/index.html",
        query=query,
        result=result,
        links=links,
        fragments=_fragments(query, result, links, names),
        cards=_cards(result.items, query.q, names),
        popular=popular,
    )
    body = html.encode()  # the response's bytes, encoded once for as long as the page is kept
    if key is not None:
        whole_pages.listings.put(key, generation, _Listing(tuple(ids), versions, bool(query.q), body))
    return body


class _Listing(NamedTuple):
    """A catalogue page as a visitor who is not signed in sees it (catalogue/whole_pages.py)."""

    ids: tuple[int, ...]  # the datasets it lists, in order
    versions: tuple  # their versions (loading.raw_versions), read before it was rendered
    searched: bool  # a text search: each view records a search event
    body: bytes  # the page in UTF-8, as the response sends it: encoding a 50 KB page took ~65 us a view


def _kept_listing(key) -> tuple[_Listing | None, tuple]:
    """Return the page kept under `key` while the catalogue's generation and the versions of the
    datasets it lists (a download moves a count, a rating the rating) are those it was made of, and the
    generation read. Both are read on a DBAPI cursor, outside the session: a kept page opens none."""
    with changes.raw_cursor() as cursor:
        generation = changes.generation_on(cursor)
        kept = whole_pages.listings.peek(key, generation)
        if kept is not None and kept.ids and loading.raw_versions(cursor, kept.ids) != kept.versions:
            kept = None
    return kept, generation


def _cards(versions: list[loading.Version], q: str, names: dict) -> list[Markup]:
    """Return the page's result cards, rendering only those not cached for their dataset's
    version (catalogue/changes.py): every write moves its change time, a download its count,
    a rating its rating."""
    locale, units = str(get_locale()), tuple(terms.query_units(q))
    cards = {}
    for version in versions:
        cards[version.id] = search_cache.cards.peek(("card", locale, version.id, units), version.version)
    missing = [version.id for version in versions if cards[version.id] is None]
    if missing:
        render = get_template_attribute("catalogue/_dataset_card.html", "card")
        url = _dataset_urls()
        labels = {
            "updated_on": gettext("Updated on"),
            "downloads": download_count,
            "rating": rating_label,
            "conditions": names["conditions"],
        }
        for card in loading.load_cards(missing):
            html = render(card, highlights.highlight_of(card, units), url(card), labels)
            cards[card.id] = html
            search_cache.cards.put(("card", locale, card.id, units), changes.version_of(card), html)
    return [cards[version.id] for version in versions if cards[version.id] is not None]


def download_count(count: int) -> str:
    """Return "1 download" / "1,234 downloads" ("下载 1 次") in the request's language."""
    return ngettext("%(n)s download", "%(n)s downloads", count, n=f"{count:,}")


def rating_label(mean: float, count: int) -> str:
    """Return "4.5 of 5, 3 ratings" ("4.5 分（满分 5），3 人评分") in the request's language."""
    return ngettext(
        "%(mean)s of 5, %(n)s rating",
        "%(mean)s of 5, %(n)s ratings",
        count,
        mean=f"{mean:.1f}",
        n=f"{count:,}",
    )


@functools.lru_cache(maxsize=8)
def _names(locale: str) -> dict[str, dict[str, str]]:
    """The page's labels in `locale`, the request's language: of the facets, the sorts and the
    open conditions. Translated once per language and process."""
    return {
        "facets": {facet.name: str(facet.label) for facet in rules.FACETS},
        "sorts": {
            "relevance": gettext("Relevance"),
            "updated": gettext("Recently updated"),
            "downloads": gettext("Most downloaded"),
            "name": gettext("Dataset name"),
            "rating": gettext("Best rated"),
        },
        "conditions": {
            "unconditional": gettext("Open to everyone"),
            "conditional": gettext("Open on application"),
        },
    }


class Fragments(NamedTuple):
    form: Markup  # the heading and the search form
    facets: Markup  # the facets' sidebar
    bar: Markup  # the current search's chips, the count of results and the sorts


def _fragments(
    query: search.SearchQuery, result: search.SearchResult, links: _Links, names: dict
) -> Fragments:
    """Render the parts of the page that change only with the search (not its page) and the
    catalogue, or take them from the cache: the facets alone are some two hundred links, like
    the counts they show."""
    key = ("fragments-html", str(get_locale()), tuple((p, tuple(v)) for p, v in links.params.items()))

    def render() -> Fragments:
        facets = render_template(
            "catalogue/_facets.html",
            result=result,
            links=links,
            facet_names=names["facets"],
            condition_names=names["conditions"],
        )
        head = "catalogue/_search_head.html"
        form = get_template_attribute(head, "search_form")(query, links)
        bar = get_template_attribute(head, "results_bar")(query, result, links, names)
        return Fragments(form, Markup(facets), bar)

    return search_cache.cached(key, render, result.generation)


def _search_query(args: MultiDict) -> search.SearchQuery:
    """Read a search from the URL; anything malformed falls back to its default."""
    filters = {facet.field: tuple(args.getlist(facet.param)) for facet in rules.FACETS}
    return search.SearchQuery(
        q=args.get("q", "")[: search.MAX_Q],
        sort=args.get("sort", "relevance"),
        page=_page(args.get("page")),
        **filters,
    )


def _page(raw: str | None) -> int:
    try:
        return inputs.page_number(raw, inputs.BIGGEST)  # normalise clamps it to MAX_PAGE
    except inputs.BadInput:
        return 1


def _dataset_urls():
    """Return a function giving a dataset's page URL; a page of results builds many, so the
    route is built once and each dataset's name is quoted into it as `url_for` would."""
    try:
        prefix = url_for("catalogue.dataset", name="-").removesuffix("-")
    except BuildError:  # the dataset page is not registered in this build
        prefix = url_for("catalogue.index")
    return lambda dataset: prefix + quote(dataset.name, safe=PATH_SAFE)


# What werkzeug leaves unquoted in a path segment and in a query string, so that links
# built here are byte for byte those of url_for.
PATH_SAFE = "!$&'()*+,/:;=@"
QUERY_SAFE = "!$'()*,/:;?@"


@functools.lru_cache(maxsize=8192)  # facet values recur on every page
def _quoted(value: str) -> str:
    return quote_plus(value, safe=QUERY_SAFE)


class _Links:
    """Build catalogue URLs that change one part of the current search and keep the rest."""

    def __init__(self, query: search.SearchQuery) -> None:
        # A page has some two hundred of these links: the route is built once and each
        # link only encodes its query, which is what url_for would append.
        self.base = url_for("catalogue.index")
        # the current search without its page: the pager adds that
        self.params: dict[str, list[str]] = {"q": [query.q] if query.q else []}
        for facet in rules.FACETS:
            self.params[facet.param] = list(getattr(query, facet.field))
        self.params["sort"] = [query.sort] if query.sort != "relevance" else []
        self._encoded = {param: self._encode(param, values) for param, values in self.params.items()}

    @staticmethod
    def _encode(param: str, values: list[str]) -> str:
        """`param=value&...` as urlencode (and so url_for) writes it."""
        return "&".join(f"{param}={_quoted(value)}" for value in values)

    @property
    def has_filters(self) -> bool:
        return any(self.params[param] for param in FACET_PARAMS.values())

    def _url(self, **changes: list[str]) -> str:
        """The current search with `changes`; only the changed parameters are encoded anew."""
        parts = [
            self._encode(param, changes[param]) if param in changes else encoded
            for param, encoded in self._encoded.items()
        ]
        query = "&".join(part for part in parts if part)
        return f"{self.base}?{query}" if query else self.base

    def toggle(self, facet: str, value: str) -> str:
        """Add `value` to the facet's filter, or remove it when it is there; back to page 1."""
        param = FACET_PARAMS[facet]
        values = self.params[param]
        toggled = [v for v in values if v != value] if value in values else [*values, value]
        return self._url(**{param: toggled})

    def sort(self, name: str) -> str:
        return self._url(sort=[] if name == "relevance" else [name])

    def without_text(self) -> str:
        return self._url(q=[])

    def without_filters(self) -> str:
        return self._url(**{param: [] for param in FACET_PARAMS.values()})

    def first_page(self) -> str:
        return self._url()

    def page(self, number: int) -> str:
        """The current search at page `number`, as url_for(..., page=number, **params) writes it."""
        query = "&".join(part for part in (f"page={number}", *self._encoded.values()) if part)
        return f"{self.base}?{query}"
