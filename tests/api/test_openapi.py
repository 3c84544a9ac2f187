"""The OpenAPI document of /api/v1 matches the routes, and fuzzed requests get documented answers."""

from __future__ import annotations

import re

import pytest
import schemathesis
from api_factories import package, publish
from fuzzing import fuzz as _fuzz

from portal.api import openapi

AREAS = (
    "catalogue",
    "applications",
    "metrics",
    "contest",
    "rows",
    "feedback",
    "requests",
    "quality",
    "comments",
)


def _routes(app) -> set[tuple[str, str]]:
    return {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_document_names_every_api_v1_route_and_no_other(app):
    documented = {
        (path, method) for path, operations in openapi.document(app)["paths"].items() for method in operations
    }
    assert documented == _routes(app)


def test_document_path_parameters_are_the_rules_parameters(app):
    for path, operations in openapi.document(app)["paths"].items():
        for operation in operations.values():
            in_path = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert in_path == set(re.findall(r"{(\w+)}", path)), path


def test_document_is_served_as_json(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == openapi.document(app)
    assert "数据集".encode() in response.data


def test_every_operation_loads_in_schemathesis(app):
    schema = schemathesis.openapi.from_dict(openapi.document(app))
    operations = [result.ok() for result in schema.get_all_operations()]  # ok() raises for an invalid one
    assert len(operations) == len(_routes_of(openapi.document(app)))


def _routes_of(document: dict) -> list[tuple[str, str]]:
    return [(path, method) for path, operations in document["paths"].items() for method in operations]


def _fuzz_both(operation, app, client) -> None:
    """Fuzz with valid data, then (when it takes parameters that can be invalid) with invalid data."""
    try:
        _fuzz(operation.as_strategy(), app, client)
        parameters = operation.definition.raw.get("parameters", [])
        # a string path parameter has no invalid value a URL can carry: hypothesis could not make one
        if any(p["in"] == "query" or p["schema"].get("type") != "string" for p in parameters):
            _fuzz(operation.as_strategy(schemathesis.GenerationMode.NEGATIVE), app, client)
    except Exception as exc:
        exc.add_note(f"while fuzzing {operation.label}")
        raise


def _operations(app, tag: str):
    schema = schemathesis.openapi.from_dict(openapi.document(app))
    operations = [result.ok() for result in schema.get_all_operations()]
    return [o for o in operations if tag in o.definition.raw.get("tags", [])]


def test_fuzzed_catalogue_requests_get_documented_answers(app, client, tmp_path):
    publish(
        tmp_path,
        [
            package(1, title="海宁市公交站点", formats=("CSV", "XLSX")),
            package(2, title='标题"><script>alert(1)</script>', org="jx-jtysj", formats=("API",)),
            package(3, org="nh-wjj", groups=("ylws",), condition="有条件开放", formats=()),
        ],
    )
    for operation in _operations(app, "catalogue"):
        _fuzz_both(operation, app, client)
        if "{name}" in operation.path:  # also a name that exists, so that 200 answers are checked
            _fuzz(operation.as_strategy(path_parameters={"name": "api-dataset-001"}), app, client)


def test_every_operation_is_fuzzed_by_its_area(app):
    for path, operations in openapi.document(app)["paths"].items():
        for method, operation in operations.items():
            assert set(operation.get("tags", [])) & set(AREAS), f"{method} {path} has no fuzzed area"


@pytest.mark.parametrize("area", AREAS[1:])
def test_fuzzed_requests_of_other_areas_get_documented_answers(app, client, area):
    operations = _operations(app, area)
    assert operations, f"no operation tagged {area}"
    for operation in operations:
        _fuzz_both(operation, app, client)
