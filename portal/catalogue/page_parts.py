"""What a dataset page (`dataset.html` and its public part, `_dataset_body.html`) is rendered from besides
the dataset: its labels, translated once per language, and its links, built without `url_for` (issue 20).

A page rendered anew (one of thousands of datasets walked in turn, beyond the page caches) spent some
4,000 Python calls in Jinja for this part: a `_()` call is a context call of about ten, `url_for` some
twenty-five, a macro some twenty. The labels here are formatted as the templates' `_()` formats them
(Markup, %-formatted) and the links as url_for builds them, so the page shows what it showed (one blank
line of the resources' section less).
"""

from __future__ import annotations

import functools
from datetime import datetime
from types import SimpleNamespace
from urllib.parse import quote, quote_plus

from flask import current_app, render_template, request, url_for
from flask_babel import gettext, to_user_timezone
from markupsafe import Markup, escape

from portal.catalogue import downloads, rendering
from portal.catalogue import preview as previews
from portal.catalogue.views import PATH_SAFE, QUERY_SAFE  # links byte for byte those of url_for
from portal.i18n import request_translations


def labels() -> SimpleNamespace:
    """Return the page's labels in the request's language, found by its catalogue: a page asks for them
    four times, and the catalogue bound to the request costs a third of get_locale's 17 calls."""
    return _labels(request_translations())


@functools.lru_cache(maxsize=8)
def _labels(translations) -> SimpleNamespace:
    """The labels of a language's catalogue, translated once per process (the caller's request is in it)."""
    texts = {
        "volume_figure": gettext("Data volume (records × fields)"),
        "downloads": gettext("Downloads"),
        "resources": gettext("Resources"),
        "description": gettext("Description"),
        "no_description": gettext("No description."),
        "details": gettext("Details"),
        "scrolls": gettext("Table, scrolls sideways"),
        "department": gettext("Department"),
        "region": gettext("County or city"),
        "themes": gettext("Themes"),
        "tags": gettext("Tags"),
        "licence": gettext("Licence"),
        "open_condition": gettext("Open condition"),
        "updated": gettext("Updated"),
        "created": gettext("Created"),
        "maintainer": gettext("Maintainer"),
        "source_page": gettext("Source page"),
        "resource_name": gettext("Resource name"),
        "format": gettext("Format"),
        "size": gettext("Size"),
        "data_volume": gettext("Data volume"),
        "validity": gettext("Validity"),
        "actions": gettext("Actions"),
        "unnamed": gettext("Unnamed resource"),
        "removed": gettext("Removed"),
        "broken_title": gettext("The latest check could not reach or read this resource"),
        "link_broken": gettext("Link broken"),
        "original": gettext("Original:"),
        "valid": gettext("Valid"),
        "machine_unreadable": gettext("Not machine-readable"),
        "invalid": gettext("Invalid"),
        "no_download": gettext("Not downloadable"),
        "download": gettext("Download"),
        "preview": gettext("Preview"),
        "how_to_get_access": gettext("How to get access"),
        "no_resources": gettext("This dataset has no resources."),
        "conditional": gettext("Open on application"),
        "unconditional": gettext("Open to everyone"),
        # the page around the public part (dataset.html)
        "breadcrumbs": gettext("Breadcrumbs"),
        "catalogue": gettext("Data catalogue"),
        "access": gettext("Access to this dataset"),
        "feedback": gettext("Ratings and feedback"),
        "not_rated": gettext("Not rated yet"),
        "report_problem": gettext("Report a problem"),
        "reports": gettext("Problem reports and replies"),
        "comments": gettext("Comments"),
        "unmeasured": gettext("Unmeasured"),
    }
    extras = {  # the dataset's extras by their key; any other key is shown as it is
        "update_frequency": gettext("Update frequency"),
        "data_source": gettext("Data source"),
        "data_source_system": gettext("Source system"),
        "spatial_coverage": gettext("Spatial coverage"),
    }
    invalid_reasons = {  # why a resource is invalid; any other reason is shown as it is
        "not_downloadable": gettext("no file to download"),
        "not_machine_readable": gettext("not machine-readable"),
        "empty": gettext("no records"),
        "duplicate": gettext("duplicates another resource"),
    }
    # attributes, not keys: Jinja reads `labels.details` as an attribute first
    return SimpleNamespace(
        **_shown(texts),
        extras=_shown(extras),
        invalid_reasons=_shown(invalid_reasons),
        records_fields=gettext("%(records)s records × %(fields)s fields"),  # %-formatted in `volume`
    )


def _shown(texts: dict[str, str]) -> dict[str, Markup]:
    """The texts as the templates' `_()` shows a message without variables: Markup, %-formatted."""
    return {name: Markup(text) % {} for name, text in texts.items()}


def render(dataset, *, downloadable: bool, origins: bool, history: bool) -> Markup:
    """Render the public part of the loaded dataset's page (loading.PageDataset), for a user who may
    download it or not, see its resources' original addresses or not, and its removed resources or not."""
    add_links(dataset, downloadable)
    page = render_template(
        "catalogue/_dataset_body.html",
        dataset=dataset,
        labels=labels(),
        downloadable=downloadable,
        origins=origins,
        history=history,
        broken=dataset.broken_resource_ids,  # the link check touches the dataset
    )
    return Markup(page)


