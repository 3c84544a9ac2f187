"""Sessions end together: the user's session epoch is part of the id in every session and remember cookie.

Flask's sessions live in signed cookies, so the server cannot forget one; instead each cookie carries
"<user id>:<epoch>" (`User.get_id`) and is honoured only while the user's epoch is unchanged. Signing out,
changing or resetting a password and deactivation raise the epoch: every copy of every cookie of that user,
on any device, stops working at once.
"""

from __future__ import annotations

from portal.accounts.models import User
from portal.extensions import db

_MAX_ID = 2**31 - 1  # database integers; larger values are not ours


def parse_session_id(value: str) -> tuple[int, int] | None:
    """Split "<id>:<epoch>" into numbers; a bare "<id>" (cookies from before epochs) is epoch 0."""
    id_part, separator, epoch_part = value.partition(":")
    parts = (id_part, epoch_part) if separator else (id_part, "0")
    if not all(p.isascii() and p.isdigit() and len(p) <= 10 for p in parts):
        return None
    user_id, epoch = int(parts[0]), int(parts[1])
    if user_id > _MAX_ID or epoch > _MAX_ID:
        return None
    return user_id, epoch


def load_user(value: str) -> User | None:
    """Return the active user a cookie's id names, if its epoch is still the user's."""
    parsed = parse_session_id(value)
    if parsed is None:
        return None
    user = db.session.get(User, parsed[0])
    if user is None or not user.active or user.session_epoch != parsed[1]:
        return None
    return user


def end_sessions(user: User) -> None:
    """End every session and remember cookie of `user`; the caller commits.

    The increment happens in SQL, so two requests ending sessions at once cannot both write the same epoch.
    """
    user.session_epoch = User.session_epoch + 1
    db.session.flush()
