"""The site's layout (base.html), rendered at a fraction of Jinja's cost per page (issue 20).

Three measures, each keeping the bytes Jinja would send:

- **The anonymous shell.** For a visitor who is not signed in and has no message waiting, base.html's
  output outside its blocks depends only on the language, the text size, the request's blueprint (the
  header marks the current section) and the script root (links are built under it), plus one slot: the
  path the language and text-size switches return to (`layout_return_path()`). It is rendered once per
  such key with markers in place of the blocks and the slot, split there, and kept; each page then
  joins the kept pieces with its own blocks (title, head, content, scripts), each rendered to a string
  once. Jinja's code for base.html (about 110 pieces yielded through three generators, a dozen calls of
  url_for and gettext, the layout parts' macros) runs only to build a shell. Signed-in visitors and pages
  with flashed messages get the full template. The shell may read only the names in `SHELL_READS`, and of
  the request only its blueprint: building one that reads anything else fails loudly
  (`LayoutShellError`), since the value would be shown to every later visitor.
- **Layout parts**, for the full template: the header's navigation, the anonymous visitor's sign-in links
  and the footer are the same on every page in one language. base.html wraps each in
  `{% call layout_part(name, *keys) %}…{% endcall %}`; the part is rendered on its first use and then
  served from the process's memory. A part may depend only on the language, the script root and the
  keys it names (the header names the request's blueprint).
- **Escaping without Markup's constructor.** Jinja's compiled templates escape each `{{ value }}` with
  markupsafe's `escape`, which wraps the escaped text through `Markup.__new__` (a Python call, and a
  `hasattr`); `escape` here builds the same Markup of a text by `str.__new__` in C (`LayoutTemplate`
  puts it in every template's namespace): 23 calls fewer for the minimal route's 20 items and title.
- **Globals copied by C.** Jinja copies the environment's globals (about fifty) into every render's
  context through a ChainMap, one Python call per name; `LayoutTemplate.new_context` copies the dict
  itself when the template has no globals of its own, which is always so for Flask's templates, and its
  `globals.keys()` is the dict's, so `{% from … import … %}` compares key sets in C too.

With the templates reloading (debug), shells and parts are rendered every time.
"""

from __future__ import annotations

from collections import ChainMap

from flask import Flask, has_request_context, request
from flask.globals import _cv_request
from flask.templating import Environment as FlaskEnvironment
from jinja2 import Template
from jinja2.runtime import Context
from markupsafe import Markup, _escape_inner, escape

from portal.i18n import request_translations

MAX_PARTS = 1_000  # beyond it (keys made up at run time), parts are rendered each time
MAX_SHELLS = 1_000  # likewise for shells (a blueprint per key: a few dozen in practice)
SHELL_TEMPLATE = "base.html"

# Every name base.html reads from its context. The shell is built from the anonymous branch, so a name
# read there must give the same value to every anonymous visitor with the same key: add one here only
# if it does (and `tests/core/test_layout.py` compares shells with the full template).
SHELL_READS = frozenset(
    {
        "_",
        "current_locale",  # the language: the key's translations
        "large_text",  # the key's text size
        "layout_part",
        "layout_return_path",  # the slot
        "request",  # its blueprint only (_ShellRequest)
        "url_for",  # under the key's script root
        "current_user",  # anonymous: the shell's condition
        "get_flashed_messages",  # none: the shell's condition
        # the signed-in branch only, which a shell never renders
        "csrf_token",
        "unread_notifications",
        "unread",
        "unread_label",
        "can_use_team_workspace",
        "can_manage_accounts",
    }
)
_RETURN_PATH = "\ue000layout:return-path\ue000"  # private-use characters: escape() leaves them alone


class LayoutShellError(RuntimeError):
    """base.html reads, in what a shell keeps, something that may differ between anonymous visitors."""


def layout_return_path() -> str:
    """Where the header's language and text-size switches send the visitor back: this page."""
    req = request._get_current_object()
    return req.full_path if req.query_string else req.path


_new_text = str.__new__


def template_escape(value) -> Markup:
    """markupsafe's `escape`, a text's Markup made by `str.__new__` where Markup's own constructor is a
    Python call that asks the escaped text for `__html__` (it has none) before calling it; and a Markup as
    it is, which `escape` would rebuild from its `__html__` in some five calls (both immutable texts).
    Subclasses of either go through `escape`."""
    kind = type(value)
    if kind is str:
        return _new_text(Markup, _escape_inner(value))
    if kind is Markup:
        return value
    return escape(value)


class LayoutTemplate(Template):
    """Flask's templates, with their render contexts built by C, and base.html with its shells (see the
    module's docstring)."""

    @classmethod
    def from_code(cls, environment, code, globals, uptodate=None) -> Template:
        template = super().from_code(environment, code, globals, uptodate)
        shells = getattr(environment, "layout_shells", None)
        if template.name == SHELL_TEMPLATE and shells is not None:
            template.root_render_func = shells.root(template.root_render_func)
        return template

    @classmethod
    def _from_namespace(cls, environment, namespace, globals) -> Template:
        """Jinja's, the compiled code's `escape` (its module global, read at each call) ours."""
        if namespace.get("escape") is escape:
            namespace["escape"] = template_escape
        return super()._from_namespace(environment, namespace, globals)

    def new_context(self, vars=None, shared=False, locals=None) -> Context:
        globals = self.globals
        if shared or locals or type(globals) is not _Globals or globals.maps[0]:
            return super().new_context(vars, shared, locals)
        common = globals.maps[1]
        # what jinja2.runtime.new_context builds: dict(globals, **vars), the ChainMap copied key by key
        parent = {**common, **vars} if vars else common.copy()
        return self.environment.context_class(self.environment, parent, self.name, self.blocks, common)


