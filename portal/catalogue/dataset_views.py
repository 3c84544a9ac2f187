"""One dataset: its page, a masked preview of a resource, downloads and access requests.

The routes join the catalogue blueprint (`catalogue.dataset` is linked from the list page);
`create_app` imports this module before it registers the blueprint.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote, quote_plus

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import bindparam, select

from portal import clock, storage
from portal.accounts import callers, metering
from portal.accounts.permissions import role_required
from portal.activity import events
from portal.audit import log as audit_log
from portal.audit import web as audit_web
from portal.catalogue import (
    access,
    changes,
    downloads,
    holds,
    loading,
    page_parts,
    permissions,
    rendering,
    rules,
    search_cache,
    whole_pages,
)
from portal.catalogue import preview as previews
from portal.catalogue.models import CONDITIONAL, Dataset, Resource
from portal.catalogue.views import PATH_SAFE, QUERY_SAFE, bp
from portal.dbtypes import utcnow
from portal.errors import json_error
from portal.extensions import db, login_manager
from portal.i18n import request_translations

WITHDRAWN = 410


@bp.record_once
def _template_helpers(state) -> None:
    """Make the rendering helpers and predicates global, so imported macros see them too."""
    state.app.jinja_env.globals.update(
        markdown=rendering.markdown_to_html,
        safe_url=rendering.safe_url,
        can_download_dataset=permissions.can_download_dataset,
        can_view_history=permissions.can_view_history,
    )
    state.app.jinja_env.filters.update(  # filters: Jinja calls them directly, without a context call
        markdown=rendering.markdown_to_html,
        thousands=page_parts.thousands,
        volume=page_parts.volume,
        linked=page_parts.linked,
        web_link=page_parts.web_link,
        day=page_parts.day,
        open_condition_badge=page_parts.open_condition_badge,
    )


_BY_NAME = select(Dataset).where(Dataset.name == bindparam("name"))  # built once: every page asks it


def _dataset_or_404(name: str) -> Dataset:
    dataset = db.session.scalar(_BY_NAME, {"name": name})
    if dataset is None:
        abort(404)
    return dataset


def _resource_of(dataset: Dataset, resource_ckan_id: str, user) -> Resource | None:
    """Return the dataset's resource; a removed one only for admins."""
    resource = db.session.scalar(
        select(Resource).where(Resource.dataset_id == dataset.id, Resource.ckan_id == resource_ckan_id)
    )
    if resource is None or not (resource.is_active or user.is_authenticated and user.is_admin):
        return None
    return resource


def _resource_or_404(dataset: Dataset, resource_ckan_id: str) -> Resource:
    resource = _resource_of(dataset, resource_ckan_id, current_user)
    if resource is None:
        abort(404)
    return resource


def _my_request(dataset: Dataset):
    return access.latest_request(current_user, dataset) if current_user.is_authenticated else None


def _withdrawn(dataset: Dataset):
    if dataset.withdrawn_reason in rules.WITHHELD_REASONS:  # graded 3-4: not even its title is public
        abort(404)
    return render_template("catalogue/withdrawn.html", dataset=dataset), WITHDRAWN


def _refused(dataset: Dataset):
    """Send anonymous visitors to sign in; tell others how to get access."""
    if not dataset.is_published:
        return _withdrawn(dataset)
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return render_template(
        "catalogue/access_needed.html", dataset=dataset, my_request=_my_request(dataset)
    ), 403


def _shown_to_anonymous(cursor, name: str) -> tuple[loading.Shown, list] | tuple[None, None]:
    """Return the light row of a published dataset and the applications using it, read on `cursor`, a
    DBAPI cursor outside the session (a kept page opens none); (None, None) for a dataset not published
    or unknown: that needs the dataset itself."""
    shown = loading.raw_shown(cursor, name)
    if shown is None or not shown.is_published:
        return None, None
    return shown, current_app.jinja_env.globals["dataset_reuses"](shown.id, cursor=cursor)


