"""The admin's user search takes % and _ as the letters typed, not as LIKE wildcards."""

from __future__ import annotations

import pytest
from factories import make_user

from portal.extensions import db


@pytest.mark.parametrize(
    "q, found, not_found",
    [
        ("%", "per%cent@example.cn", "plain@example.cn"),
        ("_", "under_score@example.cn", "underscore@example.cn"),
        ("r_s", "under_score@example.cn", "underscore@example.cn"),
        ("100%达标", "100%达标@example.cn", "100分达标@example.cn"),
        ("\\", "back\\slash@example.cn", "backslash@example.cn"),
    ],
)
def test_user_search_matches_wildcard_characters_literally(client, login, q, found, not_found):
    login("admin")
    make_user(role="developer", email=found)
    make_user(role="developer", email=not_found)
    db.session.commit()
    html = client.get("/admin/users", query_string={"q": q}).get_data(as_text=True)
    assert found.replace("\\", "&#92;") in html or found in html
    assert not_found not in html


def test_user_search_by_name_matches_a_percent_sign_literally(client, login):
    login("admin")
    make_user(role="judge", display_name="满分100%评委")
    make_user(role="judge", display_name="普通评委")
    db.session.commit()
    html = client.get("/admin/users", query_string={"q": "%评委"}).get_data(as_text=True)
    assert "满分100%评委" in html
    assert "普通评委" not in html
