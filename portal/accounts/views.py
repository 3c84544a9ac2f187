"""Sign-up, sign-in, sign-out, the profile and the password change."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from portal.accounts import actions, forms
from portal.accounts.permissions import role_required
from portal.extensions import db, limiter
from portal.metrics import events

bp = Blueprint("accounts", __name__, url_prefix="/account")


def _safe_next(target: str | None) -> str:
    """Return `target` when it is a path on this site, else the home page."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("site.home")


@bp.route("/sign-up", methods=["GET", "POST"])
def sign_up():
    if current_user.is_authenticated:
        return redirect(url_for("site.home"))
    form = forms.SignUpForm()
    if form.validate_on_submit():
        try:
            user = actions.create_user(
                email=form.email.data,
                password=form.password.data,
                display_name=form.display_name.data,
                organization=form.organization.data or "",
                min_length=current_app.config["PASSWORD_MIN_LENGTH"],
            )
        except actions.EmailTaken as exc:
            form.email.errors.append(str(exc))
        except actions.AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            login_user(user)
            flash(_("Welcome! Your developer account is ready."), "success")
            return redirect(url_for("site.home"))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/sign_up.html", form=form), status


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_SIGN_IN"], methods=["POST"])
def sign_in():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = forms.SignInForm()
    if form.validate_on_submit():
        user = actions.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            events.record("sign_in", user=user)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append(_("Wrong email or password, or the account is deactivated."))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/sign_in.html", form=form), status


@bp.post("/sign-out")
def sign_out():
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("site.home"))


@bp.route("/", methods=["GET", "POST"])
@role_required()
def profile():
    form = forms.ProfileForm(obj=current_user)
    if form.validate_on_submit():
        current_user.display_name = form.display_name.data.strip()
        current_user.organization = (form.organization.data or "").strip()
        db.session.commit()
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/profile.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
@role_required()
def change_password():
    form = forms.PasswordForm()
    if form.validate_on_submit():
        try:
            actions.change_password(
                current_user,
                current=form.current.data,
                new=form.new.data,
                min_length=current_app.config["PASSWORD_MIN_LENGTH"],
            )
        except actions.AccountError as exc:
            field = form.new if isinstance(exc, actions.WeakPassword) else form.current
            field.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Your password is changed."), "success")
            return redirect(url_for("accounts.profile"))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/password.html", form=form), status
