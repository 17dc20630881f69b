"""Outgoing mail: SMTP when configured; always kept in the outbox table so it can be read."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from sqlalchemy.orm import Session

from voltfleet.settings import Settings
from voltfleet.store.models import OutboxMail

log = logging.getLogger("voltfleet.mail")


def link(settings: Settings, path: str) -> str:
    """An absolute link for a mail: the configured public address (``VOLTFLEET_PUBLIC_URL``)."""
    return settings.public_base_url + "/" + path.lstrip("/")


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, session: Session, to: str, subject: str, body: str) -> None:
        """Record the mail in the outbox and, when SMTP is configured, deliver it."""
        via = "outbox"
        if self.settings.smtp_host:
            self._smtp(to, subject, body)
            via = "smtp"
        else:
            log.info("mail to %s: %s\n%s", to, subject, body)
        session.add(OutboxMail(to=to, subject=subject, body=body, sent_via=via))

    def _smtp(self, to: str, subject: str, body: str) -> None:
        s = self.settings
        msg = EmailMessage()
        msg["From"] = s.smtp_from
        msg["To"] = to
        msg["Subject"] = subject
        msg.set_content(body)
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=15) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
            smtp.send_message(msg)
