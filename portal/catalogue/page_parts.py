"""What a dataset page (`dataset.html` and its public part, written here: `render`) is rendered from besides
the dataset: its labels, translated once per language, and its links, built without `url_for` (issue 20).

A page rendered anew (one of thousands of datasets walked in turn, beyond the page caches) spent some
4,000 Python calls in Jinja for this part: a `_()` call is a context call of about ten, `url_for` some
twenty-five, a macro some twenty. The labels here are formatted as the templates' `_()` formats them
(Markup, %-formatted) and the links as url_for builds them, so the page shows what it showed (one blank
line of the resources' section less). The public part itself was three templates (`_dataset_body.html`,
`_metadata.html`, `_resources.html`); tests/catalogue/rows_before/catalogue/ keeps them, and
tests/catalogue/test_dataset_page_cost.py compares what `render` writes with what they wrote.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import quote, quote_plus

from flask import current_app, request, url_for
from flask_babel import get_locale, get_timezone, gettext
from markupsafe import Markup, escape

from portal import i18n, names
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


def render(dataset, *, downloadable: bool, origins: bool, history: bool, locale=None) -> Markup:
    """Render the public part of the loaded dataset's page (loading.PageDataset), for a user who may
    download it or not, see its resources' original addresses or not, and its removed resources or not;
    in the request's language (`locale`: get_locale's, looked up when not given).

    It is written here, in one pass, as its templates wrote it (`_dataset_body.html` with its details
    and resources tables, `_metadata.html` and `_resources.html`: tests/catalogue/rows_before/catalogue/
    keeps them, and a test compares): rendered through Jinja, the part cost some 700 Python calls of
    context building, includes, attribute lookups and escapes a page rendered anew (issue 20)."""
    add_links(dataset, downloadable)
    shown = labels()
    if locale is None:
        locale = get_locale()  # once: get_locale is some 17 calls
    broken, department, notes = dataset.broken_resource_ids, dataset.department, dataset.notes
    byline = (
        f'<span data-testid="department" lang="zh-CN">{_text(department.title)}</span> · '
        if department
        else ""
    )
    if broken:  # as the templates' ngettext: the translation trusted, %-formatted with the count
        count = len(broken)
        said = Markup(
            request_translations().ungettext("%(num)d resource broken", "%(num)d resources broken", count)
        ) % {"num": count}
        byline_end = (
            f' · <a class="badge off" data-testid="broken-badge" data-broken="{count}" href="#resources">'
            f"{said}</a>"
        )
    else:
        byline_end = ""
    listed = dataset.resources if history else dataset.active_resources
    if listed:
        rows = resource_rows(
            dataset, shown, locale, downloadable=downloadable, origins=origins, history=history
        )
        table = (
            f'\n  <div class="table-scroll" tabindex="0" role="region" aria-label="{shown.scrolls}">'
            '\n  <table class="data resources-table">\n    <thead><tr>\n'
            f'      <th>{shown.resource_name}</th><th>{shown.format}</th><th class="num">{shown.size}</th>'
            f'<th class="num">{shown.data_volume}</th>\n'
            f'      <th>{shown.validity}</th><th class="num">{shown.downloads}</th><th>{shown.actions}</th>\n'
            f"    </tr></thead>\n    <tbody>\n    {rows}\n    </tbody>\n  </table>\n  </div>\n  "
        )
    else:
        table = f'\n    <p class="hint">{shown.no_resources}</p>\n  '
    count = dataset.download_count
    return Markup(
        '\n  <header class="dataset-header">\n'
        f'    <h1 data-testid="dataset-title" lang="zh-CN">{_text(dataset.title)}</h1>\n'
        f'    <p class="dataset-byline">\n      {byline}\n      {_badge(dataset.open_condition, shown)}\n'
        f"      {byline_end}\n    </p>\n  </header>\n"
        '  <ul class="figures dataset-figures">\n'
        f'    <li data-figure="volume"><strong>{_volume(dataset, shown)}</strong>{shown.volume_figure}</li>\n'
        f'    <li data-figure="downloads"><strong data-count="{_text(count)}">{_text(thousands(count))}'
        f"</strong>{shown.downloads}</li>\n"
        f'    <li data-figure="resources"><strong>{len(dataset.active_resources)}</strong>{shown.resources}'
        "</li>\n  </ul>\n"
        '  <section class="description markdown" data-testid="description" '
        f'aria-label="{shown.description}"{_IN_CHINESE if notes else ""}>\n'
        f"    {rendering.markdown_to_html(notes) or shown.no_description}\n  </section>\n  "
        # the details (former _metadata.html)
        '\n<section class="metadata" aria-labelledby="metadata-title">\n'
        f'  <h2 id="metadata-title">{shown.details}</h2>\n'
        f'  <div class="table-scroll" tabindex="0" role="region" aria-label="{shown.scrolls}">\n'
        '  <table class="data metadata-table">\n    <tbody>\n'
        f"{metadata_rows(dataset, shown, locale)}\n"
        "    </tbody>\n  </table>\n  </div>\n</section>\n  "
        # the resources (former _resources.html)
        '\n\n<section class="resources" id="resources" aria-labelledby="resources-title">\n'
        f'  <h2 id="resources-title">{shown.resources}</h2>\n  \n  {table}\n</section>'
    )


_IN_CHINESE = ' lang="zh-CN"'  # the city's data is written in Chinese, whatever the page's language


def _text(value) -> str:
    """A value as the templates' `{{ value }}` wrote it: a text escaped by one C call, else markupsafe's
    escape (None as "None", a number as its digits)."""
    return value.translate(_HTML) if type(value) is str else escape(value)


def metadata_rows(dataset, shown: SimpleNamespace, locale=None) -> Markup:
    """The rows of the dataset's details table (former `_metadata.html`), as its template wrote them, in the
    request's language (`locale`: flask_babel.get_locale's, looked up when not given)."""
    if locale is None:
        locale = get_locale()
    english, zone = locale is not None and locale.language == "en", get_timezone()  # as names.is_english
    department = dataset.department
    if department is None:
        department_title = region = "—"
    else:
        region = department.region.name
        department_title = _text(department.title)
        region = _text(names.region_name(region, english=english) if region else region)
    themes = "".join(
        [
            f'<a class="badge" href="{theme.url.translate(_HTML)}">'
            f"{_text(names.theme_name(theme.title, english=english) if theme.title else theme.title)}</a> "
            for theme in dataset.themes
        ]
    )
    tags = "".join(
        [
            f'<a class="tag" href="{tag.url.translate(_HTML)}">{tag.name.translate(_HTML)}</a> '
            for tag in dataset.tags
        ]
    )
    licence = dataset.licence
    if not licence:
        licence = "—"
    else:
        licence = web_link(licence.url, licence.title) if licence.url else _text(licence.title)
    extras = dataset.extras
    frequency = extras.get("update_frequency")
    frequency = names.frequency_name(frequency, english=english) if frequency else frequency
    rows = [
        f'      <tr data-field="department"><th scope="row">{shown.department}</th>'
        f"<td>{department_title}</td></tr>\n"
        f'      <tr data-field="region"><th scope="row">{shown.region}</th><td>{region}</td></tr>\n'
        f'      <tr data-field="themes"><th scope="row">{shown.themes}</th>\n'
        f"        <td>{themes or '—'}</td></tr>\n"
        f'      <tr data-field="tags"><th scope="row">{shown.tags}</th>\n'
        f"        <td>{tags or '—'}</td></tr>\n"
        f'      <tr data-field="licence"><th scope="row">{shown.licence}</th>\n'
        f"        <td>{licence}</td></tr>\n"
        f'      <tr data-field="open_condition"><th scope="row">{shown.open_condition}</th>'
        f"<td>{_badge(dataset.open_condition, shown)}</td></tr>\n"
        f'      <tr data-field="modified"><th scope="row">{shown.updated}</th>'
        f"<td>{_day(dataset.metadata_modified, zone)}</td></tr>\n"
        f'      <tr data-field="created"><th scope="row">{shown.created}</th>'
        f"<td>{_day(dataset.metadata_created, zone)}</td></tr>\n"
        f'      <tr data-field="update_frequency"><th scope="row">{shown.extras["update_frequency"]}</th>'
        f"<td>{_text(frequency or '—')}</td></tr>\n"
        "      "
    ]
    extra_labels = shown.extras
    for key, value in (extras or {}).items():
        if key != "update_frequency":
            label = extra_labels.get(key)
            rows.append(
                '\n        <tr data-field="extra">'
                f'<th scope="row">{_text(key) if label is None else label}</th>'
                f"<td>{_linked(value)}</td></tr>\n      "
            )
    rows.append("\n      ")
    maintainer = dataset.maintainer or dataset.author
    if maintainer:
        rows.append(
            f'\n        <tr data-field="maintainer"><th scope="row">{shown.maintainer}</th>'
            f"<td>{_text(maintainer)}</td></tr>\n      "
        )
    rows.append("\n      ")
    if dataset.source_url:
        rows.append(
            f'\n        <tr data-field="source"><th scope="row">{shown.source_page}</th>'
            f"<td>{web_link(dataset.source_url)}</td></tr>\n      "
        )
    return Markup("".join(rows))


def resource_rows(
    dataset, shown: SimpleNamespace, locale=None, *, downloadable: bool, origins: bool, history: bool
) -> Markup:
    """The rows of the dataset's resources table (former `_resources.html`), as its template wrote them: all
    its resources with `history`, else its active ones (add_links); in the language of `locale` as in
    metadata_rows."""
    broken, published = dataset.broken_resource_ids, dataset.is_published
    size_words = i18n._size_words(get_locale() if locale is None else locale)  # human_size's, once
    rows = []
    for resource in dataset.resources if history else dataset.active_resources:
        name = resource.name
        cells = [
            f'\n      <tr data-resource="{resource.ckan_id.translate(_HTML)}">\n        <td>\n'
            '          <span class="resource-name">'
            f"{name.translate(_HTML) if name else shown.unnamed}</span>\n          "
        ]
        if not resource.is_active:
            cells.append(f'<span class="badge off">{shown.removed}</span>')
        cells.append("\n          ")
        if resource.id in broken:
            cells.append(
                f'<span class="badge off" data-broken="yes" title="{shown.broken_title}">'
                f"{shown.link_broken}</span>"
            )
        cells.append("\n          ")
        if resource.description:
            cells.append(f'<p class="hint">{resource.description.translate(_HTML)}</p>')
        cells.append("\n          ")
        if origins and resource.url:
            cells.append(f'<p class="hint resource-url">{shown.original} {web_link(resource.url)}</p>')
        if resource.is_valid:
            validity = f'<span class="badge ok" data-valid="yes">{shown.valid}</span>\n            '
        elif resource.invalid_reason == "not_machine_readable":
            validity = (
                '<span class="badge" data-valid="no" data-invalid-reason="not_machine_readable">'
                f"{shown.machine_unreadable}</span>\n            "
            )
        else:
            validity = f'<span class="badge off" data-valid="no">{shown.invalid}</span>'
            reason = resource.invalid_reason
            if reason:
                said = shown.invalid_reasons.get(reason)
                validity += (
                    f' <span class="hint" data-invalid-reason="{reason.translate(_HTML)}">'
                    f"{reason.translate(_HTML) if said is None else said}</span>"
                )
        count = resource.download_count
        size = _size(resource.mirrored_size or resource.size, size_words)
        cells.append(
            "\n        </td>\n"
            f'        <td class="format">{(resource.format or "—").translate(_HTML)}</td>\n'
            f'        <td class="num">{size.translate(_HTML)}</td>\n'
            f'        <td class="num">{_volume(resource, shown)}</td>\n'
            f"        <td>{validity}</td>\n"
            f'        <td class="num" data-count="{count}">{count:,}</td>\n'  # numbers: nothing to escape
            '        <td class="actions">\n          '
        )
        if downloadable and not resource.download_url:
            cells.append(
                f'\n            <span class="hint" data-action="none">{shown.no_download}</span>\n          '
            )
        elif downloadable:
            preview = resource.preview_url
            preview = (
                f'<a data-action="preview" href="{preview.translate(_HTML)}">{shown.preview}</a>'
                if preview
                else ""
            )
            cells.append(
                "\n            "
                '<a class="button small" data-action="download" '
                f'href="{resource.download_url.translate(_HTML)}">'
                f"{shown.download}</a>\n            {preview}\n          "
            )
        elif published:
            cells.append(
                '\n            <a class="button small secondary" data-action="apply" href="#access">'
                f"{shown.how_to_get_access}</a>\n          "
            )
        cells.append("\n        </td>\n      </tr>\n    ")
        rows.append("".join(cells))
    return Markup("".join(rows))


# markupsafe.escape's table for text known to be a str (one C call where escape takes five Python calls)
_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;", '"': "&#34;"})


def _size(size: int | None, words: SimpleNamespace) -> str:
    """What i18n.human_size writes, with its words looked up by the caller."""
    if size is None or size < 0:
        return "—"
    if size == 1:
        return words.one_byte
    for unit, factor in i18n._SIZE_UNITS:
        if size >= factor:
            return f"{f'{size / factor:,.1f}'.translate(words.symbols)} {unit}"
    return words.bytes % {"count": f"{size:,}".translate(words.symbols)}


def add_links(dataset, downloadable: bool) -> None:
    """Give the loaded dataset (loading.PageDataset) what its page links to and lists: each theme's and
    tag's catalogue search, each resource's download and preview (when `downloadable`), and its active
    resources, computed here once rather than in the template's loops."""
    parts = _page_link_parts(current_app._get_current_object(), request.script_root)
    search = parts.fixed["catalogue"]
    for theme in dataset.themes:
        theme.url = f"{search}?theme={_query_value(theme.name)}"
    for tag in dataset.tags:
        tag.url = f"{search}?tag={_query_value(tag.name)}"
    dataset.active_resources = [resource for resource in dataset.resources if resource.is_active]
    if downloadable:
        before, after = parts.named["resources"]
        _add_resource_links(dataset, f"{before}{quote(dataset.name, safe=PATH_SAFE)}{after}")


