"""A county team registers an application and revises it while it is a draft or returned.

Details and files are all checked before anything is written or stored, so a refused registration leaves
nothing behind. Functions flush and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from portal import clock
from portal.accounts.models import User
from portal.applications import claims, domains, permissions, uploads, workflow
from portal.applications.models import DRAFT, EDITABLE, Application, ApplicationFile
from portal.catalogue.models import Dataset
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.regions.models import Region
from portal.storage import Storage

MAX_NAME, MAX_DESCRIPTION, MAX_URL, MAX_MINI_PROGRAM = 120, 5000, 500, 200


class DetailsInvalid(workflow.WorkflowError):
    """Details the rules refuse; `fields` maps each refused detail's name to why (one message shown first)."""


@dataclass
class Details:
    name: str
    quarter: str
    domain: str
    description: str = ""
    dataset_ids: Sequence[int] = ()
    web_url: str = ""
    mini_program: str = ""
    zlb_entry: str = ""


@dataclass
class Attachments:
    screenshots: Sequence[uploads.IncomingFile] = field(default_factory=list)
    pdf: uploads.IncomingFile | None = None


def register(
    region: Region,
    details: Details,
    attachments: Attachments,
    *,
    by: User,
    token: str,
    store: Storage,
    limits: uploads.Limits,
    submit: bool = False,
    now: datetime | None = None,
    grace_days: int | None = None,
) -> tuple[Application, bool]:
    """Create a draft (and submit it if asked); return it and whether it is new.

    `token` is the form's one-time token: registrations with a token already used return the application
    it made, unchanged, so a form posted twice stores one application. Registrations of one county are
    serialised by a row lock on the county, so two posts racing also store one.
    """
    now = now or utcnow()
    if not permissions.can_register_application(by, region):
        raise workflow.NotAllowed(_l("Only the county's own team registers its applications."))
    datasets = _checked(details, now, already=())
    images = uploads.check_screenshots(attachments.screenshots, existing=0, limits=limits)
    pdf = uploads.check_pdf(attachments.pdf, limits=limits)
    _lock_county(region)  # after the slow checks, so that the lock is held briefly
    existing = (
        db.session.scalar(select(Application).where(Application.form_token == token)) if token else None
    )
    if existing is not None:
        if existing.created_by_id != by.id:
            raise DetailsInvalid(_l("This form was already used. Reload the page and try again."))
        return existing, False
    application = Application(
        region=region, created_by=by, form_token=token or None, status=DRAFT, created_at=now
    )
    _apply(application, details, datasets, now)
    if submit:
        workflow.require_complete(application)
        workflow.require_filing_open(application, now=now, grace_days=grace_days)
    db.session.add(application)
    db.session.flush()
    workflow.record(application, "create", None, DRAFT, by=by, now=now)
    _store(application, images, pdf, store=store, by=by)
    if submit:
        workflow.submit(application, by=by, now=now, grace_days=grace_days)
    return application, True


def revise(
    application: Application,
    details: Details,
    attachments: Attachments,
    *,
    by: User,
    store: Storage,
    limits: uploads.Limits,
    submit: bool = False,
    now: datetime | None = None,
    grace_days: int | None = None,
) -> Application:
    """Change a draft or returned application's details, add files, and submit it if asked."""
    now = now or utcnow()
    _claim_for_edit(application, by, now)
    datasets = _checked(details, now, already=application.datasets)
    images = uploads.check_screenshots(
        attachments.screenshots, existing=len(application.screenshots), limits=limits
    )
    pdf = uploads.check_pdf(attachments.pdf, limits=limits)
    _apply(application, details, datasets, now)
    if submit:
        workflow.require_complete(application)
        workflow.require_filing_open(application, now=now, grace_days=grace_days)
    db.session.flush()
    _store(application, images, pdf, store=store, by=by)
    if submit:
        workflow.submit(application, by=by, now=now, grace_days=grace_days)
    return application


def remove_file(
    application: Application, file: ApplicationFile, *, by: User, store: Storage, now: datetime | None = None
) -> None:
    """Remove a screenshot or the PDF of a draft or returned application."""
    if file.application_id != application.id:
        raise DetailsInvalid(_l("This file belongs to another application."))
    _claim_for_edit(application, by, now or utcnow())
    uploads.remove(file, store=store)


