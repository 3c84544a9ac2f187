"""The public data catalogue."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.routing import BuildError

from portal.catalogue import search
from portal.extensions import db
from portal.metrics import events

bp = Blueprint("catalogue", __name__, url_prefix="/datasets")

# URL parameter of each facet; every part of a search lives in the URL, so it can be shared.
FACET_PARAMS = {
    "department": "department",
    "region": "region",
    "theme": "theme",
    "format": "format",
    "open_condition": "condition",
    "tag": "tag",
}
_QUERY_FIELDS = {
    "department": "departments",
    "region": "regions",
    "theme": "themes",
    "format": "formats",
    "open_condition": "open_conditions",
    "tag": "tags",
}


@bp.get("/")
def index():
    """Search the catalogue: every part of the search comes from the URL."""
    query = search.normalise(_search_query(request.args))
    result = search.search_datasets(query)
    if query.q:
        events.record("search")
        db.session.commit()
    popular = search.popular_themes() if result.total == 0 else []
    return render_template(
        "catalogue/index.html",
        query=query,
        result=result,
        links=_Links(query),
        popular=popular,
        dataset_url=_dataset_url,
    )


def _search_query(args: MultiDict) -> search.SearchQuery:
    """Read a search from the URL; anything malformed falls back to its default."""
    page = args.get("page", "")
    filters = {field: tuple(args.getlist(FACET_PARAMS[facet])) for facet, field in _QUERY_FIELDS.items()}
    return search.SearchQuery(
        q=args.get("q", "")[: search.MAX_Q],
        sort=args.get("sort", "relevance"),
        page=int(page) if page.isdigit() and len(page) <= 6 else 1,
        **filters,
    )


def _dataset_url(dataset) -> str:
    try:
        return url_for("catalogue.dataset", name=dataset.name)
    except BuildError:  # the dataset page is not registered in this build
        return url_for("catalogue.index") + dataset.name


class _Links:
    """Build catalogue URLs that change one part of the current search and keep the rest."""

    def __init__(self, query: search.SearchQuery) -> None:
        # the current search without its page: the pager adds that
        self.params: dict[str, list[str]] = {"q": [query.q] if query.q else []}
        for facet, field in _QUERY_FIELDS.items():
            self.params[FACET_PARAMS[facet]] = list(getattr(query, field))
        self.params["sort"] = [query.sort] if query.sort != "relevance" else []

    @property
    def has_filters(self) -> bool:
        return any(self.params[param] for param in FACET_PARAMS.values())

    def _url(self, **changes: list[str]) -> str:
        return url_for("catalogue.index", **{**self.params, **changes})

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
        return url_for("catalogue.index", q=self.params["q"], sort=self.params["sort"])

    def first_page(self) -> str:
        return self._url()
