"""Email through a real SMTP server (aiosmtpd on 127.0.0.1): rendering per language, SMTP delivery with and
without a login, the folder fallback, and a whole password reset whose link arrives by SMTP."""

from __future__ import annotations

import email
import re
import socket
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from factories import make_user
from werkzeug.security import check_password_hash

from portal import create_app, mail
from portal.accounts.models import User
from portal.environment import ConfigError
from portal.extensions import db

pytestmark = pytest.mark.usefixtures("app")


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"portal",
        b"s3cret",
    )
    return AuthResult(success=ok)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1; it accepts AUTH LOGIN/PLAIN as portal / s3cret without TLS."""
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=_free_port(),
        authenticator=_authenticator,
        auth_require_tls=False,
    )
    controller.start()
    yield controller, inbox
    controller.stop()


def _smtp_app(make_app, controller, **extra):
    return make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=controller.port,
        PUBLIC_BASE_URL="http://portal.example.cn",
        MAIL_SENDER="嘉兴市公共数据开放平台 <no-reply@data.example.cn>",
        **extra,
    )


def test_send_delivers_by_smtp_in_chinese(make_app, smtp_server):
    controller, inbox = smtp_server
    app = _smtp_app(make_app, controller)
    with app.app_context():
        context = {
            "name": "张三",
            "email": "zhang@example.cn",
            "link": "http://portal.example.cn/x",
            "minutes": 60,
        }
        mail.send("zhang@example.cn", "password_reset", context, "zh_CN")
    (envelope,) = inbox.envelopes
    assert envelope.mail_from == "no-reply@data.example.cn"
    assert envelope.rcpt_tos == ["zhang@example.cn"]
    (message,) = inbox.messages()
    assert message["Subject"] == "重置您在嘉兴市公共数据开放平台的密码"
    assert message["From"].addresses[0].display_name == "嘉兴市公共数据开放平台"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_charset() == "utf-8"
    assert "张三，您好" in message.get_content() and "http://portal.example.cn/x" in message.get_content()


def test_send_logs_in_when_a_username_is_set(make_app, smtp_server):
    controller, inbox = smtp_server
    app = _smtp_app(make_app, controller, MAIL_USERNAME="portal", MAIL_PASSWORD="s3cret")
    with app.app_context():
        mail.send(
            "a@example.cn", "password_reset", {"name": "A", "email": "a", "link": "l", "minutes": 1}, "en"
        )
    assert [m["Subject"] for m in inbox.messages()] == [
        "Reset your password on the Jiaxing Open Data Platform"
    ]


def test_a_refused_login_is_a_mail_error(make_app, smtp_server):
    controller, inbox = smtp_server
    app = _smtp_app(make_app, controller, MAIL_USERNAME="portal", MAIL_PASSWORD="wrong")
    with app.app_context(), pytest.raises(mail.MailError):
        mail.send(
            "a@example.cn", "password_reset", {"name": "A", "email": "a", "link": "l", "minutes": 1}, "en"
        )
    assert inbox.envelopes == []


def test_an_unreachable_server_is_a_mail_error(make_app):
    app = make_app(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=_free_port(), PUBLIC_BASE_URL="http://portal.example.cn"
    )
    with app.app_context(), pytest.raises(mail.MailError):
        mail.send(
            "a@example.cn", "password_reset", {"name": "A", "email": "a", "link": "l", "minutes": 1}, "en"
        )


def test_mail_server_without_public_base_url_stops_the_app(database_url, tmp_path):
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        create_app(
            {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path), "MAIL_SERVER": "smtp.example.cn"}
        )


def test_without_a_server_messages_are_written_to_the_instance_folder(app):
    message = mail.send(
        "b@example.cn", "password_reset", {"name": "乙", "email": "b", "link": "l", "minutes": 5}
    )
    (written,) = list((Path(app.instance_path) / "mail").glob("*.eml"))
    parsed = email.message_from_bytes(written.read_bytes(), policy=policy.default)
    assert parsed["Message-ID"] == message["Message-ID"]
    assert "5 分钟内有效" in parsed.get_content()  # the default language: Chinese
    assert not list(written.parent.glob("*.part"))


def test_unknown_locale_falls_back_to_chinese_and_unknown_template_is_an_error(app):
    subject, _ = mail.render("password_reset", {"name": "", "email": "", "link": "", "minutes": 1}, "fr")
    assert subject.startswith("重置")
    with pytest.raises(mail.MailError):
        mail.render("no_such_template", {}, "en")
    with pytest.raises(mail.MailError):
        mail.render("../accounts/sign_in", {}, "en")


def test_subject_is_one_line_whatever_the_context(app, tmp_path):
    folder = tmp_path / "templates"
    (folder / "mail").mkdir(parents=True)
    (folder / "mail" / "echo.en.txt").write_text(
        "{% block subject %}{{ s }}{% endblock %}{% block body %}b{% endblock %}"
    )
    app.jinja_loader.searchpath.append(str(folder))
    try:
        message = mail.compose(
            "c@example.cn", "echo", {"s": "x\r\nBcc: evil@example.cn"}, "en", sender="a@b.cn"
        )
    finally:
        app.jinja_loader.searchpath.remove(str(folder))
    assert message["Subject"] == "x Bcc: evil@example.cn" and message["Bcc"] is None


def test_password_reset_link_arrives_by_smtp_and_works(make_app, smtp_server):
    controller, inbox = smtp_server
    app = _smtp_app(make_app, controller)
    with app.app_context():
        user = make_user(email="smtp-reset@example.cn")
        db.session.commit()
        client = app.test_client()
        answer = client.post(
            "/account/forgot-password", data={"email": "smtp-reset@example.cn"}, buffered=True
        )
        assert answer.status_code == 302
        (message,) = inbox.messages()
        link = re.search(r"http://portal\.example\.cn(/account/reset-password/\S+)", message.get_content())
        assert link, message.get_content()
        done = client.post(link.group(1), data={"new": "南湖-harbour-47x", "confirm": "南湖-harbour-47x"})
        assert done.status_code == 302
        db.session.expire_all()
        assert check_password_hash(db.session.get(User, user.id).password_hash, "南湖-harbour-47x")
        client.post("/account/forgot-password", data={"email": "nobody@example.cn"}, buffered=True)
        assert len(inbox.envelopes) == 1  # nothing goes to an unknown address


def test_send_later_goes_through_a_job_and_a_failed_delivery_is_on_its_record(make_app, smtp_server):
    from sqlalchemy import select

    from portal.jobs.models import FAILED, FINISHED, JobRecord

    controller, inbox = smtp_server
    app = _smtp_app(make_app, controller)
    context = {"name": "丙", "email": "c", "link": "l", "minutes": 3}
    with app.app_context():
        mail.send_later("c@example.cn", "password_reset", context, "zh_CN")  # no Redis: runs at once
        assert [m["To"] for m in inbox.messages()] == ["c@example.cn"]
        app.config["MAIL_USERNAME"], app.config["MAIL_PASSWORD"] = "portal", "wrong"
        app.extensions["mail"] = mail.transport_from(app.config, app.instance_path)
        mail.send_later("d@example.cn", "password_reset", context, "zh_CN")
        db.session.expire_all()
        states = [r.state for r in db.session.scalars(select(JobRecord).order_by(JobRecord.id))]
        assert states == [FINISHED, FAILED]
    assert len(inbox.envelopes) == 1
