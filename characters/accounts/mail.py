"""Outgoing email: the one module that talks to a mail server (SMTP), or writes messages to the log without one."""

import logging
import smtplib
import ssl
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Literal, Protocol

from characters.core.config import Settings

logger = logging.getLogger("greenroom.mail")
SmtpSecurity = Literal["starttls", "ssl", "none"]
# Sending waits for the mail server; a request hands the message over and answers at once, so how long it takes
# cannot tell anyone whether a message was sent (the reset form must not reveal which emails have accounts).
_OUTBOX = ThreadPoolExecutor(max_workers=2, thread_name_prefix="greenroom-mail")


class Mailer(Protocol):
    """Something that delivers an email or raises."""

    def send(self, message: EmailMessage) -> None:
        """Deliver `message`."""


@dataclass(frozen=True)
class LogMailer:
    """No mail server: log each message instead; with its body (and links) only where logs are a developer's."""

    include_body: bool = True

    def send(self, message: EmailMessage) -> None:
        """Write the message to the log."""
        if not self.include_body:
            logger.warning("Not sent (no SMTP_HOST configured): %r to %s.", message["Subject"], message["To"])
            return
        body = message.get_content() if not message.is_multipart() else "(multipart)"
        logger.warning("No SMTP_HOST configured, so this email is logged instead of sent:\nTo: %s\nSubject: %s\n\n%s",
                       message["To"], message["Subject"], body)


@dataclass(frozen=True)
class SmtpMailer:
    """Send through an SMTP server: STARTTLS or implicit TLS (certificates verified), with a login if given."""

    host: str
    port: int
    security: SmtpSecurity = "starttls"
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 10.0
    # The certificates to trust; None = the system's (tests pass one that trusts their own server).
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False)

    def send(self, message: EmailMessage) -> None:
        """Deliver the message; raises smtplib.SMTPException or OSError when the server refuses or is away."""
        context = self.ssl_context or ssl.create_default_context()
        if self.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.security == "starttls":
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password)
            client.send_message(message)


def mailer_from_settings(settings: Settings) -> Mailer:
    """Return the SMTP mailer the settings describe, or the log when SMTP_HOST is empty."""
    if not settings.smtp_host:
        # Production logs are not a developer's terminal: a reset link there would let log readers in.
        return LogMailer(include_body=settings.greenroom_env != "production")
    return SmtpMailer(host=settings.smtp_host, port=settings.smtp_port, security=settings.smtp_security,
                      username=settings.smtp_username, password=settings.smtp_password,
                      timeout=settings.smtp_timeout_seconds)


def compose(*, sender: str, to: str, subject: str, body: str) -> EmailMessage:
    """Return a plain-text email with the headers every message needs (Date, Message-ID)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(body)
    return message


def send_later(mailer: Mailer, message: EmailMessage) -> "Future[None]":
    """Hand the message to a background thread; a failure is logged, never raised to the caller."""
    future = _OUTBOX.submit(mailer.send, message)
    future.add_done_callback(_log_failure)
    return future


def _log_failure(future: "Future[None]") -> None:
    error = future.exception()
    if error is not None:
        logger.error("Could not send an email: %s", error, exc_info=error)
