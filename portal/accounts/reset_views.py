"""Forgot password: ask for a reset link by email, then set a new password through it.

The request page answers alike whether or not the email belongs to an account, and the message is
queued only after the answer has gone out (`call_on_close`), so neither the text nor the time of the answer
tells who is registered. Requests are throttled per client address and per email address.
"""

from __future__ import annotations

from flask import after_this_request, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from portal.accounts import actions, forms, resets
from portal.accounts.views import bp
from portal.extensions import db, limiter
from portal.jobs import queue


def _requested_account() -> str:
    return "reset:" + actions.normalise_email(request.form.get("email", ""))[:254]


def _answered(response) -> bool:
    return response.status_code == 302  # a well-formed request: mail may have gone out


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_PASSWORD_RESET"], methods=["POST"])  # per client
@limiter.limit(
    lambda: current_app.config["RATELIMIT_PASSWORD_RESET_ACCOUNT"],
    methods=["POST"],
    key_func=_requested_account,
    deduct_when=_answered,
)
def forgot_password():
    form = forms.ForgotPasswordForm()
    if form.validate_on_submit():
        user = actions.find_by_email(form.email.data)
        if user is not None and user.active:
            _send_link_after_answer(user)
        flash(
            _(
                "If an account uses this email, a link to set a new password is on its way to it. "
                "The link works once, for %(minutes)d minutes.",
                minutes=_link_minutes(),
            ),
            "info",
        )
        return redirect(url_for("accounts.sign_in"))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/forgot_password.html", form=form), status


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_SIGN_IN"], methods=["POST"])  # per client
def reset_password(token: str):
    try:
        user = resets.user_for_token(
            token,
            secret=current_app.config["SECRET_KEY"],
            max_age=current_app.config["PASSWORD_RESET_MAX_AGE"],
        )
    except resets.ResetError as exc:
        return render_template("accounts/reset_password.html", form=None, problem=str(exc)), 400
    form = forms.ResetPasswordForm()
    if form.validate_on_submit():
        try:
            resets.set_password(user, form.new.data, min_length=current_app.config["PASSWORD_MIN_LENGTH"])
        except resets.WeakPassword as exc:
            form.new.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Your password is set. Sign in with it; every other session has ended."), "success")
            return redirect(url_for("accounts.sign_in"))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/reset_password.html", form=form, problem=None, user=user), status


def _link_minutes() -> int:
    return max(1, int(current_app.config["PASSWORD_RESET_MAX_AGE"].total_seconds() // 60))


def _send_link_after_answer(user) -> None:
    """Once the answer has gone out, hand the message to a background job (a worker with REDIS_URL, else
    this process); the job makes the token, so the link is never stored with the job."""
    params = {
        "user_id": user.id,
        "locale": "zh_CN" if get_locale().language == "zh" else "en",
        "base_url": url_for("site.home", _external=True),  # PUBLIC_BASE_URL when set (required for SMTP)
    }
    app = current_app._get_current_object()

    @_after_answer
    def deliver() -> None:
        with app.app_context():
            record = queue.enqueue("accounts.reset_mail", **params)
            if record.error:
                app.logger.warning("password reset mail for user %s: %s", params["user_id"], record.error)


def _after_answer(function):
    """Run `function` when the server has sent the answer (the response's close)."""

    @after_this_request
    def register(response):
        response.call_on_close(function)
        return response

    return function
