"""One reader for untrusted numbers and JSON (portal/inputs.py), and what the routes make of it."""

from __future__ import annotations

import json

import pytest

from portal import inputs


@pytest.mark.parametrize(
    "raw", ["²", "١٢", "੩", "1_000", "1e3", "0x10", "9" * 20, "-" + "9" * 20, "", " ", "1.0"]
)
def test_whole_number_refuses_what_is_not_ascii_digits_within_64_bits(raw):
    with pytest.raises(inputs.BadInput):
        inputs.whole_number(raw)


@pytest.mark.parametrize("raw", [True, 1.5, None, [1], {"a": 1}, 2**63])
def test_whole_number_refuses_other_json_values(raw):
    with pytest.raises(inputs.BadInput):
        inputs.whole_number(raw)


@pytest.mark.parametrize(("raw", "value"), [("42", 42), (" 7 ", 7), ("-3", -3), ("+5", 5), (12, 12)])
def test_whole_number_reads_digits(raw, value):
    assert inputs.whole_number(raw) == value


def test_page_number_defaults_to_one_and_keeps_its_bounds():
    assert inputs.page_number(None) == inputs.page_number("") == 1
    assert inputs.page_number("3") == 3
    for raw in ("0", "-1", "100001"):
        with pytest.raises(inputs.BadInput):
            inputs.page_number(raw)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,  # RecursionError inside json
        "[" * (inputs.MAX_JSON_DEPTH + 1) + "]" * (inputs.MAX_JSON_DEPTH + 1),
        '{"a":' * (inputs.MAX_JSON_DEPTH + 1) + "1" + "}" * (inputs.MAX_JSON_DEPTH + 1),
        '{"q": "\\ud800"}',
        '{"\\udfff": 1}',
        '{"rows": 1e999}',
        '{"rows": NaN}',
        '{"rows": -Infinity}',
        json.dumps({"id": 2**64}),
    ],
)
def test_loads_refuses_json_that_would_break_the_code_below(text):
    with pytest.raises(inputs.BadInput):
        inputs.loads(text)


def test_loads_reads_ordinary_json():
    nested = "[" * inputs.MAX_JSON_DEPTH + "]" * inputs.MAX_JSON_DEPTH
    assert inputs.loads(nested) is not None
    assert inputs.loads('{"q": "交通 \\ud83d\\ude8c", "rows": 10}') == {"q": "交通 🚌", "rows": 10}


@pytest.mark.parametrize(
    "body",
    [
        "[" * 50_000 + "]" * 50_000,
        '{"q": "\\ud800"}',
        '{"rows": 1e999}',
        '{"start": 1' + "0" * 30 + "}",
        "[1, 2]",
    ],
)
def test_ckan_actions_answer_malformed_json_with_ckans_400(client, body):
    response = client.post("/api/3/action/package_search", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json().startswith("Bad request - JSON Error")


@pytest.mark.parametrize(
    "body",
    [{"q": {"a": 1}}, {"rows": [1]}, {"rows": 1.5}, {"rows": True}, {"fq_list": [[1]]}],
)
def test_ckan_actions_answer_wrong_json_types_with_a_validation_error(client, body):
    response = client.post("/api/3/action/package_search", json=body)
    assert response.status_code == 409
    assert response.get_json()["error"]["__type"] == "Validation Error"


def test_ckan_json_posted_as_a_form_key_must_be_an_object(client):
    response = client.post("/api/3/action/package_search", data={"[1, 2]": "1"})
    assert response.status_code == 400
    assert response.get_json().startswith("Bad request - JSON Error")


@pytest.mark.parametrize("path", ["/account/sign-in", "/account/sign-up", "/language"])
def test_pages_refuse_json_bodies_with_415(client, path):
    response = client.post(path, data='{"email": 1, "password": [2]}', content_type="application/json")
    assert response.status_code == 415
    assert response.mimetype == "text/html"


@pytest.mark.parametrize(
    "path",
    ["/api/v1/datasets?page=²", "/api/v1/datasets?page=" + "9" * 40, "/api/v1/applications?page=²"],
)
def test_api_pages_refuse_malformed_page_numbers_with_400(client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == 400


@pytest.mark.parametrize("page", ["²", "9" * 40, "-1"])
def test_paginated_pages_read_a_malformed_page_as_the_first(client, login, page):
    login("admin")
    response = client.get("/admin/users", query_string={"page": page})
    assert response.status_code == 200
