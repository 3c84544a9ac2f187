"""Blueprints are composed one way (issue 12 item 4): every area with pages or a JSON API declares them
in its blueprints.py, create_app registers what WEB_AREAS lists, and every blueprint defined is served."""

from __future__ import annotations

import ast
from importlib import import_module
from pathlib import Path

import portal
from portal import WEB_AREAS

PORTAL = Path(portal.__file__).parent


def _areas_with_routes() -> set[str]:
    areas = set()
    for path in PORTAL.glob("*/*.py"):
        if "Blueprint(" in path.read_text(encoding="utf-8"):
            areas.add(path.parent.name)
    return areas


def test_every_area_with_a_blueprint_declares_its_surface_and_is_listed():
    areas = _areas_with_routes()
    assert areas == set(WEB_AREAS), (areas ^ set(WEB_AREAS))
    for name in WEB_AREAS:
        surface = import_module(f"portal.{name}.blueprints")
        assert surface.PAGES or getattr(surface, "API", ()), name


def test_every_blueprint_defined_in_the_package_is_served(app):
    defined = set()
    for path in PORTAL.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Blueprint" and node.args:
                if isinstance(node.args[0], ast.Constant):
                    defined.add(node.args[0].value)
    served = {name.rsplit(".", 1)[-1] for name in app.blueprints}
    served |= {"api"}  # the surface's name (openapi.SURFACE)
    assert defined <= served, defined - served


def test_only_create_app_and_the_parents_register_blueprints():
    # the app, /api/v1's parent, and the contest's page that nests its desks
    allowed = {"__init__.py", "api/v1.py", "contest/views.py"}
    found = {
        str(path.relative_to(PORTAL))
        for path in PORTAL.rglob("*.py")
        if "register_blueprint(" in path.read_text(encoding="utf-8")
    }
    assert found <= allowed, found - allowed
