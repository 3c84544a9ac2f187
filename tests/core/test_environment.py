"""Every setting in portal/config.py is read from the environment, typed, and documented in the README."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from datetime import timedelta
from pathlib import Path

import pytest

from portal import config, environment
from portal.api import dcat
from portal.applications import uploads
from portal.contest import entries
from portal.environment import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("SYNC_RETRIES", "7", 7),
        ("SYNC_TIMEOUT", "2.5", 2.5),
        ("RATELIMIT_HEADERS_ENABLED", "No", False),
        ("SYNC_IN_BACKGROUND", "0", False),
        ("SESSION_COOKIE_HTTPONLY", "true", True),
        ("RATELIMIT_SIGN_IN", "5 per minute; 50 per hour", "5 per minute; 50 per hour"),
        ("API_RATELIMIT_TOKEN_ROWS", "6000 per minute", "6000 per minute"),
        ("API_RATELIMIT_ANONYMOUS", "30/minute", "30/minute"),
        ("CKAN_URL", "https://ckan.jiaxing.example", "https://ckan.jiaxing.example"),
        ("SITE_TITLE", "嘉兴数据开放", "嘉兴数据开放"),
        ("SYNC_SAFETY_MARGIN", "90", timedelta(seconds=90)),
        ("CONTEST_ATTACHMENT_MAX_SIZES", '{"pdf": 1048576}', {"pdf": 1048576}),
        ("LANGUAGES", '{"zh_CN": "中文"}', {"zh_CN": "中文"}),
    ],
)
def test_environment_variable_overrides_its_setting_with_the_default_type(
    make_app, monkeypatch, name, raw, expected
):
    monkeypatch.setenv(name, raw)
    app = make_app()
    assert app.config[name] == expected
    assert type(app.config[name]) is type(expected)


def test_rate_limits_can_be_switched_off_from_the_environment(monkeypatch):
    monkeypatch.setenv("RATELIMIT_ENABLED", "off")  # the tests' own configuration turns them off too
    assert config.from_environment()["RATELIMIT_ENABLED"] is False


def test_empty_variable_leaves_the_default(monkeypatch):
    monkeypatch.setenv("SYNC_RETRIES", "  ")
    assert "SYNC_RETRIES" not in config.from_environment()


def test_sign_in_rate_limit_from_the_environment_takes_effect(make_app, monkeypatch):
    monkeypatch.setenv("RATELIMIT_SIGN_IN", "2 per minute")
    app = make_app(RATELIMIT_ENABLED=True)
    with app.app_context():
        client = app.test_client()
        data = {"email": "x@example.cn", "password": "wrong-pass-1"}
        codes = [client.post("/account/sign-in", data=data).status_code for _ in range(3)]
    assert codes == [400, 400, 429]


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("SYNC_RETRIES", "four", "expected an integer"),
        ("SYNC_RETRIES", "-1", "not negative"),
        ("SYNC_TIMEOUT", "fast", "expected a number"),
        ("RATELIMIT_ENABLED", "maybe", "expected a boolean"),
        ("API_RATELIMIT_ANONYMOUS", "sixty a minute", "rate limit"),
        ("SYNC_SAFETY_MARGIN", "10m", "expected a number of seconds"),
        ("CONTEST_ATTACHMENT_MAX_SIZES", '{"pdf": "big"}', "expected int values"),
        ("LANGUAGES", '["zh_CN"]', "expected a JSON object"),
    ],
)
def test_bad_value_fails_app_start_naming_the_variable(make_app, monkeypatch, name, raw, message):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ConfigError, match=rf"^environment variable {name}=.*{message}"):
        make_app()


def test_flask_command_refuses_to_start_on_a_bad_value(tmp_path):
    env = {**os.environ, "PORTAL_INSTANCE_PATH": str(tmp_path), "SYNC_RETRIES": "four"}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "routes"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ConfigError: environment variable SYNC_RETRIES='four': expected an integer" in result.stderr


def test_settings_added_later_are_typed_by_default_or_annotation():
    module = types.ModuleType("settings")
    exec(
        "from __future__ import annotations\n"
        "MAX_ITEMS: int | None = None\n"
        "RATIO: float | None = None\n"
        "LABEL = None\n"
        "HOSTS = ['a']\n"
        "PORTS = (80,)\n"
        "ALIASES: list[str] | None = None\n"
        "MAPPING: dict | None = None\n"
        "PAUSE: Optional[timedelta] = None\n"
        "_PRIVATE = 1\n"
        "lower = 2\n",
        module.__dict__,
    )
    environ = {
        "MAX_ITEMS": "12",
        "RATIO": "0.5",
        "LABEL": "嘉兴",
        "HOSTS": "x, y",
        "ALIASES": "嘉兴,jx",
        "MAPPING": '{"a": 1}',
        "PAUSE": "1.5",
        "PORTS": "8000,9000",
        "_PRIVATE": "x",
        "lower": "x",
    }
    assert environment.settings_from(environ, module) == {
        "MAX_ITEMS": 12,
        "RATIO": 0.5,
        "LABEL": "嘉兴",
        "HOSTS": ["x", "y"],
        "PORTS": (8000, 9000),
        "ALIASES": ["嘉兴", "jx"],
        "MAPPING": {"a": 1},
        "PAUSE": timedelta(seconds=1.5),
    }
    with pytest.raises(ConfigError, match="PORTS='80,http': expected an integer"):
        environment.settings_from({"PORTS": "80,http"}, module)


def test_setting_of_a_type_without_a_reading_fails_clearly():
    module = types.ModuleType("settings")
    module.CHOICES = frozenset({"a"})
    with pytest.raises(ConfigError, match="CHOICES='a': a setting of type frozenset cannot be read"):
        environment.settings_from({"CHOICES": "a"}, module)


def _readme_configuration_rows() -> dict[str, str]:
    """Return each setting named in the README's configuration table → its default cell."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            rows.update(dict.fromkeys(re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0]), cells[1]))
    return rows


