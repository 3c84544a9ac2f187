"""The open data innovation platform: `create_app` builds the Flask application."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from flask.ctx import AppContext
from flask.globals import _cv_app, _cv_request
from flask.sansio.scaffold import _sentinel  # a teardown's exception not given: sys.exc_info()'s
from flask.signals import (
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    request_finished,
    request_started,
    request_tearing_down,
)
from flask.templating import _default_template_ctx_processor
from werkzeug.exceptions import BadHost
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import MapAdapter
from werkzeug.wsgi import get_host

from portal.converters import AsciiInt

ROOT = Path(__file__).resolve().parent.parent
_IDNA: dict[str, str] = {}  # each host name as Werkzeug's Map.bind encodes it
MAX_IDNA = 1000  # beyond it (Host headers made up by clients), names are encoded each time


def _idna(server_name: str) -> str:
    """`server_name` (lowercased, a port kept as it is) as Werkzeug's `Map.bind` encodes it; BadHost for
    a name IDNA refuses."""
    found = _IDNA.get(server_name)
    if found is None:
        name, port_sep, port = server_name.lower().partition(":")
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError as e:
            raise BadHost() from e
        found = f"{name}{port_sep}{port}"
        if len(_IDNA) < MAX_IDNA:
            _IDNA[server_name] = found
    return found


class _AppContext(AppContext):
    """Flask's app context, sending `appcontext_pushed` and `appcontext_popped` only when something
    listens to them (two calls each to send to nobody, on every request; one may connect at any time)."""

    def push(self) -> None:
        self._cv_tokens.append(_cv_app.set(self))
        if appcontext_pushed.receivers:
            appcontext_pushed.send(self.app, _async_wrapper=self.app.ensure_sync)

    def pop(self, exc: BaseException | None = _sentinel) -> None:
        try:
            if len(self._cv_tokens) == 1:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                self.app.do_teardown_appcontext(exc)
        finally:
            ctx = _cv_app.get()
            _cv_app.reset(self._cv_tokens.pop())
        if ctx is not self:
            raise AssertionError(f"Popped wrong app context. ({ctx!r} instead of {self!r})")
        if appcontext_popped.receivers:
            appcontext_popped.send(self.app, _async_wrapper=self.app.ensure_sync)


class Portal(Flask):
    """Flask, whose request hooks and template context processors are run with the request read once
    from its context variable: Flask's reads it through its proxy, three calls at each use, seven uses a
    page view; and each hook's synchronous form is looked up in `synced` (`self.synced.get(func) or
    self.ensure_sync(func)`), one call fewer than asking `ensure_sync` (issue 20)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.synced: dict = {}  # each function `ensure_sync` was asked of, with its answer

    def ensure_sync(self, func):
        """Flask's, answered from memory for each function it has seen: Flask asks it of every hook and
        view on every request, and it inspects the function each time (about 7 calls, a dozen hooks on a
        page view)."""
        try:
            found = self.synced.get(func)
        except TypeError:  # an unhashable callable
            return super().ensure_sync(func)
        if found is None:
            found = super().ensure_sync(func)
            if len(self.synced) < 10_000:
                self.synced[func] = found
        return found

    def create_url_adapter(self, request):
        """Flask's adapter for a request, bound as Werkzeug's `bind_to_environ` binds it, without its
        second reading of the host, its three decodings through a helper each and the host's IDNA
        encoding through Python's codec on every request (about 30 calls; issue 20): a host's encoding is
        kept once worked out. Host matching, subdomain matching and a WebSocket upgrade take Flask's."""
        if request is None:  # an app context's: none without SERVER_NAME, as Flask's
            return None if self.config["SERVER_NAME"] is None else super().create_url_adapter(None)
        if self.url_map.host_matching or self.subdomain_matching:
            return super().create_url_adapter(request)
        environ = request.environ
        if "upgrade" in environ.get("HTTP_CONNECTION", "").lower():
            return super().create_url_adapter(request)
        config = self.config
        trusted = config["TRUSTED_HOSTS"]
        if trusted is not None:
            request.trusted_hosts = trusted
        host = request.host = get_host(environ, request.trusted_hosts)  # refuses an untrusted host, as Flask
        scheme = environ["wsgi.url_scheme"]
        server_name = config["SERVER_NAME"]
        if server_name is None:
            server_name = host.lower()
        else:
            server_name = server_name.lower()
            if scheme == "http" and server_name.endswith(":80"):
                server_name = server_name[:-3]
            elif scheme == "https" and server_name.endswith(":443"):
                server_name = server_name[:-4]
        script_name = environ.get("SCRIPT_NAME")
        path_info = environ.get("PATH_INFO")
        query_args = environ.get("QUERY_STRING")
        return MapAdapter(
            self.url_map,
            _idna(server_name),
            "/" if script_name is None else script_name.encode("latin1").decode(errors="replace"),
            self.url_map.default_subdomain or "",
            scheme,
            "/" if path_info is None else path_info.encode("latin1").decode(errors="replace"),
            environ["REQUEST_METHOD"],
            None if query_args is None else query_args.encode("latin1").decode(errors="replace"),
        )

    def app_context(self) -> AppContext:
        """Flask's app context, whose signals are sent only when something listens (`_AppContext`)."""
        return _AppContext(self)

    def full_dispatch_request(self):
        """Flask's, sending `request_started` only when something listens to it (a signal without
        receivers cost two calls to send; one may connect at any time, and is then sent to)."""
        self._got_first_request = True
        try:
            if request_started.receivers:
                request_started.send(self, _async_wrapper=self.ensure_sync)
            rv = self.preprocess_request()
            if rv is None:
                rv = self.dispatch_request()
        except Exception as e:
            rv = self.handle_user_exception(e)
        return self.finalize_request(rv)

    def dispatch_request(self):
        """Flask's, the request read from its context variable rather than through its proxy."""
        req = _cv_request.get().request
        if req.routing_exception is not None:
            self.raise_routing_exception(req)
        rule = req.url_rule
        if getattr(rule, "provide_automatic_options", False) and req.method == "OPTIONS":
            return self.make_default_options_response()
        view = self.view_functions[rule.endpoint]
        return (self.synced.get(view) or self.ensure_sync(view))(**req.view_args)

    def finalize_request(self, rv, from_error_handler: bool = False):
        """Flask's, sending `request_finished` only when something listens to it."""
        response = self.make_response(rv)
        try:
            response = self.process_response(response)
            if request_finished.receivers:
                request_finished.send(self, _async_wrapper=self.ensure_sync, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception("Request finalizing failed with an error while handling an error")
        return response

    def do_teardown_request(self, exc=_sentinel):
        """Flask's: the teardown functions of the request's blueprints and the app's, the request read
        from its context variable, then `request_tearing_down` when something listens to it."""
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        found = _cv_request.get(None)
        names = (*found.request.blueprints, None) if found is not None else (None,)
        funcs = self.teardown_request_funcs
        for name in names:
            if name in funcs:
                for func in reversed(funcs[name]):
                    self.ensure_sync(func)(exc)
        if request_tearing_down.receivers:
            request_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)

    def do_teardown_appcontext(self, exc=_sentinel):
        """Flask's: the app context's teardown functions, then `appcontext_tearing_down` when something
        listens to it."""
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        synced = self.synced
        for func in reversed(self.teardown_appcontext_funcs):
            (synced.get(func) or self.ensure_sync(func))(exc)
        if appcontext_tearing_down.receivers:
            appcontext_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)

    def preprocess_request(self):
        """Flask's: the URL value preprocessors, then the before-request hooks until one answers."""
        req = _cv_request.get().request
        names = (None, *reversed(req.blueprints))
        for name in names:
            for url_func in self.url_value_preprocessors.get(name, ()):
                url_func(req.endpoint, req.view_args)
        for name in names:
            for before_func in self.before_request_funcs.get(name, ()):
                answer = (self.synced.get(before_func) or self.ensure_sync(before_func))()
                if answer is not None:
                    return answer
        return None

    def process_response(self, response):
        """Flask's: the request's own after-request functions, the blueprints' and the app's hooks in
        reverse order of registration, then the session saved."""
        context, synced = _cv_request.get(), self.synced
        for func in context._after_request_functions:
            response = self.ensure_sync(func)(response)
        for name in (*context.request.blueprints, None):
            for func in reversed(self.after_request_funcs.get(name, ())):
                response = (synced.get(func) or self.ensure_sync(func))(response)
        if not self.session_interface.is_null_session(context._session):
            self.session_interface.save_session(self, context._session, response)
        return response

    def update_template_context(self, context: dict) -> None:
        """Flask's: the app's then the request's blueprints' context processors add their values, which
        do not replace the values the template is rendered with."""
        found = _cv_request.get(None)  # a template may be rendered outside a request
        names = (None, *reversed(found.request.blueprints)) if found is not None else (None,)
        given = context.copy()
        processors = self.template_context_processors
        for name in names:
            for func in processors.get(name, ()):
                if func is _default_template_ctx_processor and name is not None:
                    continue  # each blueprint has Flask's own again, which gave g, request and session
                context.update((self.synced.get(func) or self.ensure_sync(func))())
        context.update(given)


def create_app(config: dict | None = None) -> Flask:
    """Build the app from defaults, the environment, then `config` (tests pass one)."""
    app = Portal(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=(config or {}).get("INSTANCE_PATH")
        or os.environ.get("PORTAL_INSTANCE_PATH")
        or str(ROOT / "instance"),
    )
    from portal import config as defaults
    from portal.layout import Environment as LayoutEnvironment
    from portal.wrappers import Request, Response

    app.jinja_environment = LayoutEnvironment  # base.html's shells, contexts copied by C (layout.py)
    app.request_class = Request  # its cookies read from the environ at once (wrappers.py)
    app.response_class = Response  # its headers sent without a copy when none needs fixing (wrappers.py)

    app.config.from_object(defaults)
    app.config.update(defaults.from_environment())
    app.config.update(config or {})
    _settle_config(app)
    app.url_map.converters["int"] = AsciiInt  # ASCII digits of a 32-bit id only, else 404 (converters.py)

    from portal import (  # noqa: F401
        dbtimeout,
        errors,
        extensions,
        headers,
        inputs,
        layout,
        mail,
        models,
        searchslots,
        storage,
    )
    from portal.accounts import metering
    from portal.activity import events
    from portal.i18n import init_babel
    from portal.ops import logs, telemetry
    from portal.site.views import select_locale

    logs.init_app(app)  # JSON log lines with the node's name and the request id
    telemetry.init_app(app)  # request latency per endpoint, for /metrics
    extensions.db.init_app(app)
    dbtimeout.init_app(app)
    searchslots.init_app(app)  # a cap on expensive searches running at once, across processes
    extensions.migrate.init_app(
        app, extensions.db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True
    )
    extensions.csrf.init_app(app)
    extensions.limiter.init_app(app)
    init_babel(app, select_locale)
    layout.init_app(app)  # parts of base.html kept once rendered, per language
    storage.init_app(app)
    mail.init_app(app)  # SMTP when MAIL_SERVER is set, else .eml files in instance/mail/
    _init_login(app)
    _register_blueprints(app)
    _register_commands(app)
    errors.register(app)
    headers.register(app)
    events.init_app(app)
    metering.init_app(app)  # behaviour monitoring: one upsert per request that served rows or a download
    inputs.init_app(app)  # bounded request JSON; pages take no JSON bodies
    return app


def _settle_config(app: Flask) -> None:
    os.makedirs(app.instance_path, exist_ok=True)
    url = app.config.get("DATABASE_URL") or f"sqlite:///{os.path.join(app.instance_path, 'portal.db')}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})  # no pre-ping: dbtimeout sees lost connections
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)
    app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or "memory://"
    # Redis down: count in this process's memory until it is back, rather than answer 500 (issue 14).
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 2})
    _public_address(app)
    if app.config["PREFERRED_URL_SCHEME"] == "https":
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = True
    if app.config["PROXY_COUNT"]:
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(ROOT / "translations")


def _public_address(app: Flask) -> None:
    """Build absolute links from PUBLIC_BASE_URL, never from a request's Host header, and refuse
    Hosts outside TRUSTED_HOSTS (a comma-separated list) when that is set."""
    base = app.config.get("PUBLIC_BASE_URL")
    if base:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
            raise ValueError(f"PUBLIC_BASE_URL must look like https://data.example.cn, not {base!r}")
        app.config["SERVER_NAME"], app.config["PREFERRED_URL_SCHEME"] = parts.netloc, parts.scheme
    trusted = app.config.get("TRUSTED_HOSTS")
    if isinstance(trusted, str):
        trusted = [host.strip() for host in trusted.split(",") if host.strip()]
    if trusted and app.config.get("SERVER_NAME"):
        trusted = [*trusted, app.config["SERVER_NAME"]]
    app.config["TRUSTED_HOSTS"] = trusted or None


def _instance_secret(instance_path: str) -> str:
    """Read the secret key kept in the instance folder, generating it once."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def _init_login(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l
    from flask_login.utils import _user_context_processor

    from portal.accounts import permissions, sessions
    from portal.accounts.models import role_labels
    from portal.extensions import login_manager

    login_manager.init_app(app)
    login_manager.login_view = "accounts.sign_in"
    login_manager.login_message = _l("Please sign in to open this page.")
    login_manager.login_message_category = "info"

    login_manager.user_loader(sessions.load_user)  # checks the session epoch and deactivation
    app.session_interface = sessions.CookieSessions()  # no signer built for a request without a cookie
    app.before_request(sessions.anonymous_without_cookies)  # nor a user looked for
    # Flask-Login's hooks, without their proxies' calls, and its remember hook only when there is a session
    hooks, processors = app.after_request_funcs[None], app.template_context_processors[None]
    hooks[hooks.index(login_manager._update_remember_cookie)] = sessions.remember_cookie_hook(
        app, login_manager._update_remember_cookie
    )
    processors[processors.index(_user_context_processor)] = sessions.current_user_for_templates

    app.jinja_env.globals.update(
        can_manage_accounts=permissions.can_manage_accounts,
        can_use_team_workspace=permissions.can_use_team_workspace,
        role_labels=role_labels,
    )


# Areas with a web surface, each declaring it in portal/<area>/blueprints.py: PAGES (blueprints
# registered on the app), API (JSON blueprints nested under /api/v1) and CKAN_ACTIONS (actions added to
# the CKAN-compatible API). The order is the registration order; "api" comes last because its PAGES hold
# /api/v1's parent, which takes the other areas' API first.
WEB_AREAS = (
    "ops",
    "site",
    "accounts",
    "admin",
    "catalogue",
    "rows",
    "applications",
    "contest",
    "feedback",
    "metrics",
    "sync",
    "api",
)


def _register_blueprints(app: Flask) -> None:
    from importlib import import_module

    from portal.api import ckan, v1

    areas = [import_module(f"portal.{name}.blueprints") for name in WEB_AREAS]
    for area in areas:
        v1.nest(*getattr(area, "API", ()))
        ckan.offer(getattr(area, "CKAN_ACTIONS", {}))
    for area in areas:
        for blueprint in area.PAGES:
            app.register_blueprint(blueprint)


def _register_commands(app: Flask) -> None:
    from portal import commands

    for command in commands.COMMANDS:
        app.cli.add_command(command)
