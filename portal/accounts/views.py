"""Sign-up, sign-in, sign-out, the profile and the password change."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from portal.accounts import actions, forms, mailing, passwords, sessions
from portal.accounts.permissions import role_required
from portal.activity import events
from portal.audit import log as audit_log
from portal.audit import web as audit_web
from portal.extensions import db, limiter

bp = Blueprint("accounts", __name__, url_prefix="/account")


def _safe_next(target: str | None) -> str:
    """Return `target` when it is a path on this site, else the home page.

    Browsers read a backslash as a slash and drop tabs and newlines, so `/\\evil.example` or
    `/\\t/evil.example` would leave the site as `//evil.example` does: such targets are refused too.
    """
    if target and any(c == "\\" or ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return url_for("site.home")
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("site.home")


# Password guesses against one account share a bucket, whichever client sends them and whether through
# sign-in (the form's email) or the password change (a stolen session guessing the current password).
GUESSES = "password-guesses"


def _target_account() -> str:
    return "account:" + actions.normalise_email(request.form.get("email", ""))[:254]


def _own_account() -> str:
    return "account:" + (current_user.email if current_user.is_authenticated else "")


def _failed(response) -> bool:
    return response.status_code == 400


def _guess_limit() -> str:
    return current_app.config["RATELIMIT_SIGN_IN_ACCOUNT"]


@bp.route("/sign-up", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_SIGN_UP"], methods=["POST"])
def sign_up():
    if current_user.is_authenticated:
        return redirect(url_for("site.home"))
    form = forms.SignUpForm()
    if form.validate_on_submit() & _password_fits(form):  # both checks run: every problem in one answer
        try:
            actions.sign_up(
                email=form.email.data,
                password=form.password.data,
                display_name=form.display_name.data,
                organization=form.organization.data or "",
                min_length=current_app.config["PASSWORD_MIN_LENGTH"],
            )
        except actions.AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            # The same answer whether the email was free or taken: sign-up does not tell who is registered.
            db.session.commit()
            flash(
                _(
                    "Sign-up received. If the email was not registered yet, your developer account is "
                    "ready: sign in with it and your password."
                ),
                "success",
            )
            return redirect(url_for("accounts.sign_in"))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/sign_up.html", form=form), status


def _password_fits(form: forms.SignUpForm) -> bool:
    """Judge a typed password by the rules beside the other checks; put the problem by the password."""
    if not form.is_submitted() or not form.password.data or form.password.errors:
        return True
    problem = passwords.password_problem(
        form.password.data,
        min_length=current_app.config["PASSWORD_MIN_LENGTH"],
        email=form.email.data or "",
        name=form.display_name.data or "",
    )
    if problem:
        form.password.errors = [str(problem)]
    return problem is None


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_SIGN_IN"], methods=["POST"])  # per client
@limiter.shared_limit(_guess_limit, GUESSES, methods=["POST"], key_func=_target_account, deduct_when=_failed)
def sign_in():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = forms.SignInForm()
    if form.validate_on_submit():
        user = actions.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            actions.remember_language(user, get_locale(), current_app.config["LANGUAGES"])
            events.record("sign_in", user=user)
            audit_log.record(db.session, "user.signed_in", actor=user, object_type="user", object_id=user.id,
                             client=audit_web.client())  # fmt: skip
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        tried = (form.email.data or "").strip().lower()[:200]  # who was tried; never the password
        audit_log.record(db.session, "user.sign_in_failed", actor=current_user, object_type="user",
                         object_id=tried, client=audit_web.client())  # fmt: skip
        db.session.commit()
        form.password.errors.append(_("Wrong email or password, or the account is deactivated."))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/sign_in.html", form=form), status


@bp.post("/sign-out")
def sign_out():
    if current_user.is_authenticated:
        sessions.end_sessions(current_user)  # copies of this user's cookies end too, on every device
        db.session.commit()
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


@bp.route("/email", methods=["GET", "POST"])
@role_required()
def email_choices():
    """Each workflow's email can be turned off; the site's own notifications stay."""
    form = forms.EmailChoicesForm()
    if form.validate_on_submit():
        receive = set(request.form.getlist("receive"))
        if not receive <= set(mailing.KINDS):
            abort(400)
        mailing.set_opt_outs(current_user.id, set(mailing.KINDS) - receive)
        db.session.commit()
        flash(_("Your email choices are saved."), "success")
        return redirect(url_for("accounts.email_choices"))
    muted = mailing.opted_out(current_user.id)
    return render_template("accounts/email.html", form=form, kinds=mailing.KINDS, muted=muted)


@bp.route("/password", methods=["GET", "POST"])
@limiter.shared_limit(
    _guess_limit,
    GUESSES,
    methods=["POST"],
    key_func=_own_account,
    deduct_when=_failed,
    exempt_when=lambda: not current_user.is_authenticated,
)
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
            # The change ended every session; this one goes on under the new epoch, remembered if it was.
            remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
            login_user(current_user._get_current_object(), remember=remembered)
            flash(_("Your password is changed."), "success")
            return redirect(url_for("accounts.profile"))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/password.html", form=form), status
