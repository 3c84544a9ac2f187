"""A conditional dataset's original file addresses stay hidden until access is granted, on every surface.

The rule is `permissions.can_see_origin`; the page follows it per user (and keys its cache on it), and the
shared surfaces (search, /api/v1, /api/3/action, DCAT) never carry an origin, only the portal's download URL.
"""

from __future__ import annotations

import pytest
from catalogue_factories import make_dataset
from factories import make_user
from flask_login import AnonymousUserMixin

from portal.accounts import tokens
from portal.catalogue import access, permissions
from portal.catalogue.models import CONDITIONAL, UNCONDITIONAL
from portal.extensions import db

ORIGIN = "https://ckan.example.cn/secret/嘉兴医保结算明细.csv"
OPEN_ORIGIN = "https://ckan.example.cn/open/南湖区公厕.csv"
ROLES = ["anonymous", "developer", "granted", "admin"]
SEES_ORIGIN = {"anonymous": False, "developer": False, "granted": True, "admin": True}


@pytest.fixture
def datasets():
    conditional = make_dataset(
        title="嘉兴市医保结算汇总",
        name="yibao-jiesuan",
        open_condition=CONDITIONAL,
        resources=[{"format": "CSV", "url": ORIGIN}],
    )
    unconditional = make_dataset(
        title="南湖区公共厕所分布", name="gongce", resources=[{"format": "CSV", "url": OPEN_ORIGIN}]
    )
    db.session.commit()
    return conditional, unconditional


def act_as(role: str, client, login, dataset) -> dict:
    """Sign the client in as `role`; return the API headers of that user's token (none when anonymous)."""
    if role == "anonymous":
        return {}
    user = login("developer" if role == "granted" else role)
    if role == "granted":
        request = access.request_access(user, dataset, "用于医保结算分析与政策评估研究")
        access.decide(request, approve=True, reason="", by=make_user("admin"))
    _, plain = tokens.create_token(user, "脚本")
    db.session.commit()
    return {"Authorization": f"Bearer {plain}"}


@pytest.mark.parametrize("role", ROLES)
def test_dataset_page_shows_a_conditional_origin_only_once_access_is_granted(client, login, datasets, role):
    conditional, _ = datasets
    act_as(role, client, login, conditional)
    html = client.get(f"/datasets/{conditional.name}").get_data(as_text=True)
    assert (ORIGIN in html) is SEES_ORIGIN[role]
    assert ('class="hint resource-url"' in html) is SEES_ORIGIN[role]


@pytest.mark.parametrize("role", ROLES)
def test_dataset_page_shows_an_unconditional_origin_to_everyone(client, login, datasets, role):
    conditional, unconditional = datasets
    act_as(role, client, login, conditional)
    assert OPEN_ORIGIN in client.get(f"/datasets/{unconditional.name}").get_data(as_text=True)


def test_cached_page_of_a_granted_user_does_not_leak_the_origin_to_the_next_visitor(app, login, datasets):
    conditional, _ = datasets
    granted = app.test_client()
    act_as("granted", granted, lambda role: _login(granted, role), conditional)
    assert ORIGIN in granted.get(f"/datasets/{conditional.name}").get_data(as_text=True)
    assert ORIGIN not in app.test_client().get(f"/datasets/{conditional.name}").get_data(as_text=True)


def _login(client, role):
    user = make_user(role=role)
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return user


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "surface",
    [
        "/datasets/?q=医保",
        "/api/v1/datasets/yibao-jiesuan",
        "/api/v1/datasets/yibao-jiesuan/resources",
        "/api/v1/datasets?q=医保",
        "/api/3/action/package_show?id=yibao-jiesuan",
        "/api/3/action/package_search?q=医保",
        "/catalog.jsonld",
        "/catalog.ttl",
    ],
)
def test_shared_surfaces_never_carry_a_conditional_origin(client, login, datasets, role, surface):
    conditional, _ = datasets
    headers = act_as(role, client, login, conditional)
    response = client.get(surface, headers=headers if surface.startswith("/api/") else {})
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "yibao-jiesuan" in text  # the dataset is there ...
    assert "ckan.example.cn/secret" not in text  # ... its origin is not
    if "/api/" in surface and "datasets?" not in surface or "catalog" in surface:  # lists omit resources
        assert f"/datasets/yibao-jiesuan/resources/{conditional.resources[0].ckan_id}/download" in text


@pytest.mark.parametrize("role", ROLES)
def test_can_see_origin_follows_the_grant(app, datasets, role):
    conditional, unconditional = datasets
    if role == "anonymous":
        user = AnonymousUserMixin()
    else:
        user = make_user("developer" if role == "granted" else role)
        if role == "granted":
            request = access.request_access(user, conditional, "用于医保结算分析与政策评估研究")
            access.decide(request, approve=True, reason="", by=make_user("admin"))
    assert permissions.can_see_origin(user, conditional) is SEES_ORIGIN[role]
    assert permissions.can_see_origin(user, unconditional) is True
    assert unconditional.open_condition == UNCONDITIONAL