@functools.lru_cache(maxsize=2048)  # the catalogue's themes and tags: a few hundred names
def _query_value(name: str) -> str:
    """A theme's or tag's name in a catalogue search's query string, as url_for writes it."""
    return quote_plus(name, safe=QUERY_SAFE)


def _add_resource_links(dataset, base: str) -> None:
    """Each resource's download link (None when it has nothing to send) and preview link (None when it
    cannot be previewed), under `base`, the dataset's address of its resources."""
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
        **parts.fixed,
        **{
            link: f"{before}{shown}{after}"
            for link, (before, after) in parts.named.items()
            if link != "resources"
        },
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
    # the address of a dataset's resources (add_links): its download link without "/<resource>/download"
    download = url_for("catalogue.download", name=_NAME_SLOT, resource_id="-").removesuffix("/-/download")
    before, _, after = download.partition(_NAME_SLOT)
    named["resources"] = (before, after)
    return SimpleNamespace(fixed=fixed, named=named)


def open_condition_badge(condition: str) -> Markup:
    """The `open_condition_badge` filter: a dataset's open condition as a badge."""
    return _badge(condition, labels())


def _badge(condition: str, shown: SimpleNamespace) -> Markup:
    if condition == "conditional":  # the labels are Markup: escaped once
        return Markup(
            f'<span class="badge conditional" data-open-condition="conditional">{shown.conditional}</span>'
        )
    return Markup(f'<span class="badge" data-open-condition="unconditional">{shown.unconditional}</span>')


