"""Domain refusals: the one base class for a rule's "no", and the one way a view answers it.

Domain modules raise subclasses of `Refusal` declared at the top of their module (`workflow.WorkflowError`,
`panels.PanelError` …) with a message fit for the user. A view runs the action through `act`, which commits
and flashes what was done, or rolls back and flashes the refusal, then redirects. Forms that show a refusal
beside its field read `fields` (`portal/formerrors.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from flask import flash, redirect
from werkzeug.wrappers import Response

from portal.extensions import db


class Refusal(Exception):
    """A domain rule refused an action; `str(exc)` is the message for the user, in the reader's language.

    `fields` maps a form field's name to why, when the refusal concerns particular fields.
    """

    fields: Mapping[str, object] = MappingProxyType({})

    def __init__(self, message: object = "", fields: Mapping[str, object] | None = None) -> None:
        super().__init__(message)
        if fields:
            self.fields = dict(fields)


def act(
    action: Callable[[], object],
    *,
    then: str,
    done: object | None = None,
    already: object | None = None,
    refused: str | None = None,
) -> Response:
    """Run one domain action and redirect.

    When it succeeds, commit, flash `done` (if any) and go to `then`; an action that answers False changed
    nothing, and `already` (if given) is flashed instead, as information. When it raises a `Refusal`, roll
    back, flash its message as an error and go to `refused` (default: `then`).
    """
    try:
        changed = action()
    except Refusal as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(refused or then)
    db.session.commit()
    if already is not None and changed is False:
        flash(str(already), "info")
    elif done is not None:
        flash(str(done), "success")
    return redirect(then)
