"""Password rules: long enough, not common, not built from the account's own words, not a keyboard run.

Pure functions: no app, no database.
"""

from __future__ import annotations

import gzip
import re
import secrets
import string
from functools import cache
from pathlib import Path

from flask_babel import lazy_gettext as _l

COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent / "data" / "common-passwords.txt.gz"
SITE_WORDS = ("jiaxing", "嘉兴")
# Runs of three or more along one of these, either way, count as predictable; so do repeated characters.
SEQUENCES = (
    string.ascii_lowercase,
    "01234567890",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "1qaz2wsx3edc4rfv5tgb",
)
MIN_UNPREDICTABLE = 4  # characters left once runs and repeats are taken out
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_WORD_SPLIT = re.compile(r"[\W\d_]+")


@cache
def common_passwords() -> frozenset[str]:
    """Return the bundled list of common passwords, lower-cased."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip())


def password_problem(password: str, *, min_length: int, email: str = "", name: str = "") -> str | None:
    """Return why `password` is too weak for the account of `email` and `name`, or None when it will do."""
    if len(password) < min_length:
        return _l("The password needs at least %(n)d characters.", n=min_length)
    lowered = password.lower()
    if is_common(lowered):
        return _l("This password is too common.")
    if not (any(c.isalpha() for c in password) and any(not c.isalpha() for c in password)):
        return _l("Mix letters with digits or symbols.")
    if any(word in lowered for word in context_words(email, name)):
        return _l("Do not use your email, your name or the site's name in the password.")
    if unpredictable_length(lowered) < MIN_UNPREDICTABLE:
        return _l("This password is too predictable: avoid runs such as abc, 123 or qwerty.")
    return None


def is_common(lowered: str) -> bool:
    """Tell whether a lower-cased password, or its letters between digits and symbols, is common."""
    common = common_passwords()
    core = _EDGES.sub("", lowered)
    return lowered in common or (bool(core) and core in common)


def context_words(email: str, name: str) -> set[str]:
    """Return the lower-cased words of an account that its password must not contain."""
    words = set(SITE_WORDS)
    local = email.strip().lower().partition("@")[0]
    if len(local) >= 3:
        words.add(local)
    words.update(piece for piece in _WORD_SPLIT.split(local) if len(piece) >= 4)
    name = name.strip().lower()
    if len(name) >= 2:
        words.add(name)
    words.update(piece for piece in _WORD_SPLIT.split(name) if len(piece) >= 3)
    return words


def unpredictable_length(lowered: str) -> int:
    """Count the characters left after removing runs of three along SEQUENCES and triple repeats."""
    runs = SEQUENCES + tuple(s[::-1] for s in SEQUENCES)
    marked = [False] * len(lowered)
    for i in range(len(lowered) - 2):
        window = lowered[i : i + 3]
        if window[0] == window[1] == window[2] or any(window in run for run in runs):
            marked[i] = marked[i + 1] = marked[i + 2] = True
    return marked.count(False)


def generate_password(length: int = 16, *, email: str = "", name: str = "") -> str:
    """Return a random password of letters and digits that passes `password_problem` for this account."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if password_problem(candidate, min_length=length, email=email, name=name) is None:
            return candidate
