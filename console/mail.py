"""Sending mail: over SMTP when CONSOLE_MAIL_SERVER is set, into the local outbox otherwise."""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from flask import current_app

from . import clock


def build_message(to: str, subject: str, body: str, *, message_id: str | None = None) -> EmailMessage:
    """A plain-text UTF-8 message from the configured sender."""
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_SENDER"]
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(clock.now())  # Japan time (+0900), whatever the host's zone
    msg["Message-ID"] = message_id or make_msgid(domain="mypage.example.jp")
    msg.set_content(body, charset="utf-8")
    return msg


class OutboxTransport:
    """Writes each message as an .eml file (the embedded default for a first run)."""

    def __init__(self, directory: str):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def send(self, msg: EmailMessage) -> None:
        name = f"{uuid.uuid4().hex}.eml"
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(msg.as_bytes())
        tmp.rename(self.directory / name)


class SmtpTransport:
    """One kept-open SMTP connection for a batch of messages."""

    def __init__(self, smtp: smtplib.SMTP):
        self.smtp = smtp

    def send(self, msg: EmailMessage) -> None:
        self.smtp.send_message(msg)


@contextmanager
def transport() -> Iterator[OutboxTransport | SmtpTransport]:
    """Open the configured transport for the duration of a batch."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        yield OutboxTransport(config["OUTBOX_DIR"])
        return
    smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30)
    try:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        yield SmtpTransport(smtp)
    finally:
        try:
            smtp.quit()
        except smtplib.SMTPException:
            smtp.close()