@bp.get("/<name>")
def dataset(name: str):
    if current_user.is_authenticated:
        return _dataset_page(name, None, None, None)
    with changes.raw_cursor() as cursor:  # one for the page: what it reads, it reads outside the session
        shown, reuses = _shown_to_anonymous(cursor, name)
        if shown is not None:
            return _dataset_page(name, cursor, shown, reuses)
    # unknown or not published: the session reads it, once the lent connection is back in the pool (a
    # request never holds two, which a crawler of made-up names would otherwise make it do)
    return _dataset_page(name, None, None, None)


def _dataset_page(name: str, cursor, shown: loading.Shown | None, reuses: list | None):
    key = whole_pages.key("dataset") if shown is not None else None
    stamp = (*changes.version_of(shown), shown.state) if shown is not None else None
    kept = whole_pages.dataset_pages.peek(key, stamp) if key is not None else None
    if kept is not None:  # the page of a published dataset, as a visitor not signed in saw it
        events.record("dataset_view", dataset_id=shown.id)
        head, tail = kept
        return head + _reuses_panel(reuses, get_locale()) + tail
    dataset = shown or _dataset_or_404(name)
    if not permissions.can_view_dataset(current_user, dataset):
        return _withdrawn(dataset)
    if dataset.is_published:
        events.record("dataset_view", dataset_id=dataset.id)  # written behind the request: no commit
    if reuses is None:
        reuses = current_app.jinja_env.globals["dataset_reuses"](dataset.id)
    locale = get_locale()  # some 17 calls: once for the page
    page = render_template(
        "catalogue/dataset.html",
        dataset=dataset,
        body=_body(dataset, locale, cursor),
        my_request=_my_request(dataset),
        access_panel=None if shown is None else _anonymous_access(shown),
        reuses_panel=_REUSES_SLOT,
        labels=page_parts.labels(),
        links=page_parts.page_links(dataset.name),
    )
    head, tail = page.split(_REUSES_SLOT, 1)
    if key is not None:
        whole_pages.dataset_pages.put(key, stamp, (head, tail))
    return head + _reuses_panel(reuses, locale) + tail, 200 if dataset.is_published else WITHDRAWN


# Where the reuses panel goes in a rendered dataset page: the applications using a dataset change
# with their own area's writes, which no dataset's version sees, so the panel is added at each view.
_REUSES_SLOT = Markup(f"<!--reuses {secrets.token_hex(16)}-->")  # no escaped text holds "<", none guesses it


def _reuses_panel(reuses: list, locale) -> str:
    """Return the dataset page's panel of the applications using it (`dataset_reuses`, which the
    applications area gives), its empty state (most datasets' case) rendered once per language."""
    if reuses:
        return render_template("catalogue/_reuses.html", reuses=reuses)
    shown_in = (str(locale), request.script_root)  # `locale`: the request's (get_locale)
    empty = _EMPTY_REUSES.get(shown_in)
    if empty is None:
        empty = _EMPTY_REUSES[shown_in] = render_template("catalogue/_reuses.html", reuses=[])
    return empty


_EMPTY_REUSES: dict[tuple, str] = {}  # the empty reuses panel per language (and script root)


def _anonymous_access(dataset: Dataset | loading.Shown) -> Markup | None:
    """Return the access panel (`_access.html`) of a published conditional dataset's page for a visitor
    not signed in, or None for anyone else (the page includes the template). What such a visitor sees
    there (how to apply, a sign-in link that returns to the page) differs between datasets only by the
    dataset's name in that link: it is rendered once per language and script root with a slot for the
    name, and the name (as url_for quotes it, then as the link's query does) put in it, where the
    template cost some 250 Python calls a page (issue 20)."""
    if current_user.is_authenticated or dataset.open_condition != CONDITIONAL or not dataset.is_published:
        return None
    environment = current_app.jinja_env
    shown_in = (request_translations(), request.script_root)
    parts = _ACCESS_PANELS.get(shown_in)
    if parts is None:
        page = render_template("catalogue/_access.html", dataset=_NameSlot(), my_request=None)
        before, slot, after = page.partition(_NameSlot.name)
        if not slot or _NameSlot.name in after:
            raise RuntimeError(
                "_access.html shows a visitor not signed in the dataset's name other than once"
            )
        parts = (before, after)  # the template's text: escaped
        if not environment.auto_reload and len(_ACCESS_PANELS) < 100:  # templates reloading: never kept
            _ACCESS_PANELS[shown_in] = parts
    name = quote_plus(quote(dataset.name, safe=PATH_SAFE), safe=QUERY_SAFE)  # the link's `next`
    return Markup(f"{parts[0]}{name.translate(page_parts._HTML)}{parts[1]}")