def _readme_configuration_names() -> set[str]:
    return set(_readme_configuration_rows())


def _shows(value: object, cell: str) -> bool:
    """Whether a default cell of the README shows `value` (free text is allowed for None and paths)."""
    number = re.match(r"`?(-?\d[\d.]*)", cell)
    if value is None or (isinstance(value, str) and value.startswith("/")):
        return True
    if isinstance(value, bool):
        return f"`{str(value).lower()}`" in cell
    if isinstance(value, int | float):
        return number is not None and float(number.group(1)) == value
    if isinstance(value, timedelta):
        return number is not None and float(number.group(1)) == value.total_seconds()
    if isinstance(value, str):
        return f"`{value}`" in cell
    if isinstance(value, dict):
        shown = re.search(r"`(\{.*\})`", cell)
        return shown is not None and json.loads(shown.group(1)) == value
    if isinstance(value, list | tuple):
        return all(str(item) in cell for item in value) if value else cell.startswith("none")
    return False


def test_readme_configuration_table_shows_each_default():
    rows = _readme_configuration_rows()
    wrong = {
        name: rows[name]
        for name in environment.setting_names(config)
        if name in rows and not _shows(getattr(config, name), rows[name])
    }
    assert wrong == {}, f"the README's default differs from portal/config.py for: {wrong}"


def test_readme_configuration_table_lists_every_setting():
    missing = [
        name for name in environment.setting_names(config) if name not in _readme_configuration_names()
    ]
    assert missing == [], (
        f"add these settings of portal/config.py to the README's configuration table: {missing}"
    )


DRIFT = "a default changed in its module: change it in portal/config.py and the README's table too"


def test_readers_fall_back_to_the_defaults_config_declares():
    # Some readers keep a fallback for apps built without portal.config; it must not drift from it.
    limits = uploads.Limits()
    assert (limits.max_screenshots, limits.max_image_size, limits.max_pdf_size, limits.max_pixels) == (
        config.APPLICATION_MAX_SCREENSHOTS,
        config.APPLICATION_IMAGE_MAX_SIZE,
        config.APPLICATION_PDF_MAX_SIZE,
        config.APPLICATION_IMAGE_MAX_PIXELS,
    ), DRIFT
    assert entries.DEFAULT_MAX_SIZES == config.CONTEST_ATTACHMENT_MAX_SIZES, DRIFT
    assert dcat.PAGE_SIZE == config.DCAT_PAGE_SIZE, DRIFT
