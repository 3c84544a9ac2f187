"""Who may see, preview and download datasets, and who applies for or decides access requests.

Predicates take the user (Flask-Login's anonymous user too) and the object; views `abort` on False and
templates use them to hide buttons. Whether a developer holds an approved request is a database fact, so the
download predicates ask `access.has_approved_request`.
"""

from __future__ import annotations

from portal.accounts.models import ADMIN, DEVELOPER, User
from portal.catalogue import access, owners
from portal.catalogue.models import CONDITIONAL, PENDING, AccessRequest, Dataset


def _is_admin(user: User) -> bool:
    return bool(user.is_authenticated and user.role == ADMIN)


def can_view_history(user: User) -> bool:
    """Admins see what left the catalogue: withdrawn datasets, removed resources."""
    return _is_admin(user)


def can_view_dataset(user: User, dataset: Dataset) -> bool:
    """Published datasets are public; a withdrawn one keeps its full page for admins only."""
    return dataset.is_published or _is_admin(user)


def can_download_dataset(user: User, dataset: Dataset) -> bool:
    """Anyone downloads an unconditionally open dataset; a conditional one needs an approved request.

    Admins (the data office, who decide the requests) download everything, withdrawn datasets included.
    """
    if _is_admin(user):
        return True
    if not dataset.is_published:
        return False
    if dataset.open_condition != CONDITIONAL:
        return True
    return bool(
        user.is_authenticated and user.role == DEVELOPER and access.has_approved_request(user, dataset)
    )


def can_see_origin(user: User, dataset: Dataset) -> bool:
    """A resource's original address reaches the file past the portal's access check, so it follows
    the download rule: a conditional dataset's origins stay hidden until access is granted.

    Every surface asks this one rule. The APIs and DCAT answer the same to every caller (they are
    shared, as the public see them), so they never carry an origin: their link is the portal's
    download URL, which checks the caller's grant itself.
    """
    return can_download_dataset(user, dataset)


def can_preview_dataset(user: User, dataset: Dataset) -> bool:
    """A preview shows real rows, so it follows the download rule."""
    return can_download_dataset(user, dataset)


def can_request_access(user: User, dataset: Dataset) -> bool:
    """Developers apply for conditionally open, published datasets they cannot download yet."""
    return bool(
        user.is_authenticated
        and user.role == DEVELOPER
        and dataset.is_published
        and dataset.open_condition == CONDITIONAL
        and not access.has_approved_request(user, dataset)
    )


def can_review_access_requests(user: User) -> bool:
    """The office reviews every access request; a data owner those for their departments' datasets."""
    return _is_admin(user) or owners.is_data_owner(user)


def can_decide_access_request(user: User, request: AccessRequest) -> bool:
    """The data office decides any pending request; a data owner those for their departments' datasets."""
    if request.status != PENDING:
        return False
    return _is_admin(user) or owners.owns_dataset(user, request.dataset)
