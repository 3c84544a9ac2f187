"""The accounts area's background jobs (declared in portal/jobs/registry.py): the password reset message.

The job record keeps only the user's id, the language and the site's address; the token is made when the
job runs, so no reset link ever sits in `job_records` or in Redis.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app

from portal import mail
from portal.accounts import resets
from portal.accounts.models import User
from portal.extensions import db


def send_reset_link(user_id: int, locale: str, base_url: str) -> str:
    """The job "accounts.reset_mail": mail `user_id` a fresh reset link under `base_url`, if still active."""
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return "no active account"
    token = resets.make_token(user, secret=current_app.config["SECRET_KEY"])
    base = urlsplit(base_url)
    urls = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    link = urls.build("accounts.reset_password", {"token": token}, force_external=True)
    minutes = max(1, int(current_app.config["PASSWORD_RESET_MAX_AGE"].total_seconds() // 60))
    context = {"name": user.display_name, "email": user.email, "link": link, "minutes": minutes}
    mail.send(user.email, "password_reset", context, locale)
    return "sent"