def add_links(dataset, downloadable: bool) -> None:
    """Give the loaded dataset (loading.PageDataset) what its page links to and lists: each theme's and
    tag's catalogue search, each resource's download and preview (when `downloadable`), and its active
    resources, computed here once rather than in the template's loops."""
    search = url_for("catalogue.index")
    for theme in dataset.themes:
        theme.url = f"{search}?theme={quote_plus(theme.name, safe=QUERY_SAFE)}"
    for tag in dataset.tags:
        tag.url = f"{search}?tag={quote_plus(tag.name, safe=QUERY_SAFE)}"
    dataset.active_resources = [resource for resource in dataset.resources if resource.is_active]
    if downloadable:
        _add_resource_links(dataset)


def _add_resource_links(dataset) -> None:
    """Each resource's download link (None when it has nothing to send) and preview link (None when it
    cannot be previewed)."""
    base = url_for("catalogue.download", name=dataset.name, resource_id="-").removesuffix("/-/download")
    for resource in dataset.resources:
        at = f"{base}/{quote(resource.ckan_id, safe=PATH_SAFE)}"
        resource.download_url = f"{at}/download" if downloads.is_downloadable(resource) else None
        previewable = resource.storage_key and previews.is_previewable(resource)
        resource.preview_url = f"{at}/preview" if previewable else None


def page_links(name: str) -> SimpleNamespace:
    """The links of the page of dataset `name` around its public part (dataset.html): its style sheet,
    the catalogue, and its rating, problem reports and comments; url_for's once per app and script root."""
    parts = _page_link_parts(current_app._get_current_object(), request.script_root)
    shown = quote(name, safe=PATH_SAFE)
    return SimpleNamespace(
        **parts.fixed, **{link: f"{before}{shown}{after}" for link, (before, after) in parts.named.items()}
    )


_NAME_SLOT = "name-slot"  # a dataset name url_for writes as it is, where the page's name goes


@functools.lru_cache(maxsize=8)
def _page_link_parts(app, script_root: str) -> SimpleNamespace:
    """The page's links as url_for builds them in `app` under `script_root` (the caller's request is
    in them): whole when they do not name the dataset, else the parts before and after its name."""
    fixed = {
        "stylesheet": url_for("static", filename="css/dataset.css"),
        "catalogue": url_for("catalogue.index"),
    }
    endpoints = {
        "rate": "feedback.rate",
        "new_report": "feedback.new_report",
        "reports": "feedback.dataset_reports",
        "comments": "comments.dataset_comments",
    }
    named = {}
    for link, endpoint in endpoints.items():
        before, _, after = url_for(endpoint, name=_NAME_SLOT).partition(_NAME_SLOT)
        named[link] = (before, after)
    return SimpleNamespace(fixed=fixed, named=named)


def open_condition_badge(condition: str) -> Markup:
    """The `open_condition_badge` filter: a dataset's open condition as a badge."""
    if condition == "conditional":
        return _BADGE.format("badge conditional", "conditional", labels().conditional)
    return _BADGE.format("badge", "unconditional", labels().unconditional)


_BADGE = Markup('<span class="{}" data-open-condition="{}">{}</span>')


def volume(item) -> Markup:
    """The `volume` filter: a dataset's or resource's volume (records × fields), with its records and
    fields when it has them (a resource), or "Unmeasured"; as the `volume` macro wrote it, in 17 and 13
    Python calls where the macro took 98 and 40."""
    shown = item.volume
    if shown is None:  # the label is Markup: escaped once
        return Markup(f'<span class="unmeasured" data-volume="unmeasured">{labels().unmeasured}</span>')
    figure = Markup(f'<span data-volume="{shown}">{shown:,}</span>')  # numbers: nothing to escape
    if not hasattr(item, "records"):  # a dataset: its resources' sum
        return figure
    # the translation is trusted as the templates' `_()` trusts it; the numbers have nothing to escape
    parts = labels().records_fields % {"records": f"{item.records:,}", "fields": f"{item.fields:,}"}
    return Markup(f'{figure}\n    <span class="hint">({parts})</span>')


def linked(value) -> Markup:
    """The `linked` filter: an extra's value as a link when it is a web address (rendering.safe_url),
    else as text; what `link_or_text(value) if safe_url(value) else value` wrote, without its macro and
    two context calls."""
    href = rendering.safe_url(value)
    return escape(value) if href is None else _link(href, value)


def web_link(url: str | None, text: str | None = None) -> Markup:
    """The `web_link` filter: the `link_or_text` macro's link to a web address (rendering.safe_url),
    showing `text` or the address, or that text marked as not linked; some 40 Python calls fewer."""
    href, shown = rendering.safe_url(url), text or url
    return _link(href, shown) if href else Markup(f'<span class="unlinked-url">{escape(shown)}</span>')


def _link(href: str, text) -> Markup:
    """A link out of the portal, as the `link_or_text` macro writes it."""
    return Markup(f'<a href="{escape(href)}" rel="nofollow noopener">{escape(text)}</a>')


def thousands(number: int) -> str:
    """The `thousands` filter: 1234567 as "1,234,567"."""
    return f"{number:,}"


def day(moment: datetime | None) -> Markup:
    """The `day` filter: a <time> of the moment's day in the user's time zone (Babel's "yyyy-MM-dd",
    whose digits every language shows alike), or a dash."""
    if not moment:
        return Markup("—")
    local = to_user_timezone(moment)
    shown = f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
    return Markup('<time datetime="{}">{}</time>').format(moment.isoformat(), shown)