def _lock_county(region: Region) -> None:
    """Hold the county's row until commit: a no-op UPDATE locks it on PostgreSQL and SQLite alike."""
    db.session.execute(
        update(Region)
        .where(Region.id == region.id)
        .values(position=Region.position)
        .execution_options(synchronize_session=False)
    )


def _claim_for_edit(application: Application, by: User, now: datetime) -> None:
    """Raise unless `by` may edit the application and it is still editable, holding its row till commit."""
    if not permissions.can_follow_application(by, application) or by.is_admin:
        raise workflow.NotAllowed(_l("Only the county's team edits its applications."))
    result = db.session.execute(
        update(Application)
        .where(Application.id == application.id, Application.status.in_(EDITABLE))
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(application)
        raise workflow.InvalidTransition(_l("Only a draft or a returned application can be changed."))
    application.updated_at = now


def problems(
    details: Details, now: datetime, *, already: Sequence[Dataset] = (), submit: bool = False
) -> dict[str, object]:
    """Return every wrong detail at once, keyed by the detail's name, so a form shows them all together;
    with `submit`, also what a submission lacks."""
    found: dict[str, object] = {}
    if submit:
        draft = SimpleNamespace(
            description=details.description,
            datasets=list(details.dataset_ids),
            web_url=details.web_url.strip(),
            mini_program=details.mini_program.strip(),
            zlb_entry=details.zlb_entry.strip(),
        )
        found.update(workflow.incomplete_fields(draft))
    name = details.name.strip()
    if not name or len(name) > MAX_NAME:
        found["name"] = _l("Give the application a name of at most %(n)d characters.", n=MAX_NAME)
    if not clock.is_quarter(details.quarter):
        found["quarter"] = _l("Choose a quarter such as 2020Q1.")
    elif clock.parse_quarter(details.quarter) > clock.parse_quarter(clock.quarter_of(now)):
        found["quarter"] = _l("An application cannot be registered for a quarter still to come.")
    if not domains.is_domain(details.domain):
        found["domain"] = _l("Choose one of the priority domains, or other.")
    if len(details.description) > MAX_DESCRIPTION:
        found["description"] = _l("Keep the description under %(n)d characters.", n=MAX_DESCRIPTION)
    url = details.web_url.strip()
    parts = urlsplit(url)
    if url and (parts.scheme not in ("http", "https") or not parts.netloc or len(url) > MAX_URL):
        found["web_url"] = _l("The web address must start with http:// or https://.")
    if len(details.mini_program.strip()) > MAX_MINI_PROGRAM:
        found["mini_program"] = _l("The mini-program or Zheliban entry is too long.")
    if len(details.zlb_entry.strip()) > MAX_URL:
        found["zlb_entry"] = _l("The mini-program or Zheliban entry is too long.")
    if claims.claimable(details.dataset_ids, already=already)[1]:
        found["dataset_ids"] = _l("Some chosen datasets are not in the published catalogue.")
    return found


def _checked(details: Details, now: datetime, *, already: Sequence[Dataset]) -> list[Dataset]:
    """Raise DetailsInvalid, naming every wrong detail, unless all are right; return the datasets chosen."""
    found = problems(details, now, already=already)
    if found:
        raise DetailsInvalid(next(iter(found.values())), found)
    return claims.claimable(details.dataset_ids, already=already)[0]


def _apply(application: Application, details: Details, datasets: list[Dataset], now: datetime) -> None:
    application.name = details.name.strip()
    application.quarter = details.quarter
    application.domain = details.domain
    application.description = details.description.strip()
    application.web_url = details.web_url.strip()
    application.mini_program = details.mini_program.strip()
    application.zlb_entry = details.zlb_entry.strip()
    application.datasets = datasets
    application.updated_at = now


def _store(
    application: Application,
    images: list[uploads.CheckedImage],
    pdf: uploads.CheckedPdf | None,
    *,
    store: Storage,
    by: User,
) -> None:
    added = uploads.store_screenshots(application, images, store=store, by=by) if images else []
    try:
        if pdf is not None:
            uploads.store_pdf(application, pdf, store=store, by=by)
    except BaseException:
        uploads.discard(added, store=store)  # the caller rolls the rows back; take the objects too
        raise
