"""`flask --app wsgi tokens …`: API tokens for the office's scripts, made and ended from the shell."""

from __future__ import annotations

import secrets

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from portal.accounts import actions, tokens
from portal.accounts.models import ApiToken, User
from portal.extensions import db

tokens_group = AppGroup("tokens", help="Create and revoke API tokens.")


@tokens_group.command("create")
@click.option("--email", required=True, help="The account the token belongs to.")
@click.option("--name", required=True, help="What the token is for, e.g. 夜间同步脚本.")
@click.option(
    "--create-account",
    is_flag=True,
    help="Make a developer account for the email when there is none (a service account, no usable password).",
)
def create_command(email: str, name: str, create_account: bool) -> None:
    """Print a new API token for the account; it is shown only this once."""
    user = actions.find_by_email(email)
    if user is None and create_account:
        user = _service_account(email)
    if user is None:
        raise click.ClickException(f"No account has the email {email!r} (add --create-account to make one).")
    if not user.active:
        raise click.ClickException(f"The account {user.email} is deactivated.")
    limit = current_app.config.get("API_TOKENS_PER_USER", tokens.MAX_ACTIVE)
    try:
        token, plain = tokens.create_token(user, name, max_active=limit)
    except tokens.TokenError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Token {token.id} ({token.prefix}…) for {user.email}, shown only now:", err=True)
    click.echo(plain)


def _service_account(email: str) -> User:
    try:
        user = actions.create_user(
            email=email, password=secrets.token_urlsafe(32), display_name=email.partition("@")[0] or email
        )
    except actions.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    user.password_hash = "!"  # matches no password: the account signs in only with its tokens
    return user


@tokens_group.command("revoke")
@click.argument("token")
def revoke_command(token: str) -> None:
    """Revoke a token given by its id or its shown prefix (e.g. jxod_AbC1234)."""
    found = _find(token.strip())
    tokens.revoke(found, by=found.user)
    db.session.commit()
    click.echo(f"Token {found.id} ({found.prefix}…) of {found.user.email} is revoked.")


def _find(ref: str) -> ApiToken:
    if ref.isascii() and ref.isdigit() and len(ref) < 10:
        found = db.session.get(ApiToken, int(ref))
        if found is not None:
            return found
        raise click.ClickException(f"There is no token with id {ref}.")
    if len(ref) < tokens.PREFIX_LENGTH:
        raise click.ClickException(
            f"Give the token's id or its whole {tokens.PREFIX_LENGTH}-character prefix."
        )
    matches = db.session.scalars(select(ApiToken).where(ApiToken.prefix == ref[: tokens.PREFIX_LENGTH])).all()
    if not matches:
        raise click.ClickException(f"There is no token with the prefix {ref!r}.")
    if len(matches) > 1:
        ids = ", ".join(str(t.id) for t in matches)
        raise click.ClickException(f"Several tokens have the prefix {ref!r}; revoke by id ({ids}).")
    return matches[0]
