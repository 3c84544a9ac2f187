"""Email: messages rendered from per-language templates, sent by SMTP or written to a folder.

`send(to, template, context, locale)` renders `templates/mail/<template>.<locale>.txt` (a Jinja
template with a `subject` and a `body` block; Chinese `zh_CN` and English `en`), then hands the
message to the app's transport:

- with `MAIL_SERVER` set, an SMTP server (`MAIL_PORT`, STARTTLS with `MAIL_USE_TLS`, implicit TLS
  with `MAIL_USE_SSL`, `MAIL_USERNAME` and `MAIL_PASSWORD` when it asks for a login);
- else `instance/mail/`, one `.eml` file per message, so a demo or a developer reads what would
  have been sent.

Every workflow that notifies by email builds on `send`; callers decide whom to tell and in which
language, this module only renders and delivers.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

from flask import Flask, current_app
from flask_babel import force_locale
from jinja2 import TemplateNotFound

from portal import clock
from portal.environment import ConfigError

LOCALES = ("zh_CN", "en")
FOLDER = "mail"  # under the instance folder, when no SMTP server is configured


class MailError(Exception):
    """A message could not be rendered or delivered."""


class Transport(Protocol):
    def deliver(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class SmtpTransport:
    """Deliver through an SMTP server, one connection per message."""

    host: str
    port: int = 25
    use_tls: bool = False  # STARTTLS after connecting
    use_ssl: bool = False  # TLS from the first byte (port 465)
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    def deliver(self, message: EmailMessage) -> None:
        try:
            if self.use_ssl:
                smtp = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.use_tls and not self.use_ssl:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"SMTP delivery to {self.host}:{self.port} failed: {exc}") from exc


@dataclass(frozen=True)
class FolderTransport:
    """Write each message as an .eml file (RFC 5322, readable by any mail client) into a folder."""

    folder: Path

    def deliver(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")  # files sort by when they were written
        final = self.folder / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
        partial = final.with_suffix(".part")
        partial.write_bytes(bytes(message))
        os.replace(partial, final)  # readers never see half a message


def transport_from(config: dict, instance_path: str) -> Transport:
    """Choose the transport the settings describe."""
    if config.get("MAIL_SERVER"):
        return SmtpTransport(
            host=config["MAIL_SERVER"],
            port=int(config.get("MAIL_PORT") or 25),
            use_tls=bool(config.get("MAIL_USE_TLS")),
            use_ssl=bool(config.get("MAIL_USE_SSL")),
            username=config.get("MAIL_USERNAME") or None,
            password=config.get("MAIL_PASSWORD") or None,
            timeout=float(config.get("MAIL_TIMEOUT") or 10.0),
        )
    return FolderTransport(Path(instance_path) / FOLDER)


def init_app(app: Flask) -> None:
    if app.config.get("MAIL_SERVER") and not app.config.get("PUBLIC_BASE_URL"):
        # Links in mail (a password reset's above all) must not follow the Host header of whoever asked.
        raise ConfigError("MAIL_SERVER needs PUBLIC_BASE_URL: links in emails are built from it")
    app.extensions["mail"] = transport_from(app.config, app.instance_path)


def compose(to: str, template: str, context: dict, locale: str | None, *, sender: str) -> EmailMessage:
    """Render `template` in `locale` (the default language when it has no such version) into a message."""
    subject, body = render(template, context, locale)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: autoresponders do not answer it
    message.set_content(body)  # UTF-8, quoted-printable or base64 as the text needs
    return message


def render(template: str, context: dict, locale: str | None) -> tuple[str, str]:
    """Return the subject (one line) and body of `template` rendered in `locale`."""
    locale = locale if locale in LOCALES else current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")
    env = current_app.jinja_env
    try:
        compiled = env.get_template(f"mail/{template}.{locale}.txt")
    except TemplateNotFound:
        raise MailError(f"no mail template {template!r} in {locale}") from None
    with force_locale(locale):  # dates, numbers and any _() inside follow the message's language
        ctx = compiled.new_context({**current_app.jinja_env.globals, **context})
        subject = "".join(compiled.blocks["subject"](ctx))
        body = "".join(compiled.blocks["body"](ctx))
    subject = " ".join(subject.split())  # one line: a header cannot carry line breaks
    return subject, body.strip() + "\n"


def send_later(to: str, template: str, context: dict, locale: str | None = None) -> None:
    """Have the message sent by a background job (a worker with REDIS_URL, else in this process now).

    The job record keeps `context`: put no secret in it (build links with tokens in a job of your own).
    """
    from portal.jobs import queue  # the jobs layer sits above this module

    queue.enqueue("mail.send", to=to, template=template, context=context, locale=locale)


def send_job(to: str, template: str, context: dict, locale: str | None = None) -> str:
    """The job "mail.send"; a delivery failure raises, so the job is retried."""
    send(to, template, context, locale)
    return "sent"


def send(to: str, template: str, context: dict, locale: str | None = None) -> EmailMessage:
    """Render `template` for `to` and deliver it now through the app's transport; raise MailError.

    Call it from a request, a command or a job, inside an app context.
    """
    message = compose(to, template, context, locale, sender=current_app.config["MAIL_SENDER"])
    current_app.extensions["mail"].deliver(message)
    return message