class _NameSlot:
    """The dataset a visitor not signed in sees in the access panel: a published conditional one with a
    name no quoting or escaping changes, and nothing else (whatever else the template reads of it would
    be shown to every such visitor: it fails loudly instead)."""

    name = f"name-slot-{secrets.token_hex(8)}"
    is_published = True
    open_condition = CONDITIONAL

    def __getattr__(self, attribute: str):
        raise RuntimeError(
            f"_access.html reads dataset.{attribute} for a visitor not signed in: see _anonymous_access"
        )


_ACCESS_PANELS: dict[tuple, tuple[str, str]] = {}  # per language and script root


def _body(dataset: Dataset | loading.Shown, locale, cursor) -> Markup:
    """Render what the page shows everyone alike, or take it from the cache.

    The stamp is the dataset's version (catalogue/changes.py: every write of the dataset, its
    resources, themes or tags moves its change time; a download its count) and its state.
    What the user may do and see (downloads, original addresses, history) is part of the key, and so is
    the language (`locale`: the request's, from get_locale). It is read on `cursor` when given (the
    page's, outside the session: loading.load_page_dataset).
    """
    downloadable = permissions.can_download_dataset(current_user, dataset)
    origins = permissions.can_see_origin(current_user, dataset)
    history = permissions.can_view_history(current_user)
    key = ("dataset", dataset.id, str(locale), downloadable, origins, history)

    def render() -> Markup:
        loaded = loading.load_page_dataset(
            dataset.id, cursor
        )  # plain objects: the ORM's cost twice the render's
        return page_parts.render(
            loaded, downloadable=downloadable, origins=origins, history=history, locale=locale
        )

    stamp = (*changes.version_of(dataset), dataset.state)
    return search_cache.fragments.get(key, render, stamp)


HELD = "held"  # previews withheld: catalogue/holds.py


@bp.get("/<name>/resources/<resource_id>/preview")
def preview(name: str, resource_id: str):
    dataset = _dataset_or_404(name)
    resource = _resource_or_404(dataset, resource_id)
    if not permissions.can_preview_dataset(current_user, dataset):
        return _refused(dataset)
    table, problem = None, None
    if holds.is_held(dataset.id):  # a report of exposed personal data stands (feedback area)
        problem = HELD
    else:
        try:
            table = previews.preview(resource, storage.get_storage().open)
        except previews.PreviewUnavailable as exc:
            problem = exc.reason
    if request.args.get("format") == "json":
        return _preview_json(table, problem)
    page = render_template(
        "catalogue/preview.html",
        dataset=dataset,
        resource=resource,
        table=table,
        problem=problem,
        problems=_preview_problems(),
    )
    return page, 404 if problem else 200


def _preview_json(table: previews.Table | None, problem: str | None):
    if table is None:
        return {"error": {"code": problem, "message": _preview_problems()[problem or ""]}}, 404
    return {"header": table.header, "rows": table.rows, "more": table.more, "masked": table.masked}


def _preview_problems() -> dict[str, str]:
    return {
        previews.NOT_PREVIEWABLE: _("Only CSV, XLSX and JSON files can be previewed."),
        previews.NOT_MIRRORED: _("The portal keeps no copy of this file, so it cannot show a preview."),
        previews.MISSING: _(
            "The portal's copy of this file is missing; the data office has to sync it again."
        ),
        previews.UNREADABLE: _("This file cannot be read as a table, so there is no preview."),
        HELD: _("Previews of this dataset are withheld while a report of exposed personal data is handled."),
    }