def volume(item) -> Markup:
    """The `volume` filter: a dataset's or resource's volume (records × fields), with its records and
    fields when it has them (a resource), or "Unmeasured"; as the `volume` macro wrote it, in 17 and 13
    Python calls where the macro took 98 and 40."""
    return _volume(item, labels())


def _volume(item, labels: SimpleNamespace) -> Markup:
    shown = item.volume
    if shown is None:  # the label is Markup: escaped once
        return Markup(f'<span class="unmeasured" data-volume="unmeasured">{labels.unmeasured}</span>')
    figure = Markup(f'<span data-volume="{shown}">{shown:,}</span>')  # numbers: nothing to escape
    if not hasattr(item, "records"):  # a dataset: its resources' sum
        return figure
    # the translation is trusted as the templates' `_()` trusts it; the numbers have nothing to escape
    parts = labels.records_fields % {"records": f"{item.records:,}", "fields": f"{item.fields:,}"}
    return Markup(f'{figure}\n    <span class="hint">({parts})</span>')


def linked(value) -> Markup:
    """The `linked` filter: an extra's value as a link when it is a web address (rendering.safe_url),
    else as text; what `link_or_text(value) if safe_url(value) else value` wrote, without its macro and
    two context calls."""
    href = rendering.safe_url(value)
    return escape(value) if href is None else _link(href, value)


