"""A user's API tokens: list, create (the token is shown once) and revoke."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.accounts import tokens
from portal.accounts.models import ApiToken
from portal.accounts.permissions import role_required
from portal.extensions import db

bp = Blueprint("tokens", __name__, url_prefix="/account/api-tokens")


def _list_page(name: str = "", error: str | None = None, status: int = 200):
    items = db.session.scalars(tokens.tokens_of(current_user)).all()
    page = render_template(
        "accounts/api_tokens.html", tokens=items, name=name, error=error, max_name=tokens.MAX_NAME
    )
    return page, status


@bp.get("")
@role_required()
def index():
    return _list_page()


@bp.post("")
@role_required()
def create():
    name = request.form.get("name", "")
    try:
        token, plain = tokens.create_token(
            current_user, name, max_active=current_app.config.get("API_TOKENS_PER_USER", tokens.MAX_ACTIVE)
        )
    except tokens.TokenError as exc:
        return _list_page(name, str(exc), 400)
    db.session.commit()
    page = render_template("accounts/api_token_created.html", token=token, plain=plain)
    return page, 200, {"Cache-Control": "no-store"}  # the only place the token ever appears


@bp.post("/<int:token_id>/revoke")
@role_required()
def revoke(token_id: int):
    # Another user's token is reported missing, so token ids reveal nothing.
    token = db.first_or_404(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == current_user.id)
    )
    tokens.revoke(token, by=current_user)
    db.session.commit()
    flash(_("The token %(name)s is revoked.", name=token.name), "success")
    return redirect(url_for("tokens.index"))
