"""Password rules: length, the bundled common list, the account's own words, keyboard runs and repeats."""

from __future__ import annotations

import pytest

from portal.accounts import passwords

EMAIL = "wang.xiaoming@example.cn"
NAME = "王小明"


def _rule(password: str, email: str = EMAIL, name: str = NAME) -> str:
    problem = passwords.password_problem(password, min_length=10, email=email, name=name)
    if problem is None:
        return "ok"
    text = str(problem)
    for key, fragment in {
        "short": "at least",
        "common": "too common",
        "mix": "Mix letters",
        "context": "your email",
        "predictable": "predictable",
    }.items():
        if fragment in text:
            return key
    raise AssertionError(text)


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Short-1", "short"),
        ("password12", "common"),
        ("Password12", "common"),
        ("abc12345678", "common"),
        ("1234567890a", "common"),
        ("1234567890", "common"),
        ("qwertyuiop1", "common"),
        ("!!Password-2026", "common"),  # a listed word between digits and symbols
        ("abcdefghijkl", "mix"),
        ("两个汉字的密码再长也不行", "mix"),
        ("Xiaoming#2024", "context"),  # a word of the email's local part
        ("wang.xiaoming@example.cn", "context"),  # the email itself
        ("WANG.XIAOMING-88", "context"),
        ("王小明的密码2024x", "context"),  # the user's name
        ("Jiaxing@2026", "context"),  # the site's name
        ("我爱嘉兴2026abc", "context"),
        ("abcd1234efgh", "predictable"),
        ("zyx-987-cba!", "predictable"),
        ("aaaa1111bbbb", "predictable"),
        ("qwerty!!!asdf", "predictable"),
        ("Shujukaifang-2026", "ok"),
        ("Kd8vPq2mZr7tWx3n", "ok"),
        ("南湖-boat-1921!", "ok"),
        ("测试Password-2026", "ok"),
        ("abc-Tq9rWm4z", "ok"),  # one short run among unpredictable characters
    ],
)
def test_password_rules(password, rule):
    assert _rule(password) == rule


def test_short_email_and_name_pieces_are_not_context_words():
    assert passwords.context_words("li@example.cn", "王") == {"jiaxing", "嘉兴"}


def test_bundled_common_list_is_loaded_lower_cased():
    common = passwords.common_passwords()
    assert len(common) > 19_000
    assert {"password", "iloveyou", "1qaz2wsx3edc"} <= common
    assert all(p == p.lower() for p in common)


def test_generated_passwords_pass_the_rules_for_their_account():
    for _ in range(200):
        password = passwords.generate_password(email="team-330402@demo.jiaxing.gov.cn", name="南湖区团队")
        assert (
            passwords.password_problem(
                password, min_length=10, email="team-330402@demo.jiaxing.gov.cn", name="南湖区团队"
            )
            is None
        )


def test_admin_reset_gives_a_password_that_passes_the_rules(app):
    from factories import make_user

    from portal.accounts import actions

    user = make_user(email="reset@example.cn")
    password = actions.reset_password(user)
    assert (
        passwords.password_problem(password, min_length=10, email=user.email, name=user.display_name) is None
    )
    assert actions.authenticate(user.email, password) is user
