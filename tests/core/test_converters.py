"""Integer URL variables take ASCII digits only (portal/converters.py): a full-width or other Unicode digit,
which Werkzeug's own converter read as the same number, is a 404 on every route, and so is an id past the
database's integers; ASCII ids still reach their views and URLs are built as before."""

from __future__ import annotations

import pytest
from flask import url_for
from owner_factories import make_data_request

from portal.converters import AsciiInt
from portal.extensions import db

ZERO = ["０", "٠", "۰", "०", "𝟎"]  # full-width, Arabic-Indic, Persian, Devanagari, mathematical


def _written_with(zero: str, number: int) -> str:
    return "".join(chr(ord(zero) + int(d)) for d in str(number))


def test_every_route_with_an_integer_variable_uses_the_ascii_converter(app):
    converters = [c for rule in app.url_map.iter_rules() for c in rule._converters.values()]
    integers = [c for c in converters if c.regex in (r"\d+", "[0-9]+")]
    assert integers and all(isinstance(c, AsciiInt) for c in integers)


@pytest.mark.parametrize("zero", ZERO)
def test_an_id_in_other_digits_is_a_404_on_pages_and_the_api(app, client, login, zero):
    asked = make_data_request(None)
    db.session.commit()
    assert client.get(f"/requests/{asked.id}").status_code == 200
    other = _written_with(zero, asked.id)
    assert client.get(f"/requests/{other}").status_code == 404
    login("admin")
    assert client.post(f"/admin/reports/{other}/answer", data={"action": "fix"}).status_code == 404
    refused = client.get(f"/api/v1/applications/{_written_with(zero, 1)}")
    assert refused.status_code == 404 and refused.get_json()["error"]["code"] == 404


def test_ids_past_the_database_integers_are_a_404_not_a_500(app, client):
    assert client.get(f"/requests/{2**31 - 1}").status_code == 404  # the largest: looked up, not found
    assert client.get(f"/requests/{2**31}").status_code == 404
    assert client.get("/api/v1/applications/99999999999999999999").status_code == 404


def test_urls_are_built_as_before(app):
    with app.test_request_context():
        assert url_for("feedback.request_detail", request_id=12) == "/requests/12"