@bp.get("/<name>/resources/<resource_id>/download")
def download(name: str, resource_id: str):
    """Serve a resource to a signed-in browser or, as the API's `download_url`, to an API token.

    A request with a token is answered in the API's JSON envelope when refused, never with the
    sign-in page: a script cannot follow it.
    """
    if callers.presented_token() is not None:
        return _download_with_token(name, resource_id)
    dataset = _dataset_or_404(name)
    resource = _resource_or_404(dataset, resource_id)
    if not permissions.can_download_dataset(current_user, dataset):
        return _refused(dataset)
    try:
        delivery = downloads.deliver(resource, storage.get_storage())
    except downloads.NotDownloadable as exc:
        return render_template("catalogue/not_downloadable.html", dataset=dataset, message=str(exc)), 404
    return _deliver(dataset, resource, delivery, current_user)


def _download_with_token(name: str, resource_id: str):
    suspended = callers.suspended_token()
    if suspended is not None:
        return _json_refusal(403, callers.suspension_message(suspended))
    user = callers.user()
    if user is None:
        return _json_refusal(401, "The API token is unknown, revoked, or its account is deactivated.")
    dataset = db.session.scalar(_BY_NAME, {"name": name})
    resource = None if dataset is None else _resource_of(dataset, resource_id, user)
    if resource is None or not permissions.can_view_dataset(user, dataset):
        return _json_refusal(404, "No such dataset or resource.")
    if not permissions.can_download_dataset(user, dataset):
        return _json_refusal(
            403, "This dataset is open on conditions: the token's owner needs an approved access request."
        )
    try:
        delivery = downloads.deliver(resource, storage.get_storage())
    except downloads.NotDownloadable as exc:
        return _json_refusal(404, str(exc))
    return _deliver(dataset, resource, delivery, user)


def _json_refusal(status: int, message: str):
    return json_error(status, message, {"WWW-Authenticate": 'Bearer realm="api"'} if status == 401 else None)


def _deliver(dataset: Dataset, resource: Resource, delivery: downloads.Delivery, user):
    """Count the download, commit, and answer with the redirect or the file."""
    # Counted once per downloader, dataset and day; a crawler's is recorded (flagged) but never counted.
    bot, day = events.is_bot(request.headers.get("User-Agent", "")), clock.day_of(utcnow())
    who = events.downloader(user)
    if bot or downloads.count_download(dataset, resource, who=who, day=day):
        actor = user if user.is_authenticated else None
        events.record("download", dataset_id=dataset.id, resource_id=resource.id, user=actor)
    if dataset.open_condition == CONDITIONAL or not dataset.is_published:  # every one, counted or not
        audit_log.record(
            db.session,
            "dataset.conditional_download",
            actor=user,
            object_type="resource",
            object_id=resource.ckan_id,
            after={"dataset": dataset.name},
            client=audit_web.client(),
        )
    db.session.commit()
    # Behaviour monitoring: the bytes of the portal's copy, else the size CKAN states (0 when unknown).
    metering.note(downloads=1, bytes=resource.mirrored_size or resource.size or 0)
    if delivery.url:
        return redirect(delivery.url)
    return send_file(
        delivery.stream, mimetype=delivery.content_type, as_attachment=True, download_name=delivery.filename
    )


@bp.route("/<name>/request-access", methods=["GET", "POST"])
@role_required()
def request_access(name: str):
    dataset = _dataset_or_404(name)
    if not permissions.can_request_access(current_user, dataset):
        return _refused(dataset)
    purpose, error = request.form.get("purpose", ""), None
    if request.method == "POST":
        try:
            access.request_access(current_user, dataset, purpose)
        except access.AlreadyPending as exc:
            flash(str(exc), "info")
            return redirect(url_for("catalogue.dataset", name=dataset.name, _anchor="access"))
        except access.AccessError as exc:
            error = str(exc)
        else:
            db.session.commit()
            flash(_("Your request is sent. The data office will decide on it."), "success")
            return redirect(url_for("catalogue.dataset", name=dataset.name, _anchor="access"))
    page = render_template("catalogue/request_access.html", dataset=dataset, purpose=purpose, error=error)
    return page, 400 if error else 200
