"""The app runs Flask's request hooks as Flask does, the request read once from its context variable
(portal.Portal, issue 20)."""

from __future__ import annotations

from calls import python_calls
from flask import Blueprint, Flask, after_this_request, render_template_string, request


def _traced(app) -> list[str]:
    """A blueprint whose hooks and view note their order; its before hook answers for ?stop."""
    order: list[str] = []
    bp = Blueprint("traced", __name__, url_prefix="/traced")

    @bp.url_value_preprocessor
    def values(endpoint, args):
        order.append(f"values {endpoint}")

    @bp.before_request
    def before():
        order.append("bp before")
        return "stopped" if "stop" in request.args else None

    @bp.get("/")
    def view():
        order.append("view")

        @after_this_request
        def own(response):
            order.append("own after")
            return response

        return "ok"

    @bp.after_request
    def first(response):
        order.append("bp after 1")
        return response

    @bp.after_request
    def second(response):
        order.append("bp after 2")
        response.headers["X-Traced"] = "yes"
        return response

    app.register_blueprint(bp)
    return order


def test_hooks_run_in_flasks_order(app):
    order = _traced(app)
    page = app.test_client().get("/traced/")
    assert page.get_data(as_text=True) == "ok" and page.headers["X-Traced"] == "yes"
    assert order == ["values traced.view", "bp before", "view", "own after", "bp after 2", "bp after 1"]


def test_a_before_hook_answering_stops_the_request(app):
    order = _traced(app)
    page = app.test_client().get("/traced/?stop")
    assert page.get_data(as_text=True) == "stopped"
    assert order == ["values traced.view", "bp before", "bp after 2", "bp after 1"]


def test_the_hooks_dispatch_reads_the_request_once(app):
    with app.test_request_context("/"):
        app.preprocess_request()  # the request's cookies read, its id taken, as on the first hooks
        ours = python_calls(app.preprocess_request)
        flasks = python_calls(Flask.preprocess_request, app)  # the request through its proxy, 3 calls a use
        assert ours < flasks - 5


def test_context_processors_add_values_the_template_keeps_its_own(app):
    bp = Blueprint("shown", __name__)
    app.context_processor(lambda: {"who": "app", "where": "app"})
    bp.context_processor(lambda: {"where": "blueprint"})

    @bp.get("/given")
    def given():
        return render_template_string("{{ who }} {{ where }}", who="view")

    app.register_blueprint(bp)
    assert app.test_client().get("/given").get_data(as_text=True) == "view blueprint"
    with app.app_context():  # outside a request: the app's processors only
        assert render_template_string("{{ who }} {{ where }}") == "app app"


def test_ensure_sync_is_asked_once_per_function(app):
    def hook():
        return None

    assert app.ensure_sync(hook) is hook and app.synced[hook] is hook
