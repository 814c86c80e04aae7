"""One way to open an SMTP session from settings (customer messages and operator alerts)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formataddr

from afterclick.errors import SettingsError
from afterclick.settings import SmtpSettings


def connect(smtp: SmtpSettings) -> smtplib.SMTP:
    """A connected (STARTTLS and login when configured) SMTP client; the caller quits it."""
    if not smtp.host:
        raise SettingsError("smtp.host: no SMTP server is configured")
    client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
    try:
        if smtp.starttls:
            client.starttls(context=ssl.create_default_context())
        if smtp.username:
            client.login(smtp.username, smtp.password.get_secret_value() if smtp.password else "")
    except BaseException:
        client.close()
        raise
    return client


@contextmanager
def session(smtp: SmtpSettings) -> Iterator[smtplib.SMTP]:
    """A connected SMTP client for the length of the block."""
    with connect(smtp) as client:
        yield client


def sender(smtp: SmtpSettings) -> str:
    return formataddr((smtp.sender_name, smtp.sender))
