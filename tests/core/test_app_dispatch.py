"""The app's own URL adapter and signal sending (portal.Portal, issue 20): what Flask and Werkzeug would
do, in fewer calls."""

from __future__ import annotations

import pytest
from flask import Blueprint, Flask, request, signals
from werkzeug.exceptions import HTTPException
from werkzeug.test import EnvironBuilder

ADAPTER_FIELDS = ("server_name", "script_name", "subdomain", "url_scheme", "path_info", "default_method")


def _adapters(app, **environ):
    """The portal's adapter and Flask's for one request's environ."""
    base = EnvironBuilder(path="/datasets/").get_environ()
    base.update(environ)
    return [
        Flask.create_url_adapter(app, app.request_class(dict(base))) if flask else
        app.create_url_adapter(app.request_class(dict(base)))
        for flask in (False, True)
    ]  # fmt: skip


@pytest.mark.parametrize(
    "environ",
    [
        {"HTTP_HOST": "localhost"},
        {"HTTP_HOST": "Data.Example.CN:8080"},
        {"HTTP_HOST": "bücher.example".encode().decode("latin1")},  # as WSGI gives a UTF-8 Host
        {"HTTP_HOST": "localhost", "SCRIPT_NAME": "/portal", "QUERY_STRING": "q=%E4%BA%A4"},
        {"HTTP_HOST": "localhost", "QUERY_STRING": "q=交通".encode().decode("latin1")},
        {"HTTP_HOST": "localhost", "wsgi.url_scheme": "https", "REQUEST_METHOD": "POST"},
        {"HTTP_HOST": "localhost", "PATH_INFO": "/datasets/" + "交通".encode().decode("latin1")},
        {"HTTP_HOST": "localhost", "HTTP_CONNECTION": "Upgrade", "HTTP_UPGRADE": "websocket"},
    ],
)
@pytest.mark.parametrize("server_name", [None, "data.example.cn", "Data.Example.CN:443"])
def test_the_url_adapter_is_bound_as_flask_binds_it(make_app, environ, server_name):
    app = make_app(SERVER_NAME=server_name)
    ours, flasks = _adapters(app, **environ)
    assert [getattr(ours, f) for f in ADAPTER_FIELDS] == [getattr(flasks, f) for f in ADAPTER_FIELDS]
    assert ours.query_args == flasks.query_args and ours.websocket == flasks.websocket


def test_hosts_flask_refuses_are_refused_alike(make_app):
    app = make_app(TRUSTED_HOSTS="data.example.cn")
    for host in ("evil.example", "a..b", "x" * 70 + ".example"):
        errors = []
        for flask in (False, True):
            with pytest.raises(HTTPException) as raised:
                _adapters_one(app, flask, HTTP_HOST=host)
            errors.append((type(raised.value), raised.value.code))
        assert errors[0] == errors[1]
    assert app.test_client().get("/", headers={"Host": "evil.example"}).status_code == 400


def _adapters_one(app, flask: bool, **environ):
    base = EnvironBuilder(path="/").get_environ()
    base.update(environ)
    request = app.request_class(base)
    return Flask.create_url_adapter(app, request) if flask else app.create_url_adapter(request)


def test_signals_connected_later_are_sent(app):
    bp = Blueprint("signalled", __name__)

    @bp.get("/signalled/")
    def view():
        return "ok"

    app.register_blueprint(bp)
    names = ("request_started", "request_finished", "request_tearing_down", "appcontext_pushed",
             "appcontext_popped", "appcontext_tearing_down", "template_rendered")  # fmt: skip
    heard: list[str] = []
    receivers = {name: (lambda sender, name=name, **extra: heard.append(name)) for name in names}
    for name, receiver in receivers.items():
        getattr(signals, name).connect(receiver, app)
    try:
        assert app.test_client().get("/signalled/").status_code == 200
        assert app.test_client().get("/").status_code == 200  # a page of the site's layout
    finally:
        for name, receiver in receivers.items():
            getattr(signals, name).disconnect(receiver, app)
    assert set(heard) == set(names)
    heard.clear()
    app.test_client().get("/signalled/")
    assert heard == []


def test_a_blueprint_page_has_the_request_in_its_templates(app):
    with app.test_request_context("/datasets/"):
        app.preprocess_request()
        context: dict = {}
        app.update_template_context(context)
        assert {"g", "request", "current_user"} <= set(context)
        assert context["request"] is request._get_current_object()