class _Globals(ChainMap):
    """A template's globals (its own first, then the environment's), whose keys are the environment's
    dict's when it has none of its own: `{% from … import … %}` subtracts them from a set in C, where
    a ChainMap's view asks each of some fifty names through two Python calls."""

    def keys(self):
        own, common = self.maps
        return common.keys() if not own else super().keys()


class Environment(FlaskEnvironment):
    """Flask's Jinja environment making `LayoutTemplate`s (create_app sets it as the app's)."""

    template_class = LayoutTemplate

    def make_globals(self, d=None) -> ChainMap:
        return _Globals(d or {}, self.globals)


def init_app(app: Flask) -> None:
    environment = app.jinja_env
    if not isinstance(environment, Environment):
        raise RuntimeError("create_app must set app.jinja_environment = layout.Environment first")
    parts: dict[tuple, Markup] = {}

    def layout_part(*keys, caller) -> Markup:
        """Return the part `keys` names, rendering it (`caller`) only the first time per language."""
        if environment.auto_reload or not has_request_context():
            return caller()
        key = (request_translations(), request.script_root, *keys)
        found = parts.get(key)
        if found is None:
            found = caller()
            if len(parts) < MAX_PARTS:
                parts[key] = found
        return found

    environment.globals["layout_part"] = layout_part
    environment.globals["layout_return_path"] = layout_return_path
    environment.layout_shells = _Shells(environment)


class _Shell:
    """base.html's output for one key, as pieces: text, or the name of a block or of the slot."""

    __slots__ = ("pieces", "vars")

    def __init__(self, pieces: tuple, vars: dict) -> None:
        self.pieces = pieces  # (text, slot, text, slot, ..., text)
        self.vars = vars  # what base.html sets at its top level (layout_chinese, ...), for the blocks


class _ShellRequest:
    """The request as a shell's template sees it: its blueprint, nothing else."""

    __slots__ = ("blueprint",)

    def __init__(self, blueprint: str | None) -> None:
        self.blueprint = blueprint

    def __getattr__(self, name: str):
        raise LayoutShellError(f"{SHELL_TEMPLATE} reads request.{name} in a shell: see portal/layout.py")


class _ReadingContext(Context):
    """A context noting the names its template reads."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.reads: set[str] = set()

    def resolve_or_missing(self, key: str):
        self.reads.add(key)
        return super().resolve_or_missing(key)


class _Shells:
    """The shells of one environment's base.html, and the root function that uses them."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.kept: dict[tuple, _Shell] = {}

    def root(self, full):
        """A root render function for base.html: the shell when the visitor has one, else `full`."""
        environment, kept = self.environment, self.kept

        def root(context):
            parent = context.parent
            user, req = parent.get("current_user"), parent.get("request")
            state = _cv_request.get(None)
            if (
                environment.auto_reload
                or user is None
                or req is None
                or state is None
                or user.is_authenticated
                or state.flashes
                or (state.flashes is None and "_flashes" in state.session)
            ):
                yield from full(context)
                return
            key = (request_translations(), req.script_root, req.blueprint, parent["large_text"]())
            shell = kept.get(key)
            if shell is None:
                shell = self.build(full, context, req.blueprint)
                if len(kept) < MAX_SHELLS:
                    kept[key] = shell
            context.vars.update(shell.vars)
            returns = template_escape(req.full_path if req.query_string else req.path)
            blocks, concat = context.blocks, environment.concat
            out = []
            for at, piece in enumerate(shell.pieces):
                if at % 2 == 0:
                    out.append(piece)
                elif piece is None:
                    out.append(returns)
                else:
                    out.append(concat(blocks[piece][0](context)))
            yield concat(out)

        return root

    def build(self, full, context: Context, blueprint: str | None) -> _Shell:
        """Render base.html (`full`) with markers in place of its blocks and slot, and split it there."""
        marks = {name: f"\ue000layout:block:{name}\ue000" for name in context.blocks}
        parent = {
            **context.parent,
            "request": _ShellRequest(blueprint),
            "layout_return_path": lambda: _RETURN_PATH,
        }
        marked = _ReadingContext(self.environment, parent, context.name, {}, context.globals_keys)
        marked.blocks = {name: [lambda _context, mark=mark: iter((mark,))] for name, mark in marks.items()}
        text = self.environment.concat(full(marked))
        unknown = marked.reads - SHELL_READS
        if unknown:
            raise LayoutShellError(
                f"{SHELL_TEMPLATE} reads {sorted(unknown)}: see SHELL_READS in portal/layout.py"
            )
        slots = {mark: name for name, mark in marks.items()} | {_RETURN_PATH: None}
        pieces: list = []
        rest = text
        while True:
            found = [(rest.find(mark), mark) for mark in slots if mark in rest]
            if not found:
                break
            at, mark = min(found)
            pieces += [rest[:at], slots[mark]]
            rest = rest[at + len(mark) :]
        pieces.append(rest)
        return _Shell(tuple(pieces), {key: marked.vars[key] for key in marked.exported_vars})