def _linked(value) -> str:
    """`linked`'s text, for a row written here (a text's escape one C call)."""
    href = rendering.safe_url(value)
    return _text(value) if href is None else _link(href, value)


def web_link(url: str | None, text: str | None = None) -> Markup:
    """The `web_link` filter: the `link_or_text` macro's link to a web address (rendering.safe_url),
    showing `text` or the address, or that text marked as not linked; some 40 Python calls fewer."""
    href, shown = rendering.safe_url(url), text or url
    return _link(href, shown) if href else Markup(f'<span class="unlinked-url">{_text(shown)}</span>')


def _link(href: str, text) -> Markup:
    """A link out of the portal, as the `link_or_text` macro writes it."""
    return Markup(f'<a href="{_text(href)}" rel="nofollow noopener">{_text(text)}</a>')


def thousands(number: int) -> str:
    """The `thousands` filter: 1234567 as "1,234,567"."""
    return f"{number:,}"


def day(moment: datetime | None) -> Markup:
    """The `day` filter: a <time> of the moment's day in the user's time zone (Babel's "yyyy-MM-dd",
    whose digits every language shows alike), or a dash."""
    return _day(moment, get_timezone()) if moment else Markup("—")


def _day(moment: datetime | None, zone) -> Markup:
    """The `day` filter's <time> in the time zone `zone` (the request's: flask_babel.get_timezone)."""
    if not moment:
        return Markup("—")
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone)  # pytz: exact
    shown = f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
    return Markup(f'<time datetime="{moment.isoformat()}">{shown}</time>')
